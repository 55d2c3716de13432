//! The Kubernetes API the end-to-end tests run against: the in-memory stand-in (default), or
//! a real kube-apiserver + etcd when `KUBEBUILDER_ASSETS` names a folder holding them — and the
//! real clients (kubectl binaries of chosen versions, the Python client) pointed at it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;

use std::sync::Arc;

use kube_standin::kubeconfig::{kubeconfig, Credential};
use kube_standin::server::{StandIn, StandInConfig, State};
use kube_standin::tls::CertPair;

/// What a test can reach inside a stand-in it started.
pub struct StandInHandle {
    /// The stand-in's state (audit log, store).
    pub state: Arc<State>,
    /// Client certificates issued at start, in the order asked.
    pub certs: Vec<CertPair>,
}

/// A running API server for one test.
pub struct Cluster {
    /// Server URL.
    pub url: String,
    /// CA certificate (PEM).
    pub ca_pem: String,
    /// A token with full rights.
    pub admin_token: String,
    /// Whether this is the stand-in (some checks only make sense there).
    pub is_standin: bool,
    stop: Option<mpsc::Sender<()>>,
    /// A scratch directory for kubeconfigs, caches and files.
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// Start the API for a test: the stand-in on a free port in its own runtime thread, or the
    /// shared real control plane when `KUBEBUILDER_ASSETS` is set.
    pub fn start() -> Cluster {
        if std::env::var_os("KUBEBUILDER_ASSETS").is_some() {
            let dir = tempfile::tempdir().expect("temp dir must be creatable");
            let env = super::envtest::EnvTest::shared();
            return Cluster {
                url: env.url.clone(),
                ca_pem: env.ca_pem.clone(),
                admin_token: env.admin_token.clone(),
                is_standin: false,
                stop: None,
                dir,
            };
        }
        Cluster::start_standin(StandInConfig::default(), &[]).0
    }

    /// Start a stand-in with `cfg` (extra users, rules, version) and client certificates for
    /// `certs` (user, group); returns its shared state (audit log) and the certificates.
    pub fn start_standin(
        cfg: StandInConfig,
        certs: &[(&str, Option<&str>)],
    ) -> (Cluster, StandInHandle) {
        let dir = tempfile::tempdir().expect("temp dir must be creatable");
        let certs: Vec<(String, Option<String>)> = certs
            .iter()
            .map(|(u, g)| (u.to_string(), g.map(str::to_string)))
            .collect();
        let (info_tx, info_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime must build");
            rt.block_on(async move {
                let standin = StandIn::start(cfg).await.expect("stand-in must start");
                let issued: Vec<CertPair> = certs
                    .iter()
                    .map(|(u, g)| {
                        standin
                            .client_cert(u, g.as_deref())
                            .expect("client certificate")
                    })
                    .collect();
                info_tx
                    .send((
                        standin.url.clone(),
                        standin.ca_pem.clone(),
                        standin.admin_token.clone(),
                        StandInHandle {
                            state: standin.state().clone(),
                            certs: issued,
                        },
                    ))
                    .expect("test thread must be waiting");
                // Keep serving until the test drops the cluster.
                let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
                drop(standin);
            });
        });
        let (url, ca_pem, admin_token, handle) = info_rx
            .recv()
            .expect("stand-in thread must report its address");
        let cluster = Cluster {
            url,
            ca_pem,
            admin_token,
            is_standin: true,
            stop: Some(stop_tx),
            dir,
        };
        (cluster, handle)
    }

    /// Write a kubeconfig for `cred` and return its path.
    pub fn kubeconfig_for(
        &self,
        name: &str,
        cred: &Credential,
        namespace: Option<&str>,
    ) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.yaml"));
        let kc = kubeconfig(&self.url, Some(&self.ca_pem), cred, namespace, "test");
        std::fs::write(&path, kc).expect("kubeconfig must be writable");
        path
    }

    /// kubectl of `minor` with the kubeconfig at `path`.
    pub fn kubectl_with(&self, minor: &str, kubeconfig: PathBuf) -> Kubectl {
        Kubectl::new(minor, kubeconfig, self.dir.path())
    }

    /// Write an admin kubeconfig (with `namespace` as the context's default) and return its path.
    /// Each call writes a new file: a proxy started earlier may still be reading its own (one
    /// shared file rewritten under it was read half-written: "failed to determine current
    /// context").
    pub fn admin_kubeconfig(&self, namespace: Option<&str>) -> PathBuf {
        let path = self.dir.path().join(format!(
            "admin-{}-{}.yaml",
            namespace.unwrap_or("none"),
            super::tools::unique_suffix()
        ));
        let kc = kubeconfig(
            &self.url,
            Some(&self.ca_pem),
            &Credential::Token(self.admin_token.clone()),
            namespace,
            "test",
        );
        std::fs::write(&path, kc).expect("kubeconfig must be writable");
        path
    }

    /// kubectl of `minor` version (`"1.32"`), run through a symlink named `kubectl`.
    pub fn kubectl(&self, minor: &str, namespace: Option<&str>) -> Kubectl {
        Kubectl::new(minor, self.admin_kubeconfig(namespace), self.dir.path())
    }

    /// Create hub user `user`'s namespace `namespace` as the cluster admin, annotated for the
    /// user as kbatch-proxy requires of a namespace that already exists.
    pub fn create_user_namespace(&self, namespace: &str, user: &str) {
        let obj = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "annotations": {"kbatch.jupyter.org/username": user},
            },
        });
        let out = self
            .kubectl("1.33", None)
            .run_with_stdin(&["create", "-f", "-"], Some(&obj.to_string()));
        assert!(
            out.status.success(),
            "creating namespace {namespace}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A namespace name unique to this test run.
    pub fn unique_name(prefix: &str) -> String {
        format!(
            "{prefix}-{:x}-{}",
            std::process::id(),
            super::tools::unique_suffix()
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// The folder holding the bundled `kubectl.1.XX` binaries.
pub fn kubectl_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KUBECTL_DIR") {
        return PathBuf::from(d);
    }
    let resolved = std::fs::canonicalize("/usr/bin/kubectl")
        .unwrap_or_else(|_| PathBuf::from("/usr/bin/kubectl"));
    resolved
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/usr/bin"))
}

/// A kubectl binary of one version with a kubeconfig.
pub struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    home: PathBuf,
}

impl Kubectl {
    fn new(minor: &str, kubeconfig: PathBuf, scratch: &Path) -> Self {
        let real = kubectl_dir().join(format!("kubectl.{minor}"));
        assert!(real.exists(), "{} is missing", real.display());
        let bindir = scratch.join(format!("kubectl-{minor}"));
        std::fs::create_dir_all(&bindir).expect("bin dir");
        let bin = bindir.join("kubectl");
        if !bin.exists() {
            std::os::unix::fs::symlink(&real, &bin).expect("symlink kubectl");
        }
        let home = scratch.join(format!("home-{minor}"));
        std::fs::create_dir_all(&home).expect("home dir");
        Kubectl {
            bin,
            kubeconfig,
            home,
        }
    }

    /// Run kubectl with `args` (and stdin), returning its output.
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", &self.home)
            .stdin(if stdin.is_some() {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("kubectl must start");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin was piped");
            pipe.write_all(input.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("kubectl must finish")
    }

    /// Run kubectl; panics with its output unless it succeeds; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run_with_stdin(args, None);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run kubectl expecting failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run_with_stdin(args, None);
        assert!(
            !out.status.success(),
            "kubectl {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Run pod `pod` whose container writes `one`, `two`, `three` two seconds apart, follow its
    /// logs, and check the lines arrive as they are written (not collected at the end).
    pub fn assert_logs_follow_streams(&self, pod: &str) {
        self.ok(&[
            "run",
            pod,
            "--image=busybox",
            "--restart=Never",
            "--command",
            "--",
            "sh",
            "-c",
            "sleep 2; echo one; sleep 2; echo two; sleep 2; echo three",
        ]);
        // Logs of a pod not yet on a node answer 204 (empty), as kube-apiserver does.
        self.ok(&[
            "wait",
            "--for=condition=Ready",
            &format!("pod/{pod}"),
            "--timeout=20s",
        ]);
        let started = std::time::Instant::now();
        let mut child = self
            .command(&["logs", "-f", pod, "--pod-running-timeout=20s"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("kubectl logs -f");
        let out = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let arrivals: Vec<(String, std::time::Duration)> = std::io::BufRead::lines(out)
            .map_while(Result::ok)
            .map(|l| (l, started.elapsed()))
            .collect();
        assert!(
            child.wait().expect("wait").success(),
            "kubectl logs -f failed"
        );
        let text: Vec<&str> = arrivals.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(text, vec!["one", "two", "three"]);
        // "three" is written 4 s after "one": a collected stream would deliver them together.
        assert!(
            arrivals[2].1 - arrivals[0].1 >= std::time::Duration::from_millis(3000),
            "lines were collected, not streamed: {arrivals:?}"
        );
    }

    /// The command, for spawning long-running kubectl (watch, logs -f).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", &self.home);
        cmd
    }
}
