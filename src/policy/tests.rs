//! Tests of the policy engine (paths, conditions, lenient patches, matching, modes, the
//! load-time checks), the shipped policies in `policies/` and the reload.

use serde_json::{json, Value};

use super::reload::Reload;
use super::*;

/// The shipped policies directory.
pub(super) fn shipped_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies")
}

/// The shipped policies.
pub(super) fn shipped() -> PolicySet {
    PolicySet::load_dir(&shipped_dir()).expect("shipped policies load")
}

pub(super) fn target<'a>(verb: &'a str, group: &'a str, resource: &'a str) -> Target<'a> {
    Target {
        verb,
        group,
        version: "v1",
        resource,
        subresource: None,
    }
}

const NO_GROUPS: &[String] = &[];

pub(super) fn alice() -> Subject<'static> {
    Subject {
        user: "alice",
        namespace: "kbatch-alice",
        groups: NO_GROUPS,
    }
}

/// (apiVersion, kind, group, resource) of every kind with a pod spec.
pub(super) const POD_KINDS: &[(&str, &str, &str, &str)] = &[
    ("v1", "Pod", "", "pods"),
    ("batch/v1", "Job", "batch", "jobs"),
    ("batch/v1", "CronJob", "batch", "cronjobs"),
    ("apps/v1", "Deployment", "apps", "deployments"),
    ("apps/v1", "StatefulSet", "apps", "statefulsets"),
    ("apps/v1", "ReplicaSet", "apps", "replicasets"),
    ("apps/v1", "DaemonSet", "apps", "daemonsets"),
    ("v1", "ReplicationController", "", "replicationcontrollers"),
    ("v1", "PodTemplate", "", "podtemplates"),
];

/// A minimal pod spec that the baseline allows.
pub(super) fn plain_pod_spec() -> Value {
    json!({"containers": [{"name": "main", "image": "busybox", "command": ["true"]}]})
}

/// An object of `kind` carrying `pod_spec` (and `pod_annotations`) wherever that kind keeps it.
pub(super) fn wrap(
    api_version: &str,
    kind: &str,
    pod_spec: Value,
    pod_annotations: Value,
) -> Value {
    let template = json!({"metadata": {"annotations": pod_annotations}, "spec": pod_spec});
    let meta = json!({"name": "x"});
    match kind {
        "Pod" => json!({"apiVersion": api_version, "kind": kind,
            "metadata": {"name": "x", "annotations": pod_annotations}, "spec": pod_spec}),
        "CronJob" => json!({"apiVersion": api_version, "kind": kind, "metadata": meta,
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}}),
        "PodTemplate" => {
            json!({"apiVersion": api_version, "kind": kind, "metadata": meta, "template": template})
        }
        _ => json!({"apiVersion": api_version, "kind": kind, "metadata": meta,
            "spec": {"template": template}}),
    }
}

/// Baseline violations: (what, pod spec, pod annotations, expected message fragment).
fn violations() -> Vec<(&'static str, Value, Value, &'static str)> {
    let c = |sc: Value| json!({"containers": [{"name": "main", "image": "busybox", "securityContext": sc}]});
    let none = json!({});
    vec![
        (
            "privileged",
            c(json!({"privileged": true})),
            none.clone(),
            "privileged containers are not allowed",
        ),
        (
            "privileged init container",
            json!({"containers": [{"name": "m", "image": "b"}], "initContainers": [{"name": "i", "image": "b", "securityContext": {"privileged": true}}]}),
            none.clone(),
            "initContainers[0].securityContext.privileged: true",
        ),
        (
            "privileged ephemeral container",
            json!({"containers": [{"name": "m", "image": "b"}], "ephemeralContainers": [{"name": "d", "image": "b", "securityContext": {"privileged": true}}]}),
            none.clone(),
            "ephemeralContainers[0].securityContext.privileged",
        ),
        (
            "hostPath",
            json!({"containers": [{"name": "m", "image": "b"}], "volumes": [{"name": "ok", "emptyDir": {}}, {"name": "root", "hostPath": {"path": "/"}}]}),
            none.clone(),
            "hostPath volumes are not allowed",
        ),
        (
            "hostNetwork",
            json!({"hostNetwork": true, "containers": [{"name": "m", "image": "b"}]}),
            none.clone(),
            "hostNetwork",
        ),
        (
            "hostPID",
            json!({"hostPID": true, "containers": [{"name": "m", "image": "b"}]}),
            none.clone(),
            "hostPID",
        ),
        (
            "hostIPC",
            json!({"hostIPC": true, "containers": [{"name": "m", "image": "b"}]}),
            none.clone(),
            "hostIPC",
        ),
        (
            "hostPort",
            json!({"containers": [{"name": "m", "image": "b", "ports": [{"containerPort": 80, "hostPort": 80}]}]}),
            none.clone(),
            "host ports are not allowed",
        ),
        (
            "SYS_ADMIN",
            c(json!({"capabilities": {"add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}})),
            none.clone(),
            "capabilities.add[1]: \"SYS_ADMIN\"",
        ),
        (
            "CAP_ prefixed",
            c(json!({"capabilities": {"add": ["CAP_SYS_ADMIN"]}})),
            none.clone(),
            "adding capabilities",
        ),
        (
            "procMount",
            c(json!({"procMount": "Unmasked"})),
            none.clone(),
            "procMount",
        ),
        (
            "seccomp pod",
            json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [{"name": "m", "image": "b"}]}),
            none.clone(),
            "seccomp profile",
        ),
        (
            "seccomp container",
            c(json!({"seccompProfile": {"type": "Unconfined"}})),
            none.clone(),
            "seccomp profile",
        ),
        (
            "seccomp annotation",
            plain_pod_spec(),
            json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}),
            "unconfined seccomp",
        ),
        (
            "SELinux type",
            c(json!({"seLinuxOptions": {"type": "spc_t"}})),
            none.clone(),
            "SELinux type",
        ),
        (
            "SELinux user",
            json!({"securityContext": {"seLinuxOptions": {"user": "system_u"}}, "containers": [{"name": "m", "image": "b"}]}),
            none.clone(),
            "SELinux user",
        ),
        (
            "SELinux role",
            c(json!({"seLinuxOptions": {"role": "sysadm_r"}})),
            none.clone(),
            "SELinux role",
        ),
        (
            "AppArmor field",
            c(json!({"appArmorProfile": {"type": "Unconfined"}})),
            none.clone(),
            "AppArmor profile",
        ),
        (
            "AppArmor pod field",
            json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}, "containers": [{"name": "m", "image": "b"}]}),
            none.clone(),
            "AppArmor profile",
        ),
        (
            "AppArmor annotation",
            plain_pod_spec(),
            json!({"container.apparmor.security.beta.kubernetes.io/main": "unconfined"}),
            "AppArmor annotation",
        ),
        (
            "unsafe sysctl",
            json!({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}, {"name": "kernel.msgmax", "value": "1"}]}, "containers": [{"name": "m", "image": "b"}]}),
            none.clone(),
            "sysctls[1].name: \"kernel.msgmax\"",
        ),
        (
            "windows hostProcess",
            json!({"securityContext": {"windowsOptions": {"hostProcess": true}}, "containers": [{"name": "m", "image": "b"}]}),
            none.clone(),
            "HostProcess",
        ),
        (
            "windows hostProcess container",
            c(json!({"windowsOptions": {"hostProcess": true}})),
            none.clone(),
            "HostProcess",
        ),
        (
            "probe host",
            json!({"containers": [{"name": "m", "image": "b", "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}}}]}),
            none.clone(),
            "probes may not name a host",
        ),
        (
            "hook host",
            json!({"containers": [{"name": "m", "image": "b", "lifecycle": {"preStop": {"tcpSocket": {"host": "metadata", "port": 80}}}}]}),
            none.clone(),
            "lifecycle hooks",
        ),
        (
            "nodeName",
            json!({"nodeName": "node-1", "containers": [{"name": "m", "image": "b"}]}),
            none.clone(),
            "spec.nodeName is not allowed",
        ),
    ]
}

#[test]
fn baseline_denies_every_violation_in_every_kind() {
    let set = shipped();
    for (what, spec, annotations, fragment) in violations() {
        for (api_version, kind, group, resource) in POD_KINDS {
            let object = wrap(api_version, kind, spec.clone(), annotations.clone());
            for verb in ["create", "update", "patch"] {
                if what == "nodeName" && *kind == "Pod" && verb != "create" {
                    continue;
                }
                let t = target(verb, group, resource);
                assert!(set.matches(&t, &alice()), "{what}: {kind} {verb} matches");
                let eval = set.evaluate(&t, &alice(), object.clone());
                let denied = eval
                    .denied
                    .unwrap_or_else(|| panic!("{what}: {kind} {verb} must be denied"));
                assert!(
                    denied.contains(fragment),
                    "{what}: {kind} {verb}: {denied:?} lacks {fragment:?}"
                );
                let policy = if what == "nodeName" {
                    "no-node-name"
                } else {
                    "pod-security-baseline"
                };
                assert!(
                    denied.starts_with(&format!("policy {policy}: ")),
                    "{denied}"
                );
            }
        }
    }
}

#[test]
fn baseline_allows_what_the_profile_allows() {
    let set = shipped();
    let c = |sc: Value| json!({"containers": [{"name": "main", "image": "busybox", "securityContext": sc}]});
    let allowed = [
        ("plain", plain_pod_spec(), json!({})),
        (
            "privileged false",
            c(json!({"privileged": false, "allowPrivilegeEscalation": false})),
            json!({}),
        ),
        (
            "baseline caps",
            c(
                json!({"capabilities": {"add": ["CHOWN", "NET_BIND_SERVICE", "SYS_CHROOT"], "drop": ["ALL"]}}),
            ),
            json!({}),
        ),
        (
            "hostPort 0",
            json!({"containers": [{"name": "m", "image": "b", "ports": [{"containerPort": 80, "hostPort": 0}]}]}),
            json!({}),
        ),
        (
            "safe sysctls",
            json!({"securityContext": {"sysctls": [{"name": "net.ipv4.ping_group_range", "value": "0 1"}]}, "containers": [{"name": "m", "image": "b"}]}),
            json!({}),
        ),
        (
            "seccomp default",
            c(json!({"seccompProfile": {"type": "RuntimeDefault"}})),
            json!({}),
        ),
        (
            "seccomp localhost",
            json!({"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}, "containers": [{"name": "m", "image": "b"}]}),
            json!({}),
        ),
        (
            "apparmor annotation",
            plain_pod_spec(),
            json!({"container.apparmor.security.beta.kubernetes.io/main": "localhost/k8s-default"}),
        ),
        (
            "selinux container_t",
            c(json!({"seLinuxOptions": {"type": "container_t", "level": "s0:c1,c2"}})),
            json!({}),
        ),
        (
            "procMount Default",
            c(json!({"procMount": "Default"})),
            json!({}),
        ),
        (
            "empty probe host",
            json!({"containers": [{"name": "m", "image": "b", "readinessProbe": {"httpGet": {"host": "", "port": 80}}}]}),
            json!({}),
        ),
        (
            "hostNetwork false",
            json!({"hostNetwork": false, "hostPID": false, "containers": [{"name": "m", "image": "b"}]}),
            json!({}),
        ),
        (
            "other volumes",
            json!({"containers": [{"name": "m", "image": "b"}], "volumes": [{"name": "e", "emptyDir": {}}, {"name": "c", "configMap": {"name": "x"}}]}),
            json!({}),
        ),
    ];
    for (what, spec, annotations) in allowed {
        for (api_version, kind, group, resource) in POD_KINDS {
            let object = wrap(api_version, kind, spec.clone(), annotations.clone());
            for verb in ["create", "update", "patch"] {
                let eval = set.evaluate(&target(verb, group, resource), &alice(), object.clone());
                assert_eq!(eval.denied, None, "{what}: {kind} {verb}");
                assert!(eval.warnings.is_empty() && eval.audits.is_empty(), "{what}");
            }
        }
    }
}

#[test]
fn running_pod_with_node_name_can_still_be_updated() {
    let set = shipped();
    let pod = wrap(
        "v1",
        "Pod",
        json!({"nodeName": "node-1", "containers": [{"name": "m", "image": "b"}]}),
        json!({}),
    );
    for verb in ["update", "patch"] {
        let eval = set.evaluate(&target(verb, "", "pods"), &alice(), pod.clone());
        assert_eq!(eval.denied, None, "{verb}");
    }
    let debug = Target {
        subresource: Some("ephemeralcontainers"),
        ..target("update", "", "pods")
    };
    assert!(set.matches(&debug, &alice()));
    let mut privileged = pod.clone();
    privileged["spec"]["ephemeralContainers"] =
        json!([{"name": "d", "image": "b", "securityContext": {"privileged": true}}]);
    assert!(set.evaluate(&debug, &alice(), privileged).denied.is_some());
    assert_eq!(set.evaluate(&debug, &alice(), pod).denied, None);
}

#[test]
fn allowed_pod_changes_only_by_the_username_label_and_annotation() {
    let set = shipped();
    let pod = wrap("v1", "Pod", plain_pod_spec(), json!({"note": "x"}));
    let eval = set.evaluate(&target("create", "", "pods"), &alice(), pod.clone());
    assert_eq!(eval.denied, None);
    assert!(eval.changed);
    let mut expected = pod;
    expected["metadata"]["labels"] = json!({"kbatch.jupyter.org/username": "alice"});
    expected["metadata"]["annotations"]["kbatch.jupyter.org/username"] = json!("alice");
    assert_eq!(eval.object, expected);
}

/// A valid Kubernetes label value.
fn valid_label(v: &str) -> bool {
    let re = regex::Regex::new(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$").expect("regex");
    !v.is_empty() && v.len() <= 63 && re.is_match(v)
}

#[test]
fn username_label_is_always_valid_and_everywhere() {
    let set = shipped();
    let long = "a".repeat(70);
    let long_odd = format!("{}@example.org", "x.".repeat(35));
    let users = [
        "alice",
        "Test.User@Example.org",
        "test.user@example.org",
        long.as_str(),
        long_odd.as_str(),
        "-",
        "ünïcødé user",
        "a--b",
    ];
    for user in users {
        let groups = vec!["g1".to_string(), "g2".to_string()];
        let ns = crate::identity::namespace_for(user);
        let subject = Subject {
            user,
            namespace: &ns,
            groups: &groups,
        };
        let job = wrap("batch/v1", "Job", plain_pod_spec(), json!({}));
        let eval = set.evaluate(&target("create", "batch", "jobs"), &subject, job);
        assert_eq!(eval.denied, None, "{user}");
        let o = &eval.object;
        for meta in [&o["metadata"], &o["spec"]["template"]["metadata"]] {
            let label = meta["labels"]["kbatch.jupyter.org/username"]
                .as_str()
                .unwrap_or_else(|| panic!("{user}: label in {meta}"));
            assert!(valid_label(label), "{user}: {label:?}");
            assert_eq!(label, crate::identity::username_label(user));
            assert_eq!(
                meta["annotations"]["kbatch.jupyter.org/username"],
                json!(user)
            );
        }
        let cron = wrap("batch/v1", "CronJob", plain_pod_spec(), json!({}));
        let eval = set.evaluate(&target("create", "batch", "cronjobs"), &subject, cron);
        let jt = &eval.object["spec"]["jobTemplate"];
        for meta in [
            &eval.object["metadata"],
            &jt["metadata"],
            &jt["spec"]["template"]["metadata"],
        ] {
            assert_eq!(
                meta["labels"]["kbatch.jupyter.org/username"],
                json!(crate::identity::username_label(user)),
                "{user}: {meta}"
            );
        }
    }
}

#[test]
fn username_label_overrides_a_forged_one_and_skips_reviews_and_subresources() {
    let set = shipped();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"kbatch.jupyter.org/username": "bob"}}});
    let eval = set.evaluate(&target("create", "", "configmaps"), &alice(), cm);
    assert_eq!(
        eval.object["metadata"]["labels"]["kbatch.jupyter.org/username"],
        json!("alice")
    );
    assert!(eval.object.get("spec").is_none());
    let ssar = target("create", "authorization.k8s.io", "selfsubjectaccessreviews");
    assert!(!set.matches(&ssar, &alice()));
    let exec = Target {
        subresource: Some("exec"),
        ..target("create", "", "pods")
    };
    assert!(!set.matches(&exec, &alice()));
    for verb in ["get", "list", "watch", "delete"] {
        assert!(!set.matches(&target(verb, "", "pods"), &alice()), "{verb}");
    }
    // Updates and patches keep the label (a server-side apply by the user owns it, so a later
    // apply must carry it too), and may not change or remove it.
    for verb in ["update", "patch"] {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c",
            "labels": {"kbatch.jupyter.org/username": "mallory"}}});
        let eval = set.evaluate(&target(verb, "", "configmaps"), &alice(), cm);
        assert_eq!(
            eval.object["metadata"]["labels"]["kbatch.jupyter.org/username"],
            json!("alice"),
            "{verb}"
        );
        assert!(eval.changed, "{verb}");
        let labelled = eval.object.clone();
        let again = set.evaluate(&target(verb, "", "configmaps"), &alice(), labelled.clone());
        assert!(!again.changed, "{verb}: nothing to do once labelled");
        assert_eq!(again.object, labelled);
    }
}

#[test]
fn job_ttl_added_only_when_missing() {
    let set = shipped();
    // (what, group, resource, object, pointer, expected value there)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Value,
        &'static str,
        Option<Value>,
    );
    let cases: Vec<Case> = vec![
        (
            "job without ttl",
            "batch",
            "jobs",
            wrap("batch/v1", "Job", plain_pod_spec(), json!({})),
            "/spec/ttlSecondsAfterFinished",
            Some(json!(3600)),
        ),
        (
            "job with ttl",
            "batch",
            "jobs",
            {
                let mut j = wrap("batch/v1", "Job", plain_pod_spec(), json!({}));
                j["spec"]["ttlSecondsAfterFinished"] = json!(300);
                j
            },
            "/spec/ttlSecondsAfterFinished",
            Some(json!(300)),
        ),
        (
            "job with ttl 0",
            "batch",
            "jobs",
            {
                let mut j = wrap("batch/v1", "Job", plain_pod_spec(), json!({}));
                j["spec"]["ttlSecondsAfterFinished"] = json!(0);
                j
            },
            "/spec/ttlSecondsAfterFinished",
            Some(json!(0)),
        ),
        (
            "cronjob without ttl",
            "batch",
            "cronjobs",
            wrap("batch/v1", "CronJob", plain_pod_spec(), json!({})),
            "/spec/jobTemplate/spec/ttlSecondsAfterFinished",
            Some(json!(3600)),
        ),
        (
            "cronjob with ttl",
            "batch",
            "cronjobs",
            {
                let mut j = wrap("batch/v1", "CronJob", plain_pod_spec(), json!({}));
                j["spec"]["jobTemplate"]["spec"]["ttlSecondsAfterFinished"] = json!(60);
                j
            },
            "/spec/jobTemplate/spec/ttlSecondsAfterFinished",
            Some(json!(60)),
        ),
        (
            "deployment",
            "apps",
            "deployments",
            wrap("apps/v1", "Deployment", plain_pod_spec(), json!({})),
            "/spec/ttlSecondsAfterFinished",
            None,
        ),
        (
            "pod",
            "",
            "pods",
            wrap("v1", "Pod", plain_pod_spec(), json!({})),
            "/spec/ttlSecondsAfterFinished",
            None,
        ),
    ];
    for (what, group, resource, object, pointer, want) in cases {
        let eval = set.evaluate(&target("create", group, resource), &alice(), object);
        assert_eq!(eval.denied, None, "{what}");
        assert_eq!(eval.object.pointer(pointer).cloned(), want, "{what}");
    }
}

#[test]
fn every_shipped_file_loads_with_its_policies() {
    let set = shipped();
    assert_eq!(
        set.files(),
        [
            "control-plane-nodes.yaml",
            "job-ttl.yaml",
            "pod-disruption-budgets.yaml",
            "pod-security-baseline.yaml",
            "priority-class.yaml",
            "service-account-tokens.yaml",
            "services.yaml",
            "username.yaml",
            "volume-claims.yaml",
        ]
    );
    assert_eq!(
        set.names(),
        [
            "control-plane-nodes",
            "job-ttl",
            "pod-disruption-budgets",
            "pod-security-baseline",
            "no-node-name",
            "no-pod-binding",
            "priority-class",
            "service-account-tokens",
            "services",
            "username",
            "volume-claims",
        ]
    );
    // Each file also loads on its own.
    for file in set.files() {
        let text = std::fs::read_to_string(shipped_dir().join(file)).expect("read");
        assert!(!PolicySet::from_yaml(file, &text).expect(file).is_empty());
    }
}

/// One policy from YAML.
fn one(yaml: &str) -> Result<PolicySet, PolicyError> {
    PolicySet::from_yaml("test.yaml", yaml)
}

#[test]
fn invalid_policies_are_rejected_with_the_reason() {
    let cases = [
        ("no resources", "name: a\nmatch: {}\ndeny: [{message: m}]", "match.resources is required"),
        ("typo in a rule", "name: a\nmatch: {resources: [pods]}\ndeny: [{path: spec.x, notOneof: [1], message: m}]", "unknown field `notOneof`"),
        ("typo in match", "name: a\nmatch: {resource: [pods]}\ndeny: [{message: m}]", "unknown field `resource`"),
        ("two conditions", "name: a\nmatch: {resources: [pods]}\ndeny: [{path: spec.x, present: true, equals: 1, message: m}]", "exactly one condition"),
        ("no condition", "name: a\nmatch: {resources: [pods]}\ndeny: [{path: spec.x, message: m}]", "needs a condition"),
        ("condition without path", "name: a\nmatch: {resources: [pods]}\ndeny: [{equals: 1, message: m}]", "needs a path"),
        ("bad regex", "name: a\nmatch: {resources: [pods]}\ndeny: [{path: spec.x, matches: '(', message: m}]", "invalid regex"),
        ("bad path", "name: a\nmatch: {resources: [pods]}\ndeny: [{path: 'spec..x', present: true, message: m}]", "invalid key"),
        ("bad alias", "name: a\nmatch: {resources: [pods]}\ndeny: [{path: $pod.x, present: true, message: m}]", "unknown alias $pod"),
        ("empty message", "name: a\nmatch: {resources: [pods]}\ndeny: [{message: ' '}]", "needs a message"),
        ("nothing to do", "name: a\nmatch: {resources: [pods]}", "needs mutate or deny"),
        ("bad mode", "name: a\nmode: block\nmatch: {resources: [pods]}\ndeny: [{message: m}]", "unknown variant `block`"),
        ("bad op", "name: a\nmatch: {resources: [pods]}\nmutate: [{op: merge, path: /a, value: 1}]", "mutate[0]"),
        ("unknown op key", "name: a\nmatch: {resources: [pods]}\nmutate: [{op: add, path: /a, value: 1, when: x}]", "unknown key \"when\""),
        ("not a pointer", "name: a\nmatch: {resources: [pods]}\nmutate: [{op: add, path: a/b, value: 1}]", "mutate[0]"),
        ("ifAbsent on remove", "name: a\nmatch: {resources: [pods]}\nmutate: [{op: remove, path: /a, ifAbsent: true}]", "only allowed on add"),
        ("append is not idempotent", "name: a\nmatch: {resources: [pods]}\nmutate: [{op: add, path: $podSpec/tolerations/-, value: {key: k}}]", "not idempotent"),
        ("copy grows", "name: a\nmatch: {resources: [pods]}\nmutate: [{op: copy, from: /metadata, path: /metadata/copy}]", "not idempotent"),
        ("duplicate names", "- name: a\n  match: {resources: [pods]}\n  deny: [{message: m}]\n- name: a\n  match: {resources: [pods]}\n  deny: [{message: m}]", "duplicate policy name"),
        ("empty exclude", "name: a\nmatch: {resources: [pods]}\nexclude: {}\ndeny: [{message: m}]", "exclude needs at least one field"),
        ("not yaml", "name: [", "test.yaml"),
    ];
    for (what, yaml, fragment) in cases {
        let err = one(yaml)
            .err()
            .unwrap_or_else(|| panic!("{what}: must fail"));
        assert!(err.to_string().contains(fragment), "{what}: {err}");
    }
}

#[test]
fn multi_document_and_list_files() {
    let yaml = "---\nname: a\nmatch: {resources: [pods]}\ndeny: [{message: m}]\n---\n---\n- name: b\n  match: {resources: [pods]}\n  deny: [{message: m}]\n- name: c\n  match: {resources: [pods]}\n  deny: [{message: m}]\n";
    assert_eq!(one(yaml).expect("loads").names(), ["a", "b", "c"]);
    assert!(one("").expect("empty file").is_empty());
    // The same name in two files is refused too.
    let files = vec![
        (
            "1.yaml".to_string(),
            "name: a\nmatch: {resources: [pods]}\ndeny: [{message: m}]".to_string(),
        ),
        (
            "2.yaml".to_string(),
            "name: a\nmatch: {resources: [jobs]}\ndeny: [{message: m}]".to_string(),
        ),
    ];
    let err = PolicySet::from_files(&files).expect_err("duplicate");
    assert!(err.to_string().contains("2.yaml"), "{err}");
}

#[test]
fn matching_on_verbs_groups_resources_subresources_and_hub_groups() {
    let set = one(
        "name: p\nmatch:\n  verbs: [create]\n  apiGroups: [batch]\n  resources: ['cron*']\n  groups: [students, 'course-*']\nexclude:\n  groups: [staff]\ndeny: [{message: no}]",
    )
    .expect("loads");
    let g = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let cases: Vec<(&str, Target, Vec<String>, bool)> = vec![
        (
            "student",
            target("create", "batch", "cronjobs"),
            g(&["students"]),
            true,
        ),
        (
            "glob group",
            target("create", "batch", "cronjobs"),
            g(&["x", "course-101"]),
            true,
        ),
        (
            "no group",
            target("create", "batch", "cronjobs"),
            g(&[]),
            false,
        ),
        (
            "excluded",
            target("create", "batch", "cronjobs"),
            g(&["students", "staff"]),
            false,
        ),
        (
            "verb",
            target("update", "batch", "cronjobs"),
            g(&["students"]),
            false,
        ),
        (
            "api group",
            target("create", "apps", "cronjobs"),
            g(&["students"]),
            false,
        ),
        (
            "resource",
            target("create", "batch", "jobs"),
            g(&["students"]),
            false,
        ),
        (
            "subresource",
            Target {
                subresource: Some("status"),
                ..target("create", "batch", "cronjobs")
            },
            g(&["students"]),
            false,
        ),
    ];
    for (what, t, groups, want) in cases {
        let s = Subject {
            user: "u",
            namespace: "kbatch-u",
            groups: &groups,
        };
        assert_eq!(set.matches(&t, &s), want, "{what}");
        let eval = set.evaluate(&t, &s, json!({}));
        assert_eq!(eval.denied.is_some(), want, "{what}");
        if want {
            assert_eq!(eval.denied.as_deref(), Some("policy p: no"));
        }
    }
    // Subresource wildcard: exec arrives as create of pods/exec.
    let set = one("name: no-exec\nmatch: {verbs: [create], resources: [pods], subresources: [exec, attach]}\ndeny: [{message: exec is disabled}]").expect("loads");
    let exec = Target {
        subresource: Some("exec"),
        ..target("create", "", "pods")
    };
    assert!(set.matches(&exec, &alice()));
    assert!(!set.matches(&target("create", "", "pods"), &alice()));
    let any = one("name: any\nmatch: {verbs: ['*'], resources: ['*'], subresources: ['*']}\ndeny: [{message: m}]").expect("loads");
    assert!(any.matches(&exec, &alice()) && any.matches(&target("get", "x", "y"), &alice()));
    assert!(!PolicySet::empty().matches(&exec, &alice()));
}

#[test]
fn conditions_fire_as_documented() {
    let object = json!({"kind": "Pod", "spec": {
        "n": 5, "s": "abc", "b": true, "nul": null, "num_s": "7", "list": [1, 2, 3],
        "containers": [
            {"name": "a", "securityContext": {"runAsUser": 0}},
            {"name": "b", "securityContext": {"runAsUser": 1000}},
            {"name": "c"}
        ],
        "initContainers": [{"name": "i", "securityContext": {"runAsUser": 0}}]
    }});
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        ("spec.n", "present: true", vec!["spec.n: 5"]),
        ("spec.missing", "present: true", vec![]),
        ("spec.nul", "present: true", vec![]),
        ("spec.nul", "absent: true", vec!["spec.nul"]),
        ("spec.missing", "absent: true", vec!["spec.missing"]),
        ("spec.n", "absent: true", vec![]),
        ("spec.n", "equals: 5.0", vec!["spec.n: 5"]),
        ("spec.s", "equals: abc", vec!["spec.s: \"abc\""]),
        ("spec.b", "equals: true", vec!["spec.b: true"]),
        ("spec.b", "equals: 'true'", vec![]),
        ("spec.s", "oneOf: [x, abc]", vec!["spec.s: \"abc\""]),
        ("spec.s", "oneOf: [x]", vec![]),
        ("spec.s", "notOneOf: [x]", vec!["spec.s: \"abc\""]),
        ("spec.missing", "notOneOf: [x]", vec![]),
        ("spec.s", "matches: '^a'", vec!["spec.s: \"abc\""]),
        ("spec.n", "matches: '^5$'", vec!["spec.n: 5"]),
        ("spec.s", "notMatches: '^a'", vec![]),
        ("spec.list", "notMatches: '.*'", vec!["spec.list: [1,2,3]"]),
        ("spec.n", "max: 4", vec!["spec.n: 5"]),
        ("spec.n", "min: 6", vec!["spec.n: 5"]),
        ("spec.n", "{min: 1, max: 5}", vec![]),
        ("spec.num_s", "max: 6", vec!["spec.num_s: \"7\""]),
        ("spec.s", "max: 6", vec!["spec.s: \"abc\""]),
        ("spec.missing", "max: 6", vec![]),
        ("spec.list[*]", "min: 2", vec!["spec.list[0]: 1"]),
        ("spec.list[2]", "equals: 3", vec!["spec.list[2]: 3"]),
        ("spec.list.*", "oneOf: [2]", vec!["spec.list[1]: 2"]),
        (
            "$containers.securityContext.runAsUser",
            "equals: 0",
            vec![
                "spec.containers[0].securityContext.runAsUser: 0",
                "spec.initContainers[0].securityContext.runAsUser: 0",
            ],
        ),
        (
            "$containers.securityContext.runAsUser",
            "absent: true",
            vec!["spec.containers[2].securityContext.runAsUser"],
        ),
        (
            "$podSpec.containers[*].name",
            "oneOf: [b]",
            vec!["spec.containers[1].name: \"b\""],
        ),
        ("$jobSpec.x", "absent: true", vec![]),
    ];
    for (path, condition, want) in cases {
        let yaml = format!(
            "name: p\nmatch: {{resources: ['*']}}\ndeny:\n  - path: '{path}'\n    message: m\n    {}\n",
            if condition.starts_with('{') {
                condition.trim_matches(|c| c == '{' || c == '}').replace(", ", "\n    ")
            } else {
                condition.to_string()
            }
        );
        let set = one(&yaml).unwrap_or_else(|e| panic!("{path} {condition}: {e}"));
        let eval = set.evaluate(&target("create", "", "pods"), &alice(), object.clone());
        let expected = if want.is_empty() {
            None
        } else {
            Some(format!("policy p: m ({})", want.join(", ")))
        };
        assert_eq!(eval.denied, expected, "{path} {condition}");
    }
}

#[test]
fn quoted_and_glob_keys() {
    let object = json!({"kind": "Job", "metadata": {"annotations": {"a.b/c": "1", "a.b/d": "2", "x": "3"}},
        "spec": {"template": {"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/m": "unconfined"}}}}});
    let cases = [
        ("metadata.annotations[\"a.b/c\"]", "metadata.annotations[\"a.b/c\"]: \"1\""),
        ("metadata.annotations['a.b/*']", "metadata.annotations[\"a.b/c\"]: \"1\", metadata.annotations[\"a.b/d\"]: \"2\""),
        ("$podMetadata.annotations[\"container.apparmor.security.beta.kubernetes.io/*\"]",
            "spec.template.metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/m\"]: \"unconfined\""),
    ];
    for (path, want) in cases {
        let yaml = format!("name: p\nmatch: {{resources: ['*']}}\ndeny: [{{path: '{}', present: true, message: m}}]", path.replace('\'', "''"));
        let set = one(&yaml).unwrap_or_else(|e| panic!("{path}: {e}"));
        let eval = set.evaluate(&target("create", "batch", "jobs"), &alice(), object.clone());
        assert_eq!(eval.denied, Some(format!("policy p: m ({want})")), "{path}");
    }
    for bad in ["a[", "a[x]", "a['x'", "a.", "a b", "[1"] {
        assert!(path::RulePath::parse(bad).is_err(), "{bad}");
    }
    for (pattern, text, want) in [
        ("a*c", "abc", true),
        ("a*c", "ac", true),
        ("a*c", "ab", false),
        ("*x*", "yxy", true),
        ("a*b*c", "acb", false),
        ("abc", "abc", true),
    ] {
        assert_eq!(path::glob_match(pattern, text), want, "{pattern} {text}");
    }
}

#[test]
fn lenient_patch_semantics_and_placeholders() {
    let groups = vec!["g1".to_string(), "g2".to_string()];
    let subject = Subject {
        user: "Test.User@Example.org",
        namespace: "kbatch-x",
        groups: &groups,
    };
    let cases: Vec<(&str, &str, Value, Value)> = vec![
        ("add creates parents", "[{op: add, path: /metadata/labels/a~1b, value: '{username_label}'}]",
            json!({}), json!({"metadata": {"labels": {"a/b": "Test.User-Example.org--b9548c8"}}})),
        ("add over null", "[{op: add, path: /metadata/labels/x, value: 1}]",
            json!({"metadata": {"labels": null}}), json!({"metadata": {"labels": {"x": 1}}})),
        ("placeholders", "[{op: add, path: /x, value: {u: '{username}', n: 'ns={namespace}', g: ['{groups}'], k: '{unknown}'}}]",
            json!({}), json!({"x": {"u": "Test.User@Example.org", "n": "ns=kbatch-x", "g": ["g1,g2"], "k": "{unknown}"}})),
        ("remove missing is a no-op", "[{op: remove, path: /spec/nothing/here}]", json!({"a": 1}), json!({"a": 1})),
        ("remove present", "[{op: remove, path: /a}]", json!({"a": 1, "b": 2}), json!({"b": 2})),
        ("replace missing adds", "[{op: replace, path: /spec/x, value: 2}]", json!({}), json!({"spec": {"x": 2}})),
        ("replace array element", "[{op: replace, path: /l/0, value: 9}]", json!({"l": [1, 2]}), json!({"l": [9, 2]})),
        ("ifAbsent keeps", "[{op: add, path: /x, value: 1, ifAbsent: true}]", json!({"x": 0}), json!({"x": 0})),
        ("ifAbsent fills", "[{op: add, path: /x, value: 1, ifAbsent: true}]", json!({"x": null}), json!({"x": 1})),
        ("test guard passes", "[{op: test, path: /kind, value: Pod}, {op: add, path: /x, value: 1}]", json!({"kind": "Pod"}), json!({"kind": "Pod", "x": 1})),
        ("test guard skips all", "[{op: add, path: /y, value: 1}, {op: test, path: /kind, value: Job}, {op: add, path: /x, value: 1}]", json!({"kind": "Pod"}), json!({"kind": "Pod"})),
        ("move", "[{op: move, from: /a, path: /b/c}]", json!({"a": 1}), json!({"b": {"c": 1}})),
        ("alias on each kind", "[{op: add, path: $podSpec/priorityClassName, value: low}]",
            json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}}),
            json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"priorityClassName": "low"}}}}}})),
        ("alias absent for other kinds", "[{op: add, path: $podSpec/priorityClassName, value: low}]",
            json!({"kind": "ConfigMap"}), json!({"kind": "ConfigMap"})),
        ("root alias path", "[{op: add, path: $jobMetadata, value: {labels: {a: b}}}]",
            json!({"kind": "Job"}), json!({"kind": "Job", "metadata": {"labels": {"a": "b"}}})),
    ];
    for (what, ops, object, want) in cases {
        let yaml = format!("name: p\nmatch: {{resources: ['*']}}\nmutate: {ops}");
        let set = one(&yaml).unwrap_or_else(|e| panic!("{what}: {e}"));
        // The URL decides the shape: send each object to its kind's endpoint.
        let (group, resource) = match object.get("kind").and_then(Value::as_str) {
            Some("CronJob") => ("batch", "cronjobs"),
            Some("Job") => ("batch", "jobs"),
            Some("ConfigMap") => ("", "configmaps"),
            _ => ("", "pods"),
        };
        let eval = set.evaluate(&target("create", group, resource), &subject, object.clone());
        assert_eq!(eval.denied, None, "{what}");
        assert_eq!(eval.changed, want != object, "{what}");
        assert_eq!(eval.object, want, "{what}");
    }
    assert_eq!(
        crate::identity::username_label("Test.User@Example.org"),
        "Test.User-Example.org--b9548c8"
    );
}

#[test]
fn failed_mutation_follows_the_mode_and_deny_sees_the_mutated_object() {
    let set = one(
        "- name: fix\n  match: {resources: [pods]}\n  mutate: [{op: add, path: /spec/containers/0/securityContext/privileged, value: false}]\n- name: no-priv\n  match: {resources: [pods]}\n  deny: [{path: $containers.securityContext.privileged, equals: true, message: no}]",
    )
    .expect("loads");
    let pod = json!({"kind": "Pod", "spec": {"containers": [{"name": "m", "securityContext": {"privileged": true}}]}});
    let eval = set.evaluate(&target("create", "", "pods"), &alice(), pod);
    assert_eq!(eval.denied, None, "the mutation runs before the deny rules");
    assert!(eval.changed);
    for (mode, denied, warned, audited) in [
        ("enforce", true, false, false),
        ("warn", false, true, false),
        ("audit", false, false, true),
    ] {
        let set = one(&format!(
            "name: m\nmode: {mode}\nmatch: {{resources: ['*']}}\nmutate: [{{op: move, from: /a, path: /b}}]"
        ))
        .expect("loads");
        let eval = set.evaluate(&target("create", "", "pods"), &alice(), json!({"x": 1}));
        assert_eq!(eval.denied.is_some(), denied, "{mode}");
        assert_eq!(!eval.warnings.is_empty(), warned, "{mode}");
        assert_eq!(!eval.audits.is_empty(), audited, "{mode}");
        let finding = eval
            .denied
            .or(eval.warnings.first().cloned())
            .or(eval.audits.first().cloned());
        assert!(
            finding.is_some_and(|f| f.starts_with("policy m: mutation failed: move")),
            "{mode}"
        );
        assert_eq!(eval.object, json!({"x": 1}));
    }
    let set = one("name: m\nmatch: {resources: ['*']}\nmutate: [{op: add, path: /a/b, value: 1}]")
        .expect("loads");
    let eval = set.evaluate(
        &target("create", "", "pods"),
        &alice(),
        json!({"a": "scalar"}),
    );
    assert!(eval.denied.is_some_and(|d| d.contains("below a scalar")));
}

#[test]
fn modes_warn_and_audit() {
    let set = one(
        "- name: w\n  mode: warn\n  match: {resources: [pods]}\n  mutate: [{op: add, path: /metadata/labels/w, value: 'y'}]\n  deny: [{path: spec.x, present: true, message: x is deprecated}]\n- name: a\n  mode: audit\n  match: {resources: [pods]}\n  mutate: [{op: add, path: /metadata/labels/a, value: 'y'}]\n  deny: [{path: spec.x, present: true, message: x seen}]\n- name: e\n  match: {resources: [pods]}\n  deny: [{path: spec.y, present: true, message: y refused}, {path: spec.z, present: true, message: z refused}]",
    )
    .expect("loads");
    let eval = set.evaluate(
        &target("create", "", "pods"),
        &alice(),
        json!({"spec": {"x": 1}}),
    );
    assert_eq!(eval.denied, None);
    assert_eq!(eval.warnings, ["policy w: x is deprecated (spec.x: 1)"]);
    assert_eq!(
        eval.audits,
        [
            "policy a: would mutate the object",
            "policy a: x seen (spec.x: 1)"
        ]
    );
    assert_eq!(
        eval.object,
        json!({"spec": {"x": 1}, "metadata": {"labels": {"w": "y"}}}),
        "audit mutations are not applied"
    );
    let eval = set.evaluate(
        &target("create", "", "pods"),
        &alice(),
        json!({"spec": {"y": 1, "z": 2}}),
    );
    assert_eq!(
        eval.denied.as_deref(),
        Some("policy e: y refused (spec.y: 1); policy e: z refused (spec.z: 2)")
    );
}

#[test]
fn kind_is_taken_from_the_resource_when_the_body_has_none() {
    let set = shipped();
    let job = json!({"spec": {"template": {"spec": {"containers": [{"name": "m", "image": "b", "securityContext": {"privileged": true}}]}}}});
    let eval = set.evaluate(&target("create", "batch", "jobs"), &alice(), job);
    assert!(eval
        .denied
        .is_some_and(|d| d.contains("spec.template.spec.containers[0]")));
    for (group, kind, resource) in [
        ("", "Pod", "pods"),
        ("apps", "Deployment", "deployments"),
        ("batch", "CronJob", "cronjobs"),
        ("", "Foo", "foos"),
        ("x.io", "Policy", "policies"),
        ("", "Ingress", "ingresses"),
        ("networking.k8s.io", "NetworkPolicy", "networkpolicies"),
    ] {
        assert_eq!(kinds::resource_for_kind(group, kind), resource);
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

#[test]
fn reload_picks_up_changes_and_keeps_the_old_set_on_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a.yaml",
        "name: a\nmatch: {resources: [pods]}\ndeny: [{message: m}]",
    );
    write(dir.path(), "ignored.txt", "not a policy");
    write(dir.path(), ".hidden.yaml", "not: [valid");
    let policies = Policies::new(PolicySource::Dir(dir.path().to_path_buf())).expect("loads");
    assert_eq!(policies.current().names(), ["a"]);
    assert_eq!(policies.reload_now().expect("same"), Reload::Unchanged);
    let before = policies.current();

    write(
        dir.path(),
        "b.yml",
        "name: b\nmatch: {resources: [jobs]}\ndeny: [{message: m}]",
    );
    assert_eq!(policies.reload_now().expect("new file"), Reload::Loaded);
    assert_eq!(policies.current().names(), ["a", "b"]);
    assert_eq!(
        before.names(),
        ["a"],
        "a request's snapshot stays as it was"
    );

    write(
        dir.path(),
        "b.yml",
        "name: b\nmatch: {resources: [jobs]}\ndeny: [{path: x, message: m}]",
    );
    let err = policies.reload_now().expect_err("invalid");
    assert!(err.to_string().contains("b.yml"), "{err}");
    assert_eq!(policies.current().names(), ["a", "b"], "old set kept");
    assert_eq!(
        policies.reload_now().expect("same bad content"),
        Reload::Unchanged
    );

    std::fs::remove_file(dir.path().join("b.yml")).expect("rm");
    write(
        dir.path(),
        "a.yaml",
        "name: a2\nmatch: {resources: [pods]}\ndeny: [{message: m}]",
    );
    assert_eq!(policies.reload_now().expect("fixed"), Reload::Loaded);
    assert_eq!(policies.current().names(), ["a2"]);

    assert!(Policies::new(PolicySource::Dir(dir.path().join("missing"))).is_err());
    let none = Policies::new(PolicySource::Off).expect("none");
    assert!(none.current().is_empty());
    assert_eq!(none.reload_now().expect("none"), Reload::Unchanged);
}

#[tokio::test]
async fn spawned_reload_follows_the_directory_until_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "p.yaml",
        "name: one\nmatch: {resources: [pods]}\ndeny: [{message: m}]",
    );
    let policies = std::sync::Arc::new(
        Policies::new(PolicySource::Dir(dir.path().to_path_buf())).expect("loads"),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    policies.spawn_reload(Duration::from_millis(20), async {
        let _ = stopped.await;
    });
    write(
        dir.path(),
        "p.yaml",
        "name: two\nmatch: {resources: [pods]}\ndeny: [{message: m}]",
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while policies.current().names() != ["two"] {
        assert!(tokio::time::Instant::now() < deadline, "reload not seen");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    write(dir.path(), "p.yaml", "broken: [");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(policies.current().names(), ["two"]);
    let _ = stop.send(());
    tokio::time::sleep(Duration::from_millis(50)).await;
    write(
        dir.path(),
        "p.yaml",
        "name: three\nmatch: {resources: [pods]}\ndeny: [{message: m}]",
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        policies.current().names(),
        ["two"],
        "no reload after shutdown"
    );
}

/// A ConfigMap volume: files are links into `..data`, which is swapped atomically.
#[cfg(unix)]
#[test]
fn reload_follows_configmap_symlink_swaps() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir(d.join("..v1")).expect("mkdir");
    write(
        &d.join("..v1"),
        "p.yaml",
        "name: v1\nmatch: {resources: [pods]}\ndeny: [{message: m}]",
    );
    symlink("..v1", d.join("..data")).expect("link");
    symlink("..data/p.yaml", d.join("p.yaml")).expect("link");
    let policies = Policies::new(PolicySource::Dir(d.to_path_buf())).expect("loads");
    assert_eq!(policies.current().names(), ["v1"]);
    std::fs::create_dir(d.join("..v2")).expect("mkdir");
    write(
        &d.join("..v2"),
        "p.yaml",
        "name: v2\nmatch: {resources: [pods]}\ndeny: [{message: m}]",
    );
    symlink("..v2", d.join("..data_tmp")).expect("link");
    std::fs::rename(d.join("..data_tmp"), d.join("..data")).expect("swap");
    assert_eq!(policies.reload_now().expect("reload"), Reload::Loaded);
    assert_eq!(policies.current().names(), ["v2"]);
}

#[test]
fn proxy_flags() {
    use clap::Parser;
    let a = crate::config::Args::try_parse_from([
        "kbatch-proxy",
        "--policies-dir",
        "/p",
        "--policy-reload-interval",
        "0",
    ])
    .expect("parse");
    assert_eq!(a.policy.policies_dir, Some(PathBuf::from("/p")));
    assert!(a.policy.reload_interval().is_zero());
    let d = crate::config::Args::try_parse_from(["kbatch-proxy"]).expect("parse");
    assert_eq!(d.policy.reload_interval(), Duration::from_secs(10));
    assert_eq!(
        PolicyArgs::default().policy_reload_interval,
        d.policy.policy_reload_interval
    );
}
