//! A real JupyterHub (with its configurable-http-proxy) for integration tests: started
//! once per test binary on free loopback ports, configured with a `kbatch` service, and
//! driven through its REST API to create users, groups and scoped tokens.
//!
//! The hub runs from the test venv (`make env`) under `launcher.py`, so it stops when the
//! test binary exits even though statics are never dropped. Everything here is blocking
//! (std threads and a blocking HTTP client), so any test, on any runtime, can use it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};

use super::tools::{
    self, encode_path_segment, http_agent, http_request, python_literal as py, Launch, Reply,
    Supervised,
};

/// The service name the hub knows the proxy under.
pub const KBATCH_SERVICE: &str = "kbatch";
/// The scope a token needs to use the kbatch service.
pub const KBATCH_ACCESS_SCOPE: &str = "access:services!service=kbatch";
/// Members of this group are granted [`KBATCH_ACCESS_SCOPE`] by a hub role.
pub const KBATCH_USERS_GROUP: &str = "kbatch-users";

/// A hub user with access to the kbatch service: name, API token and namespace (which the
/// proxy provisions on the user's first request).
pub struct HubUser {
    /// Hub user name (unique per run).
    pub name: String,
    /// A token with all of the user's scopes.
    pub token: String,
    /// `kbatch_proxy::identity::namespace_for(name)`.
    pub namespace: String,
}
/// A user name that needs escaping in URLs, labels and namespace names.
pub const ESCAPED_USER: &str = "test.user@example.org";

/// How long a hub may take to start on a busy 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Options for [`Hub::start`].
#[derive(Debug, Clone, Default)]
pub struct HubConfig {
    /// Where the hub routes `/services/kbatch/` (the proxy under test). `None` picks a
    /// free loopback port that nothing listens on: enough for tests that only need
    /// users and tokens. Start serving there before the hub: the hub probes the URL at
    /// start-up, and a listener that accepts but does not answer costs 20 s.
    pub kbatch_url: Option<String>,
}

/// A running JupyterHub; see the module doc.
#[derive(Debug)]
pub struct Hub {
    process: Mutex<Supervised>,
    ports: Ports,
    secrets: Secrets,
    kbatch_url: String,
    dir: PathBuf,
    agent: ureq::Agent,
}

/// Loopback ports of one hub.
#[derive(Debug, Clone, Copy)]
struct Ports {
    hub: u16,
    proxy: u16,
    proxy_api: u16,
}

/// Tokens written into the hub config.
#[derive(Debug, Clone)]
struct Secrets {
    service: String,
    admin: String,
    proxy: String,
}

impl Hub {
    /// The hub shared by every test of this binary, started on first use.
    ///
    /// Its kbatch service URL is a placeholder; use [`Hub::start`] for a hub that
    /// routes to your proxy. Panics (in every caller) if the hub cannot start.
    pub fn shared() -> &'static Hub {
        static SHARED: OnceLock<Result<Hub, String>> = OnceLock::new();
        match SHARED.get_or_init(|| Hub::start(HubConfig::default())) {
            Ok(hub) => hub,
            Err(err) => panic!("shared JupyterHub failed to start: {err}"),
        }
    }

    /// Starts a hub owned by the caller; it stops when the `Hub` is dropped.
    pub fn start(config: HubConfig) -> Result<Hub, String> {
        let python = tools::venv_python();
        let chp = tools::node_bin("configurable-http-proxy");
        let dir = tools::scratch_dir("kbatch-hub").map_err(|e| format!("scratch dir: {e}"))?;
        let [hub, proxy, proxy_api, placeholder] = tools::free_ports();
        let ports = Ports {
            hub,
            proxy,
            proxy_api,
        };
        let secrets = Secrets {
            service: tools::random_token(),
            admin: tools::random_token(),
            proxy: tools::random_token(),
        };
        let kbatch_url = config
            .kbatch_url
            .unwrap_or_else(|| format!("http://127.0.0.1:{placeholder}"));
        let config_py = config_py(&dir, &chp, ports, &secrets, &kbatch_url);
        let config_path = dir.join("jupyterhub_config.py");
        fs::write(&config_path, config_py).map_err(|e| format!("writing hub config: {e}"))?;
        let launch = Launch {
            program: python.clone(),
            args: vec![
                "-m".into(),
                "jupyterhub".into(),
                "-f".into(),
                config_path.display().to_string(),
            ],
            python,
            dir: dir.clone(),
            log: dir.join("hub.log"),
            env: Vec::new(),
        };
        let process = Supervised::spawn(&launch).map_err(|e| format!("spawning hub: {e}"))?;
        let hub = Hub {
            process: Mutex::new(process),
            ports,
            secrets,
            kbatch_url,
            dir,
            agent: http_agent(),
        };
        hub.wait_ready()?;
        Ok(hub)
    }

    /// Waits until the hub API answers and the proxy has the kbatch route.
    fn wait_ready(&self) -> Result<(), String> {
        let mut process = self.lock_process();
        let version_url = format!("{}/", self.api_url());
        tools::wait_until(
            "JupyterHub API",
            &mut process,
            START_TIMEOUT,
            || matches!(http_request(&self.agent, "GET", &version_url, None, None), Ok(r) if r.status == 200),
        )?;
        let routes_url = format!("http://127.0.0.1:{}/api/routes", self.ports.proxy_api);
        let route = format!("/services/{KBATCH_SERVICE}");
        let token = self.secrets.proxy.as_str();
        tools::wait_until("proxy route to kbatch", &mut process, START_TIMEOUT, || {
            matches!(http_request(&self.agent, "GET", &routes_url, Some(token), None),
                Ok(r) if r.status == 200 && r.body.contains(&route))
        })
    }

    fn lock_process(&self) -> std::sync::MutexGuard<'_, Supervised> {
        // A panic while holding the lock leaves the process itself intact.
        self.process
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The hub REST API root, `http://127.0.0.1:<port>/hub/api` (hub port, not proxied):
    /// what a service gets as `JUPYTERHUB_API_URL`.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}/hub/api", self.ports.hub)
    }

    /// The public URL (configurable-http-proxy), `http://127.0.0.1:<port>`.
    pub fn public_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.proxy)
    }

    /// The kbatch service through the public proxy: `<public_url>/services/kbatch`.
    pub fn service_prefix_url(&self) -> String {
        format!("{}/services/{KBATCH_SERVICE}", self.public_url())
    }

    /// Where the hub routes the kbatch service (from [`HubConfig::kbatch_url`]).
    pub fn kbatch_url(&self) -> &str {
        &self.kbatch_url
    }

    /// The kbatch service's own API token (`JUPYTERHUB_API_TOKEN` for the proxy).
    pub fn service_token(&self) -> &str {
        &self.secrets.service
    }

    /// The harness's admin service token (users, groups, tokens).
    pub fn admin_token(&self) -> &str {
        &self.secrets.admin
    }

    /// The hub's log file (kept after a failed start; set `HARNESS_KEEP_DIRS=1` to keep
    /// it after a normal run too).
    pub fn log_path(&self) -> PathBuf {
        self.lock_process().log().to_path_buf()
    }

    /// The hub's scratch directory (config, sqlite database, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Calls the hub REST API: `path` is relative to [`Hub::api_url`] (for example
    /// `/user`). Panics on transport errors, which mean the hub is gone.
    pub fn api(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let url = format!("{}{path}", self.api_url());
        http_request(&self.agent, method, &url, token, body)
            .unwrap_or_else(|err| panic!("{err} (hub log: {})", self.log_path().display()))
    }

    /// Like [`Hub::api`] with the admin token, panicking unless the status is `expected`.
    fn admin(&self, method: &str, path: &str, body: Option<&Value>, expected: &[u16]) -> Reply {
        let reply = self.api(method, path, Some(self.admin_token()), body);
        assert!(
            expected.contains(&reply.status),
            "hub {method} {path}: {} {}",
            reply.status,
            reply.body
        );
        reply
    }

    /// A user name unique in this test binary, derived from `base`: `alice` becomes
    /// `alice-7`; an e-mail-like `test.user@example.org` becomes `test.user-7@example.org`.
    pub fn unique_name(base: &str) -> String {
        let n = tools::unique_suffix();
        match base.split_once('@') {
            Some((local, domain)) => format!("{local}-{n}@{domain}"),
            None => format!("{base}-{n}"),
        }
    }

    /// Creates user `name` (or keeps the existing one) and adds it to `groups`, creating
    /// them as needed. Membership of [`KBATCH_USERS_GROUP`] grants [`KBATCH_ACCESS_SCOPE`].
    pub fn create_user(&self, name: &str, groups: &[&str]) {
        let user = encode_path_segment(name);
        self.admin("POST", &format!("/users/{user}"), None, &[201, 409]);
        for group in groups {
            let group_path = format!("/groups/{}", encode_path_segment(group));
            self.admin("POST", &group_path, None, &[201, 409]);
            let members = json!({ "users": [name] });
            self.admin(
                "POST",
                &format!("{group_path}/users"),
                Some(&members),
                &[200],
            );
        }
    }

    /// Creates a fresh user named after `base` (see [`Hub::unique_name`]) in `groups`,
    /// and returns its name.
    pub fn new_user(&self, base: &str, groups: &[&str]) -> String {
        let name = Self::unique_name(base);
        self.create_user(&name, groups);
        name
    }

    /// A new user in the kbatch users group, with a token.
    pub fn kbatch_user(&self, base: &str) -> HubUser {
        let name = self.new_user(base, &[KBATCH_USERS_GROUP]);
        HubUser {
            token: self.token_for(&name, None),
            namespace: kbatch_proxy::identity::namespace_for(&name),
            name,
        }
    }

    /// Creates an API token for `user` through the hub REST API. `None` gives the hub's
    /// default (all of the user's permissions); `Some(scopes)` restricts the token, and
    /// must stay within the user's permissions (the hub answers 400 otherwise).
    pub fn token_for(&self, user: &str, scopes: Option<&[&str]>) -> String {
        let mut body = json!({ "note": "kbatch-proxy test harness" });
        if let Some(scopes) = scopes {
            body["scopes"] = json!(scopes);
        }
        let path = format!("/users/{}/tokens", encode_path_segment(user));
        let reply = self.admin("POST", &path, Some(&body), &[200, 201]);
        match reply.json()["token"].as_str() {
            Some(token) => token.to_string(),
            None => panic!("hub POST {path}: no token in {}", reply.body),
        }
    }
}

/// The generated `jupyterhub_config.py`.
fn config_py(dir: &Path, chp: &Path, ports: Ports, secrets: &Secrets, kbatch_url: &str) -> String {
    let file = |name: &str| py(&dir.join(name).display().to_string());
    let db_url = py(&format!(
        "sqlite:///{}",
        dir.join("jupyterhub.sqlite").display()
    ));
    format!(
        r#"# Generated by tests/support/hub.rs: a JupyterHub for integration tests.
c = get_config()  # noqa: F821

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {proxy}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub}
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.db_url = {db_url}
c.JupyterHub.cookie_secret_file = {cookie}

c.ConfigurableHTTPProxy.command = [{chp}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api}"
c.ConfigurableHTTPProxy.auth_token = {proxy_token}
c.ConfigurableHTTPProxy.pid_file = {proxy_pid}

c.JupyterHub.services = [
    {{
        "name": {service},
        "url": {kbatch_url},
        "api_token": {service_token},
        "oauth_no_confirm": True,
    }},
    {{"name": "harness", "api_token": {admin_token}}},
]
c.JupyterHub.load_groups = {{{group}: {{"users": []}}}}
c.JupyterHub.load_roles = [
    # kbatch checks users with the user's own token (GET /hub/api/user); this role only
    # lets the service look users up by name and group, should it need to.
    {{
        "name": "kbatch-service",
        "scopes": ["list:users", "read:users:name", "read:users:groups"],
        "services": [{service}],
    }},
    {{"name": "kbatch-access", "scopes": [{access}], "groups": [{group}]}},
    {{
        "name": "harness-admin",
        "scopes": [
            "admin:users", "admin:groups", "tokens", "list:users", "read:users",
            "list:groups", "read:groups", "access:services",
        ],
        "services": ["harness"],
    }},
]
"#,
        proxy = ports.proxy,
        hub = ports.hub,
        proxy_api = ports.proxy_api,
        cookie = file("jupyterhub_cookie_secret"),
        chp = py(&chp.display().to_string()),
        proxy_token = py(&secrets.proxy),
        proxy_pid = file("proxy.pid"),
        service = py(KBATCH_SERVICE),
        kbatch_url = py(kbatch_url),
        service_token = py(&secrets.service),
        admin_token = py(&secrets.admin),
        group = py(KBATCH_USERS_GROUP),
        access = py(KBATCH_ACCESS_SCOPE),
    )
}
