//! `GET {prefix}/kubeconfig` end to end: a hub user fetches a kubeconfig from kbatch-proxy
//! (real JupyterHub, TLS, the API stand-in or a real control plane behind it), and real kubectl
//! and the real Python client use it as a notebook would — the token from
//! `$JUPYTERHUB_API_TOKEN` through the `exec` plugin, or inline with `?token=inline`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use kbatch_proxy::identity::namespace_for;
use serde_json::Value;
use support::cluster::Cluster;
use support::hub::{Hub, KBATCH_USERS_GROUP};
use support::proxy::Proxy;
use support::tools::{http_request, python_literal, venv_python};

const PREFIX: &str = "/services/kbatch";

struct Setup {
    cluster: Cluster,
    proxy: Proxy,
    token: String,
    namespace: String,
}

/// A cluster, a hub user whose namespace exists, and a proxy under the hub's service prefix
/// whose `/kubeconfig` embeds the CA that signed its certificate.
fn setup(base: &str) -> Setup {
    let cluster = Cluster::start();
    let hub = Hub::shared();
    let name = hub.new_user(base, &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(&name, None);
    let namespace = namespace_for(&name);
    cluster.create_user_namespace(&namespace, &name);
    let ca_file = cluster.dir.path().join("public-ca.crt");
    let proxy = Proxy::start(
        &cluster,
        &hub.api_url(),
        &[
            "--prefix",
            PREFIX,
            "--public-ca-file",
            &ca_file.display().to_string(),
        ],
    );
    // Read per request, so it may appear after the start (as a rotated certificate does).
    std::fs::write(&ca_file, &proxy.ca_pem).expect("write CA");
    Setup {
        cluster,
        proxy,
        token,
        namespace,
    }
}

fn fetch(s: &Setup, query: &str, token: Option<&str>) -> support::tools::Reply {
    let agent = support::envtest::tls_agent(&s.proxy.ca_pem).expect("agent");
    http_request(
        &agent,
        "GET",
        &format!("{}/kubeconfig{query}", s.proxy.url),
        token,
        None,
    )
    .expect("request")
}

fn save(s: &Setup, yaml: &str) -> PathBuf {
    let path = s
        .cluster
        .dir
        .path()
        .join(format!("kc-{}.yaml", support::tools::unique_suffix()));
    std::fs::write(&path, yaml).expect("write kubeconfig");
    path
}

/// kubectl `minor` with `kubeconfig`, `$JUPYTERHUB_API_TOKEN` set to `env_token` (or unset).
fn kubectl(
    s: &Setup,
    minor: &str,
    kubeconfig: &Path,
    env_token: Option<&str>,
    args: &[&str],
) -> Output {
    let k = s.cluster.kubectl_with(minor, kubeconfig.to_path_buf());
    let mut cmd = k.command(args);
    cmd.env_remove("JUPYTERHUB_API_TOKEN");
    if let Some(t) = env_token {
        cmd.env("JUPYTERHUB_API_TOKEN", t);
    }
    cmd.output().expect("kubectl runs")
}

fn assert_ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn notebook_kubeconfig_works_with_kubectl_and_the_python_client() {
    let s = setup("kcexec");
    let reply = fetch(&s, "", Some(&s.token));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        !reply.body.contains(&s.token),
        "the default kubeconfig holds no token"
    );
    let kc: Value = serde_yaml::from_str(&reply.body).expect("YAML");
    // No public URL configured: the URL the caller used, prefix included.
    assert_eq!(kc["clusters"][0]["cluster"]["server"], s.proxy.url.as_str());
    assert!(s.proxy.url.ends_with(PREFIX));
    assert_eq!(
        kc["contexts"][0]["context"]["namespace"],
        s.namespace.as_str()
    );
    let path = save(&s, &reply.body);
    for minor in ["1.27", "1.33"] {
        let cm = format!("nb-{}", minor.replace('.', "-"));
        let out = kubectl(
            &s,
            minor,
            &path,
            Some(&s.token),
            &["create", "configmap", &cm, "--from-literal=a=b"],
        );
        assert_ok(&out, "kubectl create configmap");
        let out = kubectl(&s, minor, &path, Some(&s.token), &["get", "pods"]);
        assert_ok(&out, "kubectl get pods");
        let out = kubectl(
            &s,
            minor,
            &path,
            Some(&s.token),
            &["get", "configmaps", "-o", "name"],
        );
        assert!(
            assert_ok(&out, "kubectl get configmaps").contains(&format!("configmap/{cm}")),
            "{out:?}"
        );
    }
    // The same objects are in the user's namespace upstream.
    let admin = s.cluster.kubectl("1.33", Some(&s.namespace));
    assert!(admin
        .ok(&["get", "configmap", "nb-1-33"])
        .contains("nb-1-33"));
    // Without the variable the plugin says what is missing, and kubectl fails.
    let out = kubectl(&s, "1.33", &path, None, &["get", "pods"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("JUPYTERHUB_API_TOKEN is not set"), "{err}");
    // Another user's token in the variable: their own namespace, not this one.
    let hub = Hub::shared();
    let other = hub.new_user("kcother", &[KBATCH_USERS_GROUP]);
    let other_token = hub.token_for(&other, None);
    let out = kubectl(&s, "1.33", &path, Some(&other_token), &["get", "pods"]);
    assert!(!out.status.success(), "another user reached this namespace");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Forbidden"));
    // The Python client (as in a notebook) with the same kubeconfig and variable.
    let script = format!(
        "import kubernetes\n\
         kubernetes.config.load_kube_config(config_file={path})\n\
         names = [c.metadata.name for c in kubernetes.client.CoreV1Api().list_namespaced_config_map({ns}).items]\n\
         assert 'nb-1-33' in names, names\n\
         print('ok')\n",
        path = python_literal(&path.display().to_string()),
        ns = python_literal(&s.namespace),
    );
    let out = std::process::Command::new(venv_python())
        .args(["-c", &script])
        .env("JUPYTERHUB_API_TOKEN", &s.token)
        .output()
        .expect("python runs");
    assert_eq!(assert_ok(&out, "python client").trim(), "ok");
}

#[test]
fn inline_token_kubeconfig_and_refusals() {
    let s = setup("kcinline");
    let reply = fetch(&s, "?token=inline", Some(&s.token));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let kc: Value = serde_yaml::from_str(&reply.body).expect("YAML");
    assert_eq!(kc["users"][0]["user"]["token"], s.token.as_str());
    let path = save(&s, &reply.body);
    let out = kubectl(
        &s,
        "1.33",
        &path,
        None,
        &["create", "configmap", "inline", "--from-literal=a=b"],
    );
    assert_ok(&out, "kubectl with the inline token");
    // Refusals: no token, a bad token, a token without the kbatch scope, a bad mode.
    assert_eq!(fetch(&s, "", None).status, 401);
    assert_eq!(fetch(&s, "", Some("not-a-token")).status, 401);
    let hub = Hub::shared();
    let name = hub.new_user("kcnoscope", &[]);
    let unscoped = hub.token_for(&name, Some(&["read:users:name!user"]));
    assert_eq!(fetch(&s, "", Some(&unscoped)).status, 403);
    let bad = fetch(&s, "?token=file", Some(&s.token));
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("unknown token mode"), "{}", bad.body);
}
