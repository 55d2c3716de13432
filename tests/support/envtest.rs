//! A real kube-apiserver (backed by etcd) for tests, when `KUBEBUILDER_ASSETS` names a
//! folder with `etcd` and `kube-apiserver` binaries (controller-runtime's envtest
//! convention). Flags follow envtest's defaults; the PKI (CA, serving cert, admin client
//! cert in `system:masters`, service-account key pair) and a static admin token are
//! generated per start. Both processes run under `launcher.py`, so they stop when the
//! `EnvTest` is dropped or the test binary exits.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use super::tools::{self, http_request, Launch, Supervised};

/// The environment variable naming the folder with the binaries.
pub const ASSETS_ENV: &str = "KUBEBUILDER_ASSETS";
/// The service CIDR envtest uses.
pub const SERVICE_CLUSTER_IP_RANGE: &str = "10.0.0.0/24";
/// The user name the static admin token authenticates as.
pub const ADMIN_USER: &str = "admin";

const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A running etcd + kube-apiserver; see the module doc.
#[derive(Debug)]
pub struct EnvTest {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The CA that signed the serving and client certificates (PEM).
    pub ca_pem: String,
    /// A bearer token for user `admin` in group `system:masters`.
    pub admin_token: String,
    /// Client certificate `CN=admin, O=system:masters` (PEM).
    pub admin_cert_pem: String,
    /// Its private key (PKCS#8 PEM).
    pub admin_key_pem: String,
    // Declared before `etcd`, so it is dropped (stopped) first.
    apiserver: Mutex<Supervised>,
    etcd: Mutex<Supervised>,
    dir: PathBuf,
}

/// Generated certificates and keys, all PEM.
#[derive(Debug, Clone)]
pub struct Pki {
    /// Self-signed CA certificate.
    pub ca_cert: String,
    /// Serving certificate for `127.0.0.1` and `localhost`, signed by the CA.
    pub serving_cert: String,
    /// Serving key.
    pub serving_key: String,
    /// Client certificate `CN=admin, O=system:masters`, signed by the CA.
    pub admin_cert: String,
    /// Client key.
    pub admin_key: String,
    /// Service-account token signing key (private, PKCS#8).
    pub sa_private_key: String,
    /// Service-account token verification key (public, SPKI).
    pub sa_public_key: String,
}

/// Where one control plane's files and ports are.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Holds `pki/`, logs and the etcd directory.
    pub dir: PathBuf,
    /// kube-apiserver's secure port.
    pub apiserver_port: u16,
    /// etcd's client port.
    pub etcd_client_port: u16,
    /// etcd's peer port.
    pub etcd_peer_port: u16,
}

impl Layout {
    /// The PKI directory (`--cert-dir`).
    pub fn pki_dir(&self) -> PathBuf {
        self.dir.join("pki")
    }

    /// etcd's working directory (removed when etcd stops).
    pub fn etcd_dir(&self) -> PathBuf {
        self.dir.join("etcd")
    }

    /// The API server URL.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.apiserver_port)
    }

    /// etcd's client URL.
    pub fn etcd_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.etcd_client_port)
    }
}

/// The folder named by `KUBEBUILDER_ASSETS`; `None` when it is unset or empty.
pub fn assets_dir() -> Option<PathBuf> {
    std::env::var_os(ASSETS_ENV)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// Generates a fresh CA, serving cert, admin client cert and service-account key pair.
pub fn generate_pki() -> Result<Pki, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kbatch-envtest-ca");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?.pem();
    let issuer = Issuer::new(ca_params, &ca_key);

    let serving_key = KeyPair::generate()?;
    let mut serving = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])?;
    serving
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serving_cert = serving.signed_by(&serving_key, &issuer)?.pem();

    let admin_key = KeyPair::generate()?;
    let mut admin = CertificateParams::new(Vec::<String>::new())?;
    admin
        .distinguished_name
        .push(DnType::CommonName, ADMIN_USER);
    admin
        .distinguished_name
        .push(DnType::OrganizationName, "system:masters");
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let admin_cert = admin.signed_by(&admin_key, &issuer)?.pem();

    let sa_key = KeyPair::generate()?;
    Ok(Pki {
        ca_cert,
        serving_cert,
        serving_key: serving_key.serialize_pem(),
        admin_cert,
        admin_key: admin_key.serialize_pem(),
        sa_private_key: sa_key.serialize_pem(),
        sa_public_key: sa_key.public_key_pem(),
    })
}

/// The static token file line: `token,user,uid,"group"` (kube-apiserver's CSV format).
pub fn token_file(admin_token: &str) -> String {
    format!("{admin_token},{ADMIN_USER},{ADMIN_USER},\"system:masters\"\n")
}

/// Writes the PKI and the token file into `layout.pki_dir()`.
pub fn write_pki(layout: &Layout, pki: &Pki, admin_token: &str) -> std::io::Result<()> {
    let pki_dir = layout.pki_dir();
    fs::create_dir_all(&pki_dir)?;
    let files = [
        ("ca.crt", pki.ca_cert.as_str()),
        ("apiserver.crt", &pki.serving_cert),
        ("apiserver.key", &pki.serving_key),
        ("sa.key", &pki.sa_private_key),
        ("sa.pub", &pki.sa_public_key),
        ("tokens.csv", &token_file(admin_token)),
    ];
    for (name, contents) in files {
        fs::write(pki_dir.join(name), contents)?;
    }
    Ok(())
}

/// etcd flags: a single member on loopback, data in the scratch dir, no fsync (envtest
/// does the same; losing data on a crash does not matter for a test).
pub fn etcd_args(layout: &Layout) -> Vec<String> {
    let peer = format!("http://127.0.0.1:{}", layout.etcd_peer_port);
    let data = layout.etcd_dir().join("data");
    vec![
        "--name=envtest".into(),
        format!("--data-dir={}", data.display()),
        format!("--listen-client-urls={}", layout.etcd_url()),
        format!("--advertise-client-urls={}", layout.etcd_url()),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=envtest={peer}"),
        "--unsafe-no-fsync=true".into(),
    ]
}

/// kube-apiserver flags: controller-runtime envtest's defaults (RBAC, service CIDR
/// 10.0.0.0/24, privileged allowed, ServiceAccount admission off because no controller
/// creates default service accounts, issuer = the server URL) plus explicit serving
/// cert, client CA and static token file.
pub fn apiserver_args(layout: &Layout) -> Vec<String> {
    let pki = |name: &str| layout.pki_dir().join(name).display().to_string();
    vec![
        "--advertise-address=127.0.0.1".into(),
        "--bind-address=127.0.0.1".into(),
        format!("--secure-port={}", layout.apiserver_port),
        format!("--etcd-servers={}", layout.etcd_url()),
        format!("--cert-dir={}", layout.pki_dir().display()),
        format!("--tls-cert-file={}", pki("apiserver.crt")),
        format!("--tls-private-key-file={}", pki("apiserver.key")),
        format!("--client-ca-file={}", pki("ca.crt")),
        format!("--token-auth-file={}", pki("tokens.csv")),
        "--authorization-mode=RBAC".into(),
        format!("--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}"),
        "--allow-privileged=true".into(),
        "--disable-admission-plugins=ServiceAccount".into(),
        format!("--service-account-issuer={}/", layout.url()),
        format!("--service-account-key-file={}", pki("sa.pub")),
        format!("--service-account-signing-key-file={}", pki("sa.key")),
    ]
}

/// A kubeconfig for the admin token, pointing at the CA file in `pki/`.
pub fn kubeconfig(layout: &Layout, admin_token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: envtest\n  cluster:\n    \
         server: {url}\n    certificate-authority: {ca}\nusers:\n- name: admin\n  user:\n    \
         token: {admin_token}\ncontexts:\n- name: envtest\n  context:\n    cluster: envtest\n    \
         user: admin\ncurrent-context: envtest\n",
        url = layout.url(),
        ca = layout.pki_dir().join("ca.crt").display(),
    )
}

/// An HTTP client that trusts only `ca_pem`.
pub fn tls_agent(ca_pem: &str) -> Result<ureq::Agent, String> {
    let ca = ureq::tls::Certificate::from_pem(ca_pem.as_bytes())
        .map_err(|e| format!("parsing generated CA: {e}"))?;
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![ca])))
        .build();
    Ok(ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .tls_config(tls)
        .build()
        .into())
}

/// The path of `binary` in the assets folder, or why it is unusable.
fn asset(assets: &Path, binary: &str) -> Result<PathBuf, String> {
    let program = assets.join(binary);
    if program.is_file() {
        Ok(program)
    } else {
        Err(format!(
            "{ASSETS_ENV}={}: no {binary} binary there",
            assets.display()
        ))
    }
}

/// Starts `program` under the launcher (run by the system `python3`: the test venv is
/// not needed for envtest).
fn launch(
    program: PathBuf,
    dir: PathBuf,
    log: PathBuf,
    args: Vec<String>,
) -> Result<Supervised, String> {
    let spec = Launch {
        python: PathBuf::from("python3"),
        program,
        args,
        dir,
        log,
        env: Vec::new(),
    };
    Supervised::spawn(&spec).map_err(|e| format!("spawning {}: {e}", spec.program.display()))
}

/// Creates the scratch directory with the PKI, token file and kubeconfig.
fn prepare() -> Result<(Layout, Pki, String), String> {
    let dir = tools::scratch_dir("kbatch-envtest").map_err(|e| format!("scratch dir: {e}"))?;
    let [apiserver_port, etcd_client_port, etcd_peer_port] = tools::free_ports();
    let layout = Layout {
        dir,
        apiserver_port,
        etcd_client_port,
        etcd_peer_port,
    };
    let pki = generate_pki().map_err(|e| format!("generating PKI: {e}"))?;
    let token = tools::random_token();
    write_pki(&layout, &pki, &token).map_err(|e| format!("writing PKI: {e}"))?;
    let config = kubeconfig(&layout, &token);
    fs::write(layout.dir.join("kubeconfig"), config).map_err(|e| format!("kubeconfig: {e}"))?;
    fs::create_dir_all(layout.etcd_dir()).map_err(|e| format!("etcd dir: {e}"))?;
    Ok((layout, pki, token))
}

/// Starts etcd and waits for `/health`.
fn start_etcd(program: PathBuf, layout: &Layout) -> Result<Supervised, String> {
    let log = layout.dir.join("etcd.log");
    let mut etcd = launch(program, layout.etcd_dir(), log, etcd_args(layout))?;
    let agent = tools::http_agent();
    let health = format!("{}/health", layout.etcd_url());
    tools::wait_until(
        "etcd",
        &mut etcd,
        START_TIMEOUT,
        || matches!(http_request(&agent, "GET", &health, None, None), Ok(r) if r.status == 200),
    )?;
    Ok(etcd)
}

/// Starts kube-apiserver and waits for `/readyz` over TLS verified with the CA.
fn start_apiserver(
    program: PathBuf,
    layout: &Layout,
    ca_pem: &str,
    token: &str,
) -> Result<Supervised, String> {
    let log = layout.dir.join("kube-apiserver.log");
    let mut apiserver = launch(program, layout.dir.clone(), log, apiserver_args(layout))?;
    let agent = tls_agent(ca_pem)?;
    let readyz = format!("{}/readyz", layout.url());
    let auth = format!("Bearer {token}");
    tools::wait_until("kube-apiserver", &mut apiserver, START_TIMEOUT, || {
        let reply = agent.get(&readyz).header("Authorization", &auth).call();
        matches!(reply, Ok(r) if r.status() == 200)
    })?;
    Ok(apiserver)
}

impl EnvTest {
    /// The control plane shared by this test binary, started on first use from
    /// `KUBEBUILDER_ASSETS`. Panics, in every caller, when that is unset or the control
    /// plane cannot start; use [`EnvTest::configured`] to skip instead.
    pub fn shared() -> &'static EnvTest {
        match Self::configured() {
            Some(envtest) => envtest,
            None => panic!("{ASSETS_ENV} is not set: no envtest control plane"),
        }
    }

    /// Like [`EnvTest::shared`], but `None` when `KUBEBUILDER_ASSETS` is unset.
    pub fn configured() -> Option<&'static EnvTest> {
        static SHARED: OnceLock<Option<Result<EnvTest, String>>> = OnceLock::new();
        let started = SHARED.get_or_init(|| assets_dir().map(|assets| EnvTest::start(&assets)));
        match started.as_ref()? {
            Ok(envtest) => Some(envtest),
            Err(err) => panic!("envtest control plane failed to start: {err}"),
        }
    }

    /// Starts etcd and kube-apiserver from `assets`; they stop when this is dropped.
    pub fn start(assets: &Path) -> Result<EnvTest, String> {
        let etcd_bin = asset(assets, "etcd")?;
        let apiserver_bin = asset(assets, "kube-apiserver")?;
        let (layout, pki, admin_token) = prepare()?;
        let etcd = start_etcd(etcd_bin, &layout)?;
        let apiserver = start_apiserver(apiserver_bin, &layout, &pki.ca_cert, &admin_token)?;
        Ok(EnvTest {
            url: layout.url(),
            ca_pem: pki.ca_cert,
            admin_token,
            admin_cert_pem: pki.admin_cert,
            admin_key_pem: pki.admin_key,
            apiserver: Mutex::new(apiserver),
            etcd: Mutex::new(etcd),
            dir: layout.dir,
        })
    }

    /// A kubeconfig file (admin token, CA file) for kubectl or the Python client.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The log files of kube-apiserver and etcd (kept after a failed start; set
    /// `HARNESS_KEEP_DIRS=1` to keep them after a normal run too).
    pub fn log_paths(&self) -> [PathBuf; 2] {
        let log = |process: &Mutex<Supervised>| match process.lock() {
            Ok(guard) => guard.log().to_path_buf(),
            Err(poisoned) => poisoned.into_inner().log().to_path_buf(),
        };
        [log(&self.apiserver), log(&self.etcd)]
    }

    /// The scratch directory (PKI, logs, etcd data).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// An HTTP client that trusts this control plane's CA (add the admin token yourself).
    pub fn agent(&self) -> ureq::Agent {
        tls_agent(&self.ca_pem).expect("a CA generated by generate_pki must parse")
    }
}
