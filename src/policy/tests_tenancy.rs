//! Tests of the shipped policies that keep one tenant from reaching others or the cluster:
//! Services (externalIPs, LoadBalancer, NodePort), priority classes, control-plane
//! tolerations and node selection, PersistentVolumeClaims bound by name, PodDisruptionBudgets
//! that block every eviction, and service account token Secrets. Each rule is shown firing
//! on a denied example and staying quiet on an allowed one.

use serde_json::{json, Value};

use super::tests::{alice, plain_pod_spec, shipped, target, wrap, POD_KINDS};
use super::*;

/// Judge `object` at `group/resource` (`subresource`) with the shipped set; the denial.
fn judge(
    verb: &str,
    group: &str,
    resource: &str,
    sub: Option<&str>,
    object: Value,
) -> Option<String> {
    let t = Target {
        subresource: sub,
        ..target(verb, group, resource)
    };
    shipped().evaluate(&t, &alice(), object).denied
}

/// Assert a denial by `policy` containing `fragment` on create, update and patch.
fn assert_denied(group: &str, resource: &str, object: &Value, policy: &str, fragment: &str) {
    for verb in ["create", "update", "patch"] {
        let denied = judge(verb, group, resource, None, object.clone());
        assert!(
            denied
                .as_deref()
                .is_some_and(|d| d.contains(&format!("policy {policy}: ")) && d.contains(fragment)),
            "{verb} {resource} {object}: want {policy} / {fragment:?}, got {denied:?}"
        );
    }
}

fn assert_allowed(group: &str, resource: &str, object: &Value) {
    for verb in ["create", "update", "patch"] {
        let denied = judge(verb, group, resource, None, object.clone());
        assert_eq!(denied, None, "{verb} {resource} {object}");
    }
}

fn service(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": spec})
}

#[test]
fn services_without_external_ips_load_balancers_or_node_ports() {
    let ports = json!([{"port": 80}]);
    assert_denied(
        "",
        "services",
        &service(json!({"ports": ports, "externalIPs": ["203.0.113.7"]})),
        "services",
        "externalIPs are not allowed (CVE-2020-8554) (spec.externalIPs[0]: \"203.0.113.7\")",
    );
    for kind in ["LoadBalancer", "NodePort"] {
        assert_denied(
            "",
            "services",
            &service(json!({"type": kind, "ports": ports})),
            "services",
            &format!("LoadBalancer and NodePort Services are not allowed; use a ClusterIP Service (spec.type: \"{kind}\")"),
        );
    }
    for spec in [
        json!({"ports": ports}),
        json!({"type": "ClusterIP", "ports": ports, "externalIPs": []}),
        json!({"type": "ClusterIP", "clusterIP": "None", "ports": ports}),
        json!({"type": "ExternalName", "externalName": "db.example.org"}),
    ] {
        assert_allowed("", "services", &service(spec));
    }
    // services/status: the load balancer ingress is the other half of CVE-2020-8554.
    let mut status = service(json!({"ports": ports}));
    status["status"] = json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}});
    let denied = judge("patch", "", "services", Some("status"), status);
    assert!(
        denied
            .as_deref()
            .is_some_and(|d| d.contains("load balancer ingress")),
        "{denied:?}"
    );
    let mut quiet = service(json!({"ports": ports}));
    quiet["status"] = json!({"loadBalancer": {}});
    assert_eq!(judge("update", "", "services", Some("status"), quiet), None);
}

#[test]
fn priority_class_names_outside_the_allowlist_are_refused() {
    for (api_version, kind, group, resource) in POD_KINDS {
        let mut spec = plain_pod_spec();
        spec["priorityClassName"] = json!("system-cluster-critical");
        let object = wrap(api_version, kind, spec, json!({}));
        let denied = judge("create", group, resource, None, object);
        assert!(
            denied.as_deref().is_some_and(|d| d.starts_with(
                "policy priority-class: setting a priorityClassName is not allowed ("
            ) && d
                .contains("priorityClassName: \"system-cluster-critical\")")),
            "{kind}: {denied:?}"
        );
        for allowed in [json!(""), Value::Null] {
            let mut spec = plain_pod_spec();
            if !allowed.is_null() {
                spec["priorityClassName"] = allowed;
            }
            let object = wrap(api_version, kind, spec, json!({}));
            assert_eq!(
                judge("create", group, resource, None, object),
                None,
                "{kind}"
            );
        }
    }
    // A running pod carries the globalDefault class the Priority plugin wrote: updates pass.
    let mut spec = plain_pod_spec();
    spec["priorityClassName"] = json!("cluster-default");
    spec["priority"] = json!(0);
    let pod = wrap("v1", "Pod", spec, json!({}));
    for verb in ["update", "patch"] {
        assert_eq!(judge(verb, "", "pods", None, pod.clone()), None, "{verb}");
    }
    // A Deployment's template is judged on update too.
    let mut spec = plain_pod_spec();
    spec["priorityClassName"] = json!("system-node-critical");
    let deployment = wrap("apps/v1", "Deployment", spec, json!({}));
    assert!(judge("update", "apps", "deployments", None, deployment).is_some());
}

fn with(field: &str, value: Value) -> Value {
    let mut spec = plain_pod_spec();
    spec[field] = value;
    spec
}

#[test]
fn control_plane_tolerations_and_node_selection_are_refused() {
    let cp = "node-role.kubernetes.io/control-plane";
    let master = "node-role.kubernetes.io/master";
    let required = |key: &str| {
        json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
            {"matchExpressions": [{"key": key, "operator": "Exists"}]}]}}})
    };
    let preferred = |key: &str| {
        json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 1, "preference": {"matchExpressions": [{"key": key, "operator": "Exists"}]}}]}})
    };
    let denied = [
        (with("tolerations", json!([{"key": cp, "operator": "Exists", "effect": "NoSchedule"}])),
            "tolerating the control-plane taint is not allowed (spec.tolerations[0].key"),
        (with("tolerations", json!([{"key": "gpu", "operator": "Exists"}, {"key": master, "operator": "Equal", "value": ""}])),
            "tolerating the control-plane taint is not allowed (spec.tolerations[1].key: \"node-role.kubernetes.io/master\")"),
        (with("tolerations", json!([{"operator": "Exists"}])),
            "a toleration without a key (tolerating every taint) is not allowed (spec.tolerations[0].key)"),
        (with("tolerations", json!([{"key": "", "operator": "Exists", "effect": "NoExecute"}])),
            "a toleration without a key (tolerating every taint) is not allowed (spec.tolerations[0].key: \"\")"),
        (with("nodeSelector", json!({cp: ""})), "selecting control-plane nodes is not allowed"),
        (with("nodeSelector", json!({"disk": "ssd", master: "true"})), "selecting control-plane nodes is not allowed"),
        (with("affinity", required(cp)),
            "node affinity for control-plane nodes is not allowed (spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[1].matchExpressions[0].key"),
        (with("affinity", preferred(master)), "node affinity for control-plane nodes is not allowed"),
    ];
    for (spec, fragment) in denied {
        let pod = wrap("v1", "Pod", spec.clone(), json!({}));
        assert_denied("", "pods", &pod, "control-plane-nodes", fragment);
        let job = wrap("batch/v1", "Job", spec, json!({}));
        assert!(
            judge("create", "batch", "jobs", None, job)
                .is_some_and(|d| d.contains("policy control-plane-nodes: ")),
            "{fragment}"
        );
    }
    let allowed = [
        with(
            "tolerations",
            json!([{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]),
        ),
        with(
            "nodeSelector",
            json!({"disk": "ssd", "node-role.kubernetes.io/gpu": ""}),
        ),
        with("affinity", required("zone")),
        with("affinity", preferred("node-role.kubernetes.io/worker")),
        with("tolerations", json!([])),
    ];
    for spec in allowed {
        assert_allowed("", "pods", &wrap("v1", "Pod", spec, json!({})));
    }
}

#[test]
fn claims_may_not_name_their_volume() {
    let pvc = |spec: Value| {
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
            "spec": spec})
    };
    let base =
        json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}});
    let mut named = base.clone();
    named["volumeName"] = json!("pv-of-bob");
    assert_denied(
        "",
        "persistentvolumeclaims",
        &pvc(named),
        "volume-claims",
        "binding a PersistentVolume by name (spec.volumeName) is not allowed (spec.volumeName: \"pv-of-bob\")",
    );
    let mut empty = base.clone();
    empty["volumeName"] = json!("");
    assert_allowed("", "persistentvolumeclaims", &pvc(base));
    assert_allowed("", "persistentvolumeclaims", &pvc(empty));
}

#[test]
fn disruption_budgets_must_allow_an_eviction() {
    let pdb = |spec: Value| {
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "b"},
            "spec": spec})
    };
    for value in [json!(0), json!("0%"), json!("00%")] {
        assert_denied(
            "policy",
            "poddisruptionbudgets",
            &pdb(json!({"maxUnavailable": value})),
            "pod-disruption-budgets",
            "maxUnavailable 0 blocks every eviction",
        );
    }
    assert_denied(
        "policy",
        "poddisruptionbudgets",
        &pdb(json!({"minAvailable": "100%"})),
        "pod-disruption-budgets",
        "minAvailable 100% blocks every eviction (node drains) (spec.minAvailable: \"100%\")",
    );
    for spec in [
        json!({"maxUnavailable": 1}),
        json!({"maxUnavailable": "10%"}),
        json!({"maxUnavailable": 10}),
        json!({"minAvailable": "50%"}),
        json!({"minAvailable": 2}),
        json!({"minAvailable": "10%"}),
        json!({}),
    ] {
        assert_allowed("policy", "poddisruptionbudgets", &pdb(spec));
    }
}

#[test]
fn service_account_token_secrets_are_refused() {
    let secret = |t: &str| {
        json!({"apiVersion": "v1", "kind": "Secret", "type": t,
            "metadata": {"name": "s", "annotations": {"kubernetes.io/service-account.name": "default"}}})
    };
    assert_denied(
        "",
        "secrets",
        &secret("kubernetes.io/service-account-token"),
        "service-account-tokens",
        "(type: \"kubernetes.io/service-account-token\")",
    );
    for t in [
        "Opaque",
        "kubernetes.io/tls",
        "kubernetes.io/dockerconfigjson",
    ] {
        assert_allowed("", "secrets", &secret(t));
    }
}
