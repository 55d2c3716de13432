//! Tests that policies judge exactly the object kube-apiserver will decode: the shape (where
//! `$podSpec` points) comes from the request's URL, never from the body's `kind`; every
//! pod-carrying endpoint (resources and subresources) is judged by the shipped policies; the
//! built-in set is the `policies/` directory.

use serde_json::{json, Value};

use super::kinds::Shape;
use super::tests::{alice, plain_pod_spec, shipped, shipped_dir, target, wrap, POD_KINDS};
use super::*;

/// A pod spec the baseline refuses twice (privileged, hostNetwork) and no-node-name once.
fn hostile_pod_spec() -> Value {
    json!({
        "nodeName": "control-plane-1",
        "hostNetwork": true,
        "containers": [{"name": "m", "image": "b", "securityContext": {"privileged": true}}],
    })
}

/// Where `kind` keeps its pod spec, as the message names it.
fn pod_spec_place(kind: &str) -> &'static str {
    match kind {
        "Pod" => "spec.",
        "CronJob" => "spec.jobTemplate.spec.template.spec.",
        "PodTemplate" => "template.spec.",
        _ => "spec.template.spec.",
    }
}

fn at<'a>(
    verb: &'a str,
    group: &'a str,
    resource: &'a str,
    subresource: Option<&'a str>,
) -> Target<'a> {
    Target {
        subresource,
        ..target(verb, group, resource)
    }
}

/// Regression (issue "Policies judge exactly the object kube-apiserver will decode"): a
/// pod-carrying body sent with `kind: Secret`, `kind: ConfigMap`, a lower-case kind or no
/// kind at all is judged as the endpoint's kind, as kube-apiserver decodes it.
#[test]
fn regression_body_kind_does_not_choose_the_shape() {
    let set = shipped();
    for (api_version, kind, group, resource) in POD_KINDS {
        let honest = wrap(api_version, kind, hostile_pod_spec(), json!({}));
        let lower = kind.to_lowercase();
        for disguise in [
            Some(*kind),
            Some("Secret"),
            Some("ConfigMap"),
            Some(lower.as_str()),
            None,
        ] {
            let mut body = honest.clone();
            match disguise {
                Some(k) => body["kind"] = json!(k),
                None => {
                    body.as_object_mut().map(|m| m.remove("kind"));
                }
            }
            let eval = set.evaluate(&target("create", group, resource), &alice(), body);
            let denied = eval.denied.unwrap_or_else(|| {
                panic!("{kind} sent as {disguise:?} to {resource} must be denied")
            });
            let place = format!(
                "({}containers[0].securityContext.privileged: true)",
                pod_spec_place(kind)
            );
            assert!(
                denied.contains("policy pod-security-baseline: privileged containers")
                    && denied.contains(&place)
                    && denied.contains("policy no-node-name: "),
                "{kind} as {disguise:?}: {denied}"
            );
        }
    }
}

/// The other way round: a body that says `kind: Pod` sent to a resource without a pod spec
/// gets no pod-spec rules (the API server decodes it as that resource's kind).
#[test]
fn regression_body_kind_pod_does_not_make_a_configmap_a_pod() {
    let set = PolicySet::from_yaml(
        "t.yaml",
        "name: p\nmatch: {resources: ['*']}\ndeny: [{path: $podSpec.hostNetwork, equals: true, message: no}]",
    )
    .expect("loads");
    let pod = wrap("v1", "Pod", hostile_pod_spec(), json!({}));
    for (group, resource) in [("", "configmaps"), ("", "secrets"), ("apps", "foos")] {
        let eval = set.evaluate(&target("create", group, resource), &alice(), pod.clone());
        assert_eq!(eval.denied, None, "{resource}");
    }
    let eval = set.evaluate(&target("create", "", "pods"), &alice(), pod);
    assert!(eval.denied.is_some());
}

#[test]
fn shape_comes_from_group_resource_and_subresource() {
    let cases: &[(&str, &str, Option<&str>, Shape)] = &[
        ("", "pods", None, Shape::Pod),
        ("", "pods", Some("ephemeralcontainers"), Shape::Pod),
        ("", "pods", Some("status"), Shape::Pod),
        ("", "pods", Some("resize"), Shape::Pod),
        ("", "pods", Some("binding"), Shape::Other),
        ("", "pods", Some("eviction"), Shape::Other),
        ("", "pods", Some("exec"), Shape::Other),
        ("batch", "jobs", Some("status"), Shape::Job),
        ("batch", "cronjobs", Some("status"), Shape::CronJob),
        ("apps", "deployments", Some("status"), Shape::Workload),
        ("apps", "deployments", Some("scale"), Shape::Other),
        (
            "apps",
            "deployments",
            Some("ephemeralcontainers"),
            Shape::Other,
        ),
        ("", "replicationcontrollers", Some("scale"), Shape::Other),
        ("", "podtemplates", None, Shape::PodTemplate),
        ("", "secrets", None, Shape::Other),
        ("apps", "pods", None, Shape::Other),
        ("extensions", "deployments", None, Shape::Other),
    ];
    for (group, resource, sub, want) in cases {
        assert_eq!(
            Shape::of_target(group, resource, *sub),
            *want,
            "{group}/{resource}/{sub:?}"
        );
    }
    // The CLI derives the resource from a manifest's kind; both routes agree.
    for (api_version, kind, group, resource) in POD_KINDS {
        let (g, _) = kinds::split_api_version(api_version);
        assert_eq!(kinds::resource_for_kind(g, kind), *resource);
        assert_eq!(
            Shape::of_kind(kind),
            Shape::of_target(group, resource, None)
        );
    }
}

/// What a shipped policy does at one endpoint.
#[derive(Debug, PartialEq)]
enum Judged {
    /// pod-security-baseline (and no-node-name when `node_name`) refuse the hostile spec.
    PodSpec { node_name: bool },
    /// no-pod-binding refuses whatever is sent.
    Binding,
    /// The endpoint carries a Scale or an Eviction: no pod spec, nothing to judge.
    NoPodSpec,
}

/// Every (group, resource, subresource) that carries or changes a pod, or might be thought
/// to, for create/update/patch: which shipped policy judges a privileged / hostNetwork /
/// nodeName body there (the table in policies/README.md).
#[test]
fn every_pod_carrying_endpoint_is_judged() {
    let set = shipped();
    let mut endpoints: Vec<(&str, &str, &str, Option<&str>, Judged)> = Vec::new();
    for (_, kind, group, resource) in POD_KINDS {
        for verb in ["create", "update", "patch"] {
            let pod = *kind == "Pod";
            let node_name = !(pod && verb != "create");
            endpoints.push((verb, group, resource, None, Judged::PodSpec { node_name }));
            endpoints.push((
                verb,
                group,
                resource,
                Some("status"),
                Judged::PodSpec { node_name },
            ));
            endpoints.push((verb, group, resource, Some("scale"), Judged::NoPodSpec));
            if pod {
                endpoints.push((
                    verb,
                    group,
                    resource,
                    Some("ephemeralcontainers"),
                    Judged::PodSpec { node_name },
                ));
                endpoints.push((verb, group, resource, Some("binding"), Judged::Binding));
                endpoints.push((verb, group, resource, Some("eviction"), Judged::NoPodSpec));
            }
        }
    }
    endpoints.push(("create", "", "bindings", None, Judged::Binding));
    assert_eq!(endpoints.len(), 9 * 3 * 3 + 3 * 3 + 1);
    for (verb, group, resource, sub, want) in endpoints {
        let t = at(verb, group, resource, sub);
        let what = format!("{verb} {group}/{resource}/{}", sub.unwrap_or(""));
        let kind = POD_KINDS
            .iter()
            .find(|(_, _, g, r)| *g == group && *r == resource)
            .map_or("Binding", |(_, k, _, _)| *k);
        let api_version = if group.is_empty() {
            "v1".to_string()
        } else {
            format!("{group}/v1")
        };
        let body = wrap(&api_version, kind, hostile_pod_spec(), json!({}));
        let shape = Shape::of_target(group, resource, sub);
        let eval = set.evaluate(&t, &alice(), body.clone());
        match want {
            Judged::PodSpec { node_name } => {
                assert_eq!(shape, Shape::of_kind(kind), "{what}");
                let denied = eval.denied.unwrap_or_else(|| panic!("{what}: not judged"));
                let place = pod_spec_place(kind);
                for fragment in [
                    format!("policy pod-security-baseline: privileged containers are not allowed ({place}containers[0]"),
                    format!("policy pod-security-baseline: sharing the host network (hostNetwork) is not allowed ({place}hostNetwork: true)"),
                ] {
                    assert!(denied.contains(&fragment), "{what}: {denied}");
                }
                assert_eq!(
                    denied.contains(&format!(
                        "policy no-node-name: setting spec.nodeName is not allowed; the scheduler picks the node ({place}nodeName"
                    )),
                    node_name,
                    "{what}: {denied}"
                );
            }
            Judged::Binding => {
                let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "x"}, "target": {"kind": "Node", "name": "control-plane-1"}});
                for object in [binding, json!({}), body] {
                    let eval = set.evaluate(&t, &alice(), object);
                    assert_eq!(
                        eval.denied.as_deref(),
                        Some("policy no-pod-binding: binding a pod to a node is not allowed; the scheduler picks the node"),
                        "{what}"
                    );
                }
            }
            Judged::NoPodSpec => {
                // kube-apiserver decodes a Scale / an Eviction here: whatever pod fields the
                // body carries are not part of that type, so no alias names a pod spec.
                assert_eq!(shape, Shape::Other, "{what}");
                assert_eq!(shape.pod_spec(), None, "{what}");
                assert_eq!(shape.pod_metadata(), None, "{what}");
                assert_eq!(eval.denied, None, "{what}");
            }
        }
    }
}

/// Ephemeral containers added by `kubectl debug` (an update of pods/ephemeralcontainers)
/// are judged in the Pod's shape, whatever `kind` the body claims.
#[test]
fn kubectl_debug_is_judged_as_a_pod() {
    let set = shipped();
    let debug = at("update", "", "pods", Some("ephemeralcontainers"));
    let mut pod = wrap("v1", "Pod", plain_pod_spec(), json!({}));
    pod["spec"]["nodeName"] = json!("node-1");
    assert_eq!(set.evaluate(&debug, &alice(), pod.clone()).denied, None);
    pod["spec"]["ephemeralContainers"] = json!([{"name": "d", "image": "b", "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}]);
    for kind in ["Pod", "EphemeralContainers", "Secret"] {
        pod["kind"] = json!(kind);
        let denied = set.evaluate(&debug, &alice(), pod.clone()).denied;
        assert!(
            denied.as_deref().is_some_and(|d| d.contains(
                "(spec.ephemeralContainers[0].securityContext.capabilities.add[0]: \"SYS_PTRACE\")"
            )),
            "{kind}: {denied:?}"
        );
    }
}

#[test]
fn builtin_set_is_the_policies_directory() {
    let on_disk = reload::read_dir(&shipped_dir()).expect("policies/");
    let embedded: Vec<(String, String)> = builtin::FILES
        .iter()
        .map(|(n, t)| ((*n).to_string(), (*t).to_string()))
        .collect();
    assert_eq!(
        embedded.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        on_disk.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "builtin::FILES must list every file of policies/, in name order"
    );
    assert_eq!(embedded, on_disk, "embedded texts differ from policies/");
    let set = builtin::set().expect("built-in set loads");
    assert_eq!(set.names(), shipped().names());
    assert_eq!(set.files(), shipped().files());
}

#[test]
fn policy_sources_from_the_flag() {
    use std::path::Path;
    assert_eq!(PolicySource::from_flag(None), PolicySource::Builtin);
    assert_eq!(
        PolicySource::from_flag(Some(Path::new("none"))),
        PolicySource::Off
    );
    assert_eq!(
        PolicySource::from_flag(Some(Path::new("./none"))),
        PolicySource::Dir(PathBuf::from("./none"))
    );
    let builtin = Policies::new(PolicySource::Builtin).expect("built-in");
    assert_eq!(builtin.current().names(), shipped().names());
    assert_eq!(
        builtin.reload_now().expect("never reloads"),
        reload::Reload::Unchanged
    );
    assert!(Policies::new(PolicySource::Off)
        .expect("off")
        .current()
        .is_empty());
    use clap::Parser;
    let parse = |args: &[&str]| {
        crate::config::Args::try_parse_from(args)
            .expect("parse")
            .policy
            .source()
    };
    // The environment must not leak into the parse (env = KBATCH_POLICIES_DIR).
    if std::env::var_os("KBATCH_POLICIES_DIR").is_none() {
        assert_eq!(parse(&["kbatch-proxy"]), PolicySource::Builtin);
    }
    assert_eq!(
        parse(&["kbatch-proxy", "--policies-dir", "none"]),
        PolicySource::Off
    );
    assert_eq!(
        parse(&["kbatch-proxy", "--policies-dir", "/p"]),
        PolicySource::Dir(PathBuf::from("/p"))
    );
}
