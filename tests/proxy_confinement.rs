//! Namespace confinement end to end with real kubectl through kbatch-proxy: a user's kubectl
//! works as if their namespace were the whole cluster, and nothing outside it is reachable.

mod support;

use kube_standin::kubeconfig::{kubeconfig, Credential};
use support::cluster::{Cluster, Kubectl};
use support::hub::Hub;
use support::proxy::Proxy;

/// kubectl through the proxy with a kubeconfig that names no namespace.
fn kubectl_without_namespace(c: &Cluster, proxy: &Proxy, minor: &str, token: &str) -> Kubectl {
    let path = c
        .dir
        .path()
        .join(format!("nons-{}.yaml", support::tools::unique_suffix()));
    let kc = kubeconfig(
        &proxy.url,
        Some(&proxy.ca_pem),
        &Credential::Token(token.into()),
        None,
        "kbatch",
    );
    std::fs::write(&path, kc).expect("write kubeconfig");
    c.kubectl_with(minor, path)
}

#[test]
fn kubectl_sees_only_the_users_namespace() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let alice = Hub::shared().kbatch_user("conf-alice");
    let bob = Hub::shared().kbatch_user("conf-bob");
    // Bob exists upstream with a pod of his own; alice must never see it.
    proxy.kubectl(&c, "1.33", &bob.token, &bob.namespace).ok(&[
        "run",
        "bobs",
        "--image=busybox",
        "--restart=Never",
        "--",
        "sleep",
        "60",
    ]);
    let admin = c.kubectl("1.33", None);
    admin.ok(&["create", "namespace", "other-team"]);
    admin.ok(&[
        "create",
        "configmap",
        "secret-plans",
        "-n",
        "other-team",
        "--from-literal=a=b",
    ]);
    for minor in ["1.27", "1.33"] {
        let k = proxy.kubectl(&c, minor, &alice.token, &alice.namespace);
        let pod = format!("mine-{}", minor.replace('.', "-"));
        k.ok(&[
            "run",
            &pod,
            "--image=busybox",
            "--restart=Never",
            "--",
            "sleep",
            "60",
        ]);
        // get ns: only the user's namespace.
        let ns = k.ok(&["get", "namespaces", "-o", "name"]);
        assert_eq!(ns.trim(), format!("namespace/{}", alice.namespace), "{ns}");
        let table = k.ok(&["get", "ns"]);
        assert!(
            table.contains("STATUS") && table.contains(&alice.namespace),
            "{table}"
        );
        assert!(!table.contains("other-team") && !table.contains(&bob.namespace));
        // get pods -A: only the user's pods.
        let all = k.ok(&["get", "pods", "-A", "-o", "name"]);
        assert!(all.contains(&format!("pod/{pod}")), "{all}");
        assert!(!all.contains("bobs"), "{all}");
        let wide = k.ok(&["get", "pods", "--all-namespaces"]);
        assert!(
            wide.contains("NAMESPACE") && wide.contains(&alice.namespace),
            "{wide}"
        );
        assert!(!wide.contains(&bob.namespace));
        // Other namespaces and cluster-scoped objects: Forbidden, as kubectl prints it.
        for args in [
            vec!["get", "pods", "-n", "kube-system"],
            vec!["get", "configmaps", "-n", "other-team"],
            vec!["get", "pods", "-n", &bob.namespace],
            vec!["get", "nodes"],
            vec!["create", "namespace", "x"],
            vec!["delete", "namespace", &alice.namespace],
            vec!["get", "namespace", "other-team"],
            vec!["get", "clusterroles"],
        ] {
            let err = k.fails(&args);
            assert!(
                err.contains("Forbidden") || err.contains("forbidden"),
                "{args:?}: {err}"
            );
        }
        // auth can-i tells the truth.
        assert_eq!(k.ok(&["auth", "can-i", "create", "pods"]).trim(), "yes");
        assert_eq!(k.ok(&["auth", "can-i", "get", "pods/log"]).trim(), "yes");
        let no = |args: &[&str]| {
            let out = k.command(args).output().expect("kubectl runs");
            let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
            assert!(
                said == "no" || said.starts_with("no - "),
                "{args:?}: {said}"
            );
            assert!(!out.status.success(), "can-i exits 1 for no");
        };
        no(&["auth", "can-i", "get", "pods", "-n", "kube-system"]);
        no(&["auth", "can-i", "list", "nodes"]);
        no(&["auth", "can-i", "create", "namespaces"]);
        no(&["auth", "can-i", "create", "rolebindings"]);
        let list = k.ok(&["auth", "can-i", "--list"]);
        assert!(
            list.contains("pods ") && list.contains("jobs.batch") && !list.contains("nodes"),
            "{list}"
        );
    }
    // Write access went only to alice's namespace.
    let upstream = admin.ok(&["get", "pods", "-A", "-o", "name"]);
    assert!(upstream.contains("mine-1-33") && upstream.contains("bobs"));
    assert_eq!(
        admin.ok(&[
            "get",
            "configmap",
            "secret-plans",
            "-n",
            "other-team",
            "-o",
            "jsonpath={.data.a}"
        ]),
        "b"
    );
}

#[test]
fn a_kubeconfig_without_a_namespace_works() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let u = Hub::shared().kbatch_user("conf-nons");
    for minor in ["1.27", "1.33"] {
        let k = kubectl_without_namespace(&c, &proxy, minor, &u.token);
        let cm = format!("cm-{}", minor.replace('.', "-"));
        k.ok(&["create", "configmap", &cm, "--from-literal=a=b"]);
        let got = k.ok(&[
            "get",
            "configmap",
            &cm,
            "-o",
            "jsonpath={.metadata.namespace}",
        ]);
        // The object lives in the user's namespace, and answers show the namespace the
        // client asked for (what Helm and `kubectl apply` compare against).
        assert_eq!(got, "default");
        let admin = c.kubectl("1.33", None);
        let real = admin.ok(&[
            "get",
            "configmap",
            &cm,
            "-n",
            &u.namespace,
            "-o",
            "jsonpath={.metadata.namespace}",
        ]);
        assert_eq!(real, u.namespace);
        let listed = k.ok(&[
            "get",
            "configmaps",
            "-o",
            "jsonpath={range .items[*]}{.metadata.namespace}{\"\\n\"}{end}",
        ]);
        assert!(
            !listed.is_empty() && listed.lines().all(|l| l == "default"),
            "{listed}"
        );
        // A manifest naming namespace "default" lands in the user's namespace too.
        let manifest = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {cm}-d\n  namespace: default\ndata:\n  a: b\n"
        );
        let out = k.run_with_stdin(&["apply", "-f", "-"], Some(&manifest));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed = k.ok(&["get", "configmaps", "-o", "name"]);
        assert!(listed.contains(&format!("configmap/{cm}-d")), "{listed}");
        // Server-side apply of a manifest naming "default" (what Helm 4 sends with such a
        // kubeconfig): the apply body's namespace is rewritten with the URL's, twice (create,
        // then a change).
        for value in ["1", "2"] {
            let ssa = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {cm}-ssa\n  namespace: default\ndata:\n  a: \"{value}\"\n"
            );
            let out = k.run_with_stdin(&["apply", "--server-side", "-f", "-"], Some(&ssa));
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let got = k.ok(&[
                "get",
                "configmap",
                &format!("{cm}-ssa"),
                "-o",
                "jsonpath={.metadata.namespace}/{.data.a}",
            ]);
            assert_eq!(got, format!("default/{value}"));
            // Server-side apply stays an apply by kubectl's field manager, policies' mutations
            // (the username label) included.
            let cm_json: serde_json::Value = serde_json::from_str(&k.ok(&[
                "get",
                "configmap",
                &format!("{cm}-ssa"),
                "-o",
                "json",
                "--show-managed-fields",
            ]))
            .expect("json");
            let managers: Vec<(String, String)> = cm_json["metadata"]["managedFields"]
                .as_array()
                .expect("managedFields")
                .iter()
                .map(|m| {
                    (
                        m["manager"].as_str().unwrap_or("").to_owned(),
                        m["operation"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect();
            assert_eq!(
                managers,
                vec![("kubectl".to_owned(), "Apply".to_owned())],
                "{cm_json}"
            );
            let owned = cm_json["metadata"]["managedFields"][0]["fieldsV1"].to_string();
            assert!(owned.contains("f:kbatch.jupyter.org/username"), "{owned}");
        }
        // A manifest naming another namespace is refused.
        let foreign = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {cm}-f\n  namespace: kube-system\n"
        );
        let out = k.run_with_stdin(&["create", "-f", "-"], Some(&foreign));
        assert!(!out.status.success());
        let whoami = k.ok(&[
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ]);
        assert_eq!(whoami, u.name);
    }
    // kubectl 1.32 sends `create job` as protobuf (reference capture
    // 93-experiment-no-protobuf): its namespace follows the URL's too.
    let k = kubectl_without_namespace(&c, &proxy, "1.32", &u.token);
    k.ok(&["create", "job", "pb-job", "--image=busybox", "--", "true"]);
    let shown = k.ok(&[
        "get",
        "job",
        "pb-job",
        "-o",
        "jsonpath={.metadata.namespace}",
    ]);
    assert_eq!(shown, "default");
    let admin = c.kubectl("1.33", None);
    admin.ok(&["get", "job", "pb-job", "-n", &u.namespace]);
    let defaults = admin.ok(&["get", "configmaps", "-n", "default", "-o", "name"]);
    assert!(
        !defaults.contains("cm-1"),
        "nothing landed in default: {defaults}"
    );
}

/// Discovery paths go upstream with the proxy's credential, so only reads pass: a write is
/// kube-apiserver's 405 and never reaches the API server.
#[test]
fn discovery_paths_refuse_writes_with_405() {
    let (c, handle) = Cluster::start_standin(kube_standin::server::StandInConfig::default(), &[]);
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let user = hub.kbatch_user("disc-writer");
    let k = proxy.kubectl(&c, "1.33", &user.token, &user.namespace);
    let body = c.dir.path().join("discovery-body.json");
    std::fs::write(&body, r#"{"kind":"Status"}"#).expect("write body");
    let body = body.to_str().expect("utf-8 path");
    let paths = ["/api", "/apis", "/version", "/openapi/v2"];
    let before = handle.state.audit().len();
    for path in paths {
        for args in [
            &["create", "--raw", path, "-f", body][..],
            &["replace", "--raw", path, "-f", body][..],
            &["delete", "--raw", path][..],
        ] {
            let err = k.fails(args);
            assert!(
                err.contains("Error from server (MethodNotAllowed)")
                    && err.contains(
                        "the server does not allow this method on the requested resource"
                    ),
                "{args:?}: {err}"
            );
        }
    }
    let reached: Vec<_> = handle
        .state
        .audit()
        .into_iter()
        .skip(before)
        .filter(|e| e.method != "GET")
        .map(|e| format!("{} {}", e.method, e.uri))
        .collect();
    assert_eq!(
        reached,
        Vec::<String>::new(),
        "no write reached the API server"
    );
    for path in paths {
        let out = k.ok(&["get", "--raw", path]);
        assert!(!out.is_empty(), "GET {path} still served");
    }
}
