//! Proves the JupyterHub test harness against the real hub: users, groups and scoped
//! tokens created through the REST API come back from `GET /hub/api/user` (the call
//! kbatch makes with the user's token) with the right name, groups and scopes.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use serde_json::Value;
use support::hub::{Hub, HubConfig, ESCAPED_USER, KBATCH_ACCESS_SCOPE, KBATCH_USERS_GROUP};
use support::tools::{
    encode_path_segment, free_port, free_ports, http_agent, http_request, python_literal,
    random_token,
};

/// `GET /hub/api/user` with `token`: the whoami call kbatch makes.
fn whoami(hub: &Hub, token: &str) -> (u16, Value) {
    let reply = hub.api("GET", "/user", Some(token), None);
    (reply.status, reply.json())
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn token_with_service_scope_identifies_user_groups_and_scope() {
    let hub = Hub::shared();
    let name = hub.new_user("alice", &[KBATCH_USERS_GROUP, "physics"]);
    let token = hub.token_for(&name, Some(&[KBATCH_ACCESS_SCOPE]));

    let (status, user) = whoami(hub, &token);
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["name"], name.as_str());
    let mut groups = strings(&user["groups"]);
    groups.sort();
    assert_eq!(groups, [KBATCH_USERS_GROUP, "physics"]);
    assert!(
        strings(&user["scopes"]).contains(&KBATCH_ACCESS_SCOPE.to_string()),
        "{user}"
    );
}

#[test]
fn token_without_service_scope_lacks_it() {
    let hub = Hub::shared();
    let name = hub.new_user("bob", &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(&name, Some(&["read:users:name!user"]));

    let (status, user) = whoami(hub, &token);
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["name"], name.as_str());
    let scopes = strings(&user["scopes"]);
    assert!(
        !scopes.iter().any(|s| s.starts_with("access:services")),
        "{user}"
    );
}

#[test]
fn default_token_inherits_group_access() {
    let hub = Hub::shared();
    let with_access = hub.new_user("carol", &[KBATCH_USERS_GROUP]);
    let without_access = hub.new_user("dave", &[]);

    let (_, user) = whoami(hub, &hub.token_for(&with_access, None));
    assert!(
        strings(&user["scopes"]).contains(&KBATCH_ACCESS_SCOPE.to_string()),
        "{user}"
    );
    let (_, user) = whoami(hub, &hub.token_for(&without_access, None));
    assert_eq!(user["name"], without_access.as_str());
    assert!(
        !strings(&user["scopes"]).contains(&KBATCH_ACCESS_SCOPE.to_string()),
        "{user}"
    );
}

#[test]
fn service_scope_cannot_be_granted_beyond_permissions() {
    let hub = Hub::shared();
    let name = hub.new_user("eve", &[]);
    let body = serde_json::json!({ "scopes": [KBATCH_ACCESS_SCOPE] });
    let path = format!("/users/{name}/tokens");
    let reply = hub.api("POST", &path, Some(hub.admin_token()), Some(&body));
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("not held"), "{}", reply.body);
}

#[test]
fn bad_token_is_rejected() {
    let hub = Hub::shared();
    for token in ["not-a-token", ""] {
        let (status, body) = whoami(hub, token);
        assert!(status == 403 || status == 401, "{token:?}: {status} {body}");
    }
}

#[test]
fn escaped_username_round_trips() {
    let hub = Hub::shared();
    hub.create_user(ESCAPED_USER, &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(ESCAPED_USER, None);
    let (status, user) = whoami(hub, &token);
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["name"], ESCAPED_USER);

    let unique = hub.new_user(ESCAPED_USER, &[]);
    let (_, user) = whoami(hub, &hub.token_for(&unique, None));
    assert_eq!(user["name"], unique.as_str());
}

#[test]
fn service_token_identifies_the_kbatch_service() {
    let hub = Hub::shared();
    let (status, me) = whoami(hub, hub.service_token());
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["kind"], "service");
    assert_eq!(me["name"], "kbatch");
}

#[test]
fn proxy_routes_the_hub_api() {
    let hub = Hub::shared();
    let url = format!("{}/hub/api/", hub.public_url());
    let reply = http_request(&http_agent(), "GET", &url, None, None).expect("proxy must answer");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.json()["version"].as_str().is_some(), "{}", reply.body);
}

#[tokio::test]
async fn shared_hub_works_inside_a_tokio_runtime() {
    let hub = Hub::shared();
    let name = hub.new_user("frank", &[]);
    let (status, user) = whoami(hub, &hub.token_for(&name, None));
    assert_eq!((status, user["name"].as_str()), (200, Some(name.as_str())));
}

/// Answers HTTP requests on `listener` with `ok` until one asks for `/jobs/`, and
/// returns that request line. The hub's own start-up health check comes first.
fn serve_until_jobs(listener: TcpListener) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        for _ in 0..20 {
            let (stream, _) = listener.accept().expect("accept must work");
            let mut reader = BufReader::new(stream.try_clone().expect("clone must work"));
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("request line");
            let mut header = String::new();
            while reader
                .read_line(&mut header)
                .map(|n| n > 2)
                .unwrap_or(false)
            {
                header.clear();
            }
            let reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
            let mut stream = stream;
            stream.write_all(reply.as_bytes()).expect("write must work");
            if request_line.contains("/jobs/") {
                return request_line;
            }
        }
        panic!("no request for /jobs/ among the first 20");
    })
}

#[test]
fn owned_hub_routes_kbatch_to_the_given_url_and_stops_on_drop() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind must work");
    let port = listener.local_addr().expect("local addr").port();
    let kbatch_url = format!("http://127.0.0.1:{port}");
    // Serve before the hub starts: its start-up health check would wait 20 s otherwise.
    let server = serve_until_jobs(listener);
    let hub = Hub::start(HubConfig {
        kbatch_url: Some(kbatch_url.clone()),
    })
    .expect("owned hub must start");
    assert_eq!(hub.kbatch_url(), kbatch_url);

    let url = format!("{}/jobs/", hub.service_prefix_url());
    let reply = http_request(&http_agent(), "GET", &url, None, None).expect("proxy must answer");
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok"));
    // The proxy forwards the service prefix unchanged (kbatch relies on that).
    let request_line = server.join().expect("server thread");
    assert!(
        request_line.starts_with("GET /services/kbatch/jobs/ "),
        "{request_line}"
    );

    let api_url = hub.api_url();
    let dir = hub.dir().to_path_buf();
    drop(hub);
    let after = http_request(&http_agent(), "GET", &format!("{api_url}/"), None, None);
    assert!(after.is_err(), "hub still answers after drop: {after:?}");
    assert!(!dir.exists(), "scratch dir {} not removed", dir.display());
}

#[test]
fn python_literals_escape_quotes_and_backslashes() {
    assert_eq!(python_literal(r#"a"b\c"#), r#""a\"b\\c""#);
    assert_eq!(python_literal("plain"), r#""plain""#);
}

#[test]
fn unique_names_keep_the_domain() {
    let name = Hub::unique_name(ESCAPED_USER);
    assert!(name.starts_with("test.user-"), "{name}");
    assert!(name.ends_with("@example.org"), "{name}");
    assert_ne!(Hub::unique_name("alice"), Hub::unique_name("alice"));
}

#[test]
fn encode_path_segment_escapes_reserved_bytes() {
    let cases = [
        ("alice", "alice"),
        ("test.user@example.org", "test.user%40example.org"),
        ("a b/c", "a%20b%2Fc"),
        ("é", "%C3%A9"),
    ];
    for (input, expected) in cases {
        assert_eq!(encode_path_segment(input), expected, "{input}");
    }
}

#[test]
fn random_tokens_are_64_hex_and_differ() {
    let (a, b) = (random_token(), random_token());
    assert_eq!(a.len(), 64);
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b);
}

#[test]
fn free_ports_are_distinct_and_bindable() {
    let ports = free_ports::<8>();
    let mut unique = ports.to_vec();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ports.len(), "{ports:?}");
    TcpListener::bind(("127.0.0.1", free_port())).expect("port reported free must bind");
}
