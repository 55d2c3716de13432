//! `auth::HubAuth` against a real JupyterHub: users, namespaces, scope refusals, bad
//! tokens, one hub request per token per TTL (counted in the hub's own request log),
//! revocation visible only after the positive TTL, negative caching, and an unreachable
//! or silent hub (503, never cached, concurrent failures sharing one attempt).

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use kbatch_proxy::auth::{AuthError, HubAuth, HubAuthConfig, Token};
use kbatch_proxy::identity::namespace_for;
use support::hub::{Hub, ESCAPED_USER, KBATCH_ACCESS_SCOPE, KBATCH_SERVICE, KBATCH_USERS_GROUP};
use support::tools::free_port;
use tokio::net::{TcpListener, TcpStream};

/// A `HubAuth` for the hub API at `api_url`, with `tweak` applied to the defaults.
fn hub_auth(api_url: &str, tweak: impl FnOnce(&mut HubAuthConfig)) -> HubAuth {
    let mut cfg = HubAuthConfig::new(api_url, KBATCH_SERVICE);
    tweak(&mut cfg);
    HubAuth::new(cfg).expect("valid hub auth settings")
}

/// How many whoami requests for `user` the hub has logged
/// (`200 GET /hub/api/user (<user>@127.0.0.1) 3.21ms`).
fn whoami_requests(log: &Path, user: &str) -> usize {
    whoami_log_lines(log, user).len()
}

/// The hub's log lines of whoami requests for `user`.
fn whoami_log_lines(log: &Path, user: &str) -> Vec<String> {
    let needle = format!("GET /hub/api/user ({user}@");
    let text = std::fs::read_to_string(log).expect("the hub log must be readable");
    text.lines()
        .filter(|line| line.contains(&needle))
        .map(str::to_string)
        .collect()
}

/// [`whoami_requests`] once the log has caught up: waits for at least `at_least`, then
/// a little longer so that late extra requests would show.
async fn settled_whoami_requests(hub: &Hub, user: &str, at_least: usize) -> usize {
    let log = hub.log_path();
    let deadline = Instant::now() + Duration::from_secs(5);
    while whoami_requests(&log, user) < at_least && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lines = whoami_log_lines(&log, user);
    eprintln!("hub whoami requests for {user}: {lines:#?}");
    lines.len()
}

#[tokio::test]
async fn scoped_token_gives_user_and_namespace() {
    let hub = Hub::shared();
    let auth = hub_auth(&hub.api_url(), |_| {});
    let name = hub.new_user("alice", &[KBATCH_USERS_GROUP, "physics"]);
    let token = hub.token_for(&name, Some(&[KBATCH_ACCESS_SCOPE]));
    let user = auth
        .authenticate(&Token::new(token))
        .await
        .expect("allowed");
    assert_eq!(user.name, name);
    assert_eq!(user.namespace, format!("kbatch-{name}"));
    let mut groups = user.groups.clone();
    groups.sort();
    assert_eq!(groups, [KBATCH_USERS_GROUP, "physics"]);

    hub.create_user(ESCAPED_USER, &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(ESCAPED_USER, None);
    let user = auth
        .authenticate(&Token::new(token))
        .await
        .expect("allowed");
    assert_eq!(user.name, ESCAPED_USER);
    assert_eq!(user.namespace, "kbatch-test-user-example-org--bbb0df7");

    let unique = hub.new_user(ESCAPED_USER, &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(&unique, Some(&[KBATCH_ACCESS_SCOPE]));
    let user = auth
        .authenticate(&Token::new(token))
        .await
        .expect("allowed");
    // `test.user-7@example.org` → `kbatch-test-user-7-example-org--<7 hex>`.
    let prefix = format!("kbatch-{}--", unique.replace(['.', '@'], "-"));
    let hash = user
        .namespace
        .strip_prefix(&prefix)
        .expect("kbatch's scheme");
    assert!(
        hash.len() == 7 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{hash}"
    );
    assert_eq!(user.namespace, namespace_for(&unique));
}

#[tokio::test]
async fn token_without_scope_is_forbidden_and_bad_token_invalid() {
    let hub = Hub::shared();
    let auth = hub_auth(&hub.api_url(), |_| {});
    let name = hub.new_user("bob", &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(&name, Some(&["read:users:name!user"]));
    let err = auth
        .authenticate(&Token::new(token))
        .await
        .expect_err("no scope");
    assert_eq!(err.status(), 403);
    let AuthError::Forbidden(message) = &err else {
        panic!("expected Forbidden, got {err:?}");
    };
    assert!(
        message.starts_with("Not allowing request with scopes: [")
            && message.ends_with("Needs scope(s): {'access:services!service=kbatch'}"),
        "{message}"
    );

    // A user outside the kbatch group: the default token has no access either.
    let outsider = hub.new_user("mallory", &[]);
    let token = hub.token_for(&outsider, None);
    let err = auth
        .authenticate(&Token::new(token))
        .await
        .expect_err("no scope");
    assert!(matches!(err, AuthError::Forbidden(_)), "{err:?}");

    for bad in ["not-a-token", "ÿ\u{7f}"] {
        let err = auth.authenticate(&Token::new(bad)).await.expect_err("bad");
        assert_eq!(err, AuthError::InvalidToken, "{bad:?}");
        assert_eq!(err.status(), 401);
    }
}

#[tokio::test]
async fn service_token_is_not_a_user() {
    let hub = Hub::shared();
    // The harness service holds `access:services`, so only its kind stops it.
    let auth = hub_auth(&hub.api_url(), |cfg| {
        cfg.access_scopes = Some(vec!["access:services".into()]);
    });
    let err = auth
        .authenticate(&Token::new(hub.admin_token()))
        .await
        .expect_err("a service");
    assert_eq!(err, AuthError::NotAUser);
    assert_eq!(err.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_make_one_hub_request() {
    let hub = Hub::shared();
    let auth = hub_auth(&hub.api_url(), |_| {});
    let name = hub.new_user("carol", &[KBATCH_USERS_GROUP]);
    let token = Token::new(hub.token_for(&name, Some(&[KBATCH_ACCESS_SCOPE])));
    assert_eq!(whoami_requests(&hub.log_path(), &name), 0);

    let results = join_all((0..20).map(|_| auth.authenticate(&token))).await;
    for result in &results {
        assert_eq!(result.as_ref().map(|u| u.name.as_str()), Ok(name.as_str()));
    }
    let again = auth.authenticate(&token).await.expect("cached");
    assert_eq!(again.name, name);
    assert_eq!(settled_whoami_requests(hub, &name, 1).await, 1);
}

#[tokio::test]
async fn revoked_token_works_until_the_positive_ttl_ends() {
    let hub = Hub::shared();
    let ttl = Duration::from_secs(1);
    let auth = hub_auth(&hub.api_url(), |cfg| cfg.positive_ttl = ttl);
    let name = hub.new_user("dave", &[KBATCH_USERS_GROUP]);
    let token = Token::new(hub.token_for(&name, Some(&[KBATCH_ACCESS_SCOPE])));

    // The entry is stored between `before` and `loaded`, so it lives at least until
    // `before + ttl` and at most until `loaded + ttl`.
    let before = Instant::now();
    auth.authenticate(&token).await.expect("valid");
    let loaded = Instant::now();
    revoke_all_tokens(hub, &name);
    let cached = auth.authenticate(&token).await.expect("still cached");
    assert_eq!(cached.name, name);
    assert!(
        before.elapsed() < ttl,
        "the check above must run within the TTL"
    );
    assert_eq!(settled_whoami_requests(hub, &name, 1).await, 1);

    sleep_until(loaded + ttl + Duration::from_millis(100)).await;
    let err = auth.authenticate(&token).await.expect_err("revoked");
    assert_eq!(err, AuthError::InvalidToken);
}

/// Sleeps until `deadline` (at once if it has passed).
async fn sleep_until(deadline: Instant) {
    tokio::time::sleep(deadline.saturating_duration_since(Instant::now())).await;
}

/// Deletes every API token of `user` through the hub API.
fn revoke_all_tokens(hub: &Hub, user: &str) {
    let path = format!("/users/{user}/tokens");
    let reply = hub.api("GET", &path, Some(hub.admin_token()), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let listing = reply.json();
    let tokens = listing["api_tokens"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!tokens.is_empty(), "{}", reply.body);
    for token in tokens {
        let id = token["id"].as_str().expect("token id");
        let reply = hub.api(
            "DELETE",
            &format!("{path}/{id}"),
            Some(hub.admin_token()),
            None,
        );
        assert_eq!(reply.status, 204, "{}", reply.body);
    }
}

#[tokio::test]
async fn refusal_is_cached_for_the_negative_ttl() {
    let hub = Hub::shared();
    let negative = Duration::from_secs(1);
    let auth = hub_auth(&hub.api_url(), |cfg| cfg.negative_ttl = negative);
    let name = hub.new_user("erin", &[]);
    let token = Token::new(hub.token_for(&name, None));

    // As in the revocation test: stored between `before` and `loaded`.
    let before = Instant::now();
    let err = auth.authenticate(&token).await.expect_err("no scope");
    let loaded = Instant::now();
    assert!(matches!(err, AuthError::Forbidden(_)), "{err:?}");
    for _ in 0..2 {
        let err = auth.authenticate(&token).await.expect_err("no scope");
        assert!(matches!(err, AuthError::Forbidden(_)), "{err:?}");
    }
    assert!(
        before.elapsed() < negative,
        "the calls above must run within the TTL"
    );
    assert_eq!(settled_whoami_requests(hub, &name, 1).await, 1);

    sleep_until(loaded + negative + Duration::from_millis(100)).await;
    let err = auth.authenticate(&token).await.expect_err("no scope");
    assert!(matches!(err, AuthError::Forbidden(_)), "{err:?}");
    assert_eq!(settled_whoami_requests(hub, &name, 2).await, 2);
}

#[tokio::test]
async fn unreachable_hub_is_unavailable_and_not_cached() {
    let hub = Hub::shared();
    let port = free_port();
    let auth = hub_auth(&format!("http://127.0.0.1:{port}/hub/api"), |_| {});
    let name = hub.new_user("frank", &[KBATCH_USERS_GROUP]);
    let token = Token::new(hub.token_for(&name, Some(&[KBATCH_ACCESS_SCOPE])));

    let started = Instant::now();
    let err = auth
        .authenticate(&token)
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, AuthError::HubUnavailable(_)), "{err:?}");
    assert_eq!(err.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(!auth.ready().await);

    // The hub comes back on that port: the failure was not cached.
    let hub_addr = hub_socket(hub);
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("port still free");
    tokio::spawn(forward(listener, hub_addr));
    assert!(auth.ready().await);
    let user = auth
        .authenticate(&token)
        .await
        .expect("hub reachable again");
    assert_eq!(user.name, name);
    assert_eq!(settled_whoami_requests(hub, &name, 1).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_hub_times_out_once_for_concurrent_calls() {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let addr = listener.local_addr().expect("bound");
    let accepted = Arc::new(AtomicUsize::new(0));
    tokio::spawn(accept_and_stay_silent(listener, accepted.clone()));
    let timeout = Duration::from_millis(300);
    let auth = hub_auth(&format!("http://{addr}/hub/api"), |cfg| {
        cfg.timeout = timeout
    });
    let token = Token::new("whatever");

    let started = Instant::now();
    let results = join_all((0..20).map(|_| auth.authenticate(&token))).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= timeout && elapsed < timeout + Duration::from_secs(1),
        "{elapsed:?}"
    );
    for result in &results {
        let message = result.as_ref().expect_err("silent hub").to_string();
        assert_eq!(
            message,
            "JupyterHub is unavailable: no answer from the hub within 300ms"
        );
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one attempt for 20 callers"
    );

    let err = auth.authenticate(&token).await.expect_err("still silent");
    assert_eq!(err.status(), 503);
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "errors are not cached");
    assert!(!auth.ready().await);
}

/// The hub's own (unproxied) address.
fn hub_socket(hub: &Hub) -> String {
    let api = hub.api_url();
    let rest = api.strip_prefix("http://").expect("http hub");
    rest.split('/').next().expect("host:port").to_string()
}

/// Relays every connection on `listener` to `target`.
async fn forward(listener: TcpListener, target: String) {
    while let Ok((mut inbound, _)) = listener.accept().await {
        let target = target.clone();
        tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

/// Accepts connections, reads nothing, answers nothing: a hung hub.
async fn accept_and_stay_silent(listener: TcpListener, accepted: Arc<AtomicUsize>) {
    let mut held = Vec::new();
    while let Ok((stream, _)) = listener.accept().await {
        accepted.fetch_add(1, Ordering::SeqCst);
        held.push(stream);
    }
}
