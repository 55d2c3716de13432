//! Issue "Patches and server-side apply through the policies keep their meaning on a real API
//! server": `kubectl get all` and `kubectl describe` through the proxy, in the user's own
//! namespace, print no `Forbidden` — every kind of the `all` category (the stand-in serves
//! replicationcontrollers, as kube-apiserver does) and everything `describe` reads is readable.

mod support;

use std::process::Output;

use support::cluster::{Cluster, Kubectl};
use support::hub::Hub;
use support::proxy::Proxy;

/// Run kubectl and return stdout and stderr together, asserting it succeeded.
fn both(k: &Kubectl, args: &[&str]) -> String {
    let out: Output = k.run_with_stdin(args, None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "kubectl {args:?} failed:\n{text}");
    text
}

#[test]
fn get_all_and_describe_print_no_forbidden() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let user = hub.kbatch_user("getall");
    for minor in ["1.27", "1.33"] {
        let k = proxy.kubectl(&c, minor, &user.token, &user.namespace);
        let v = minor.replace('.', "-");
        let (deploy, job, cj, svc, pod) = (
            format!("web-{v}"),
            format!("once-{v}"),
            format!("tick-{v}"),
            format!("front-{v}"),
            format!("solo-{v}"),
        );
        k.ok(&["create", "deployment", &deploy, "--image=nginx:1.25"]);
        k.ok(&["create", "job", &job, "--image=busybox", "--", "true"]);
        let schedule = "--schedule=*/5 * * * *";
        k.ok(&["create", "cronjob", &cj, "--image=busybox", schedule]);
        k.ok(&["create", "service", "clusterip", &svc, "--tcp=80:8080"]);
        k.ok(&["run", &pod, "--image=busybox", "--restart=Never"]);

        let all = both(&k, &["get", "all"]);
        assert!(!all.contains("orbidden"), "{minor}: {all}");
        for name in [
            format!("deployment.apps/{deploy}"),
            format!("job.batch/{job}"),
            format!("cronjob.batch/{cj}"),
            format!("service/{svc}"),
            format!("pod/{pod}"),
        ] {
            assert!(all.contains(&name), "{minor}: {name} missing from\n{all}");
        }
        let names = both(&k, &["get", "all", "-o", "name"]);
        assert!(!names.contains("orbidden"), "{minor}: {names}");

        for (kind, name) in [
            ("deployment", &deploy),
            ("job", &job),
            ("cronjob", &cj),
            ("service", &svc),
            ("pod", &pod),
        ] {
            let desc = both(&k, &["describe", kind, name]);
            assert!(desc.contains(name.as_str()), "{minor} {kind}: {desc}");
            assert!(!desc.contains("orbidden"), "{minor} {kind}: {desc}");
        }
        // The kinds only read: listed, not written (the stand-in serves no podtemplates).
        both(&k, &["get", "rc,ds"]);
        let rc = "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: legacy}\n\
            spec:\n  template:\n    metadata: {labels: {app: legacy}}\n    \
            spec: {containers: [{name: c, image: busybox}]}\n";
        let out = k.run_with_stdin(&["create", "-f", "-"], Some(rc));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("Forbidden"),
            "{minor}: {err}"
        );
    }
}
