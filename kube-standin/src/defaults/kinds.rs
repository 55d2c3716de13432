//! Scheme defaults and initial status of the kinds added for Helm charts and RBAC:
//! StatefulSet, DaemonSet, ReplicaSet, ReplicationController, PodDisruptionBudget, the RBAC bindings, PriorityClass,
//! StorageClass, FlowSchema, PriorityLevelConfiguration and Node (`pkg/apis/*/v1/defaults.go`).

use serde_json::{json, Value};

use super::{obj_mut, set_default, template};
use crate::resources::ResourceDef;

/// Scheme defaults of the kinds this module owns; `false` when `res` is not one of them.
pub(super) fn apply(res: &ResourceDef, obj: &mut Value) -> bool {
    match (res.group, res.kind) {
        ("apps", "StatefulSet") => statefulset(obj),
        ("apps", "DaemonSet") => daemonset(obj),
        ("apps", "ReplicaSet") => replicaset(obj),
        ("", "ReplicationController") => replication_controller(obj),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => binding(obj),
        ("scheduling.k8s.io", "PriorityClass") => {
            if let Some(m) = obj.as_object_mut() {
                set_default(m, "preemptionPolicy", json!("PreemptLowerPriority"));
            }
        }
        ("storage.k8s.io", "StorageClass") => {
            if let Some(m) = obj.as_object_mut() {
                set_default(m, "reclaimPolicy", json!("Delete"));
                set_default(m, "volumeBindingMode", json!("Immediate"));
            }
        }
        ("flowcontrol.apiserver.k8s.io", "FlowSchema") => {
            set_default(obj_mut(obj, "spec"), "matchingPrecedence", json!(1000));
        }
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration") => priority_level(obj),
        ("", "Node") => node_status(obj),
        _ => return false,
    }
    true
}

/// The status a new object of these kinds starts with (fields without `omitempty` as zeros).
pub(super) fn initial_status(res: &ResourceDef) -> Option<Value> {
    Some(match (res.group, res.kind) {
        ("apps", "StatefulSet") => json!({"replicas": 0, "availableReplicas": 0}),
        ("apps", "DaemonSet") => json!({"currentNumberScheduled": 0, "numberMisscheduled": 0,
            "desiredNumberScheduled": 0, "numberReady": 0}),
        ("apps", "ReplicaSet") | ("", "ReplicationController") => json!({"replicas": 0}),
        ("policy", "PodDisruptionBudget") => json!({"disruptionsAllowed": 0, "currentHealthy": 0,
            "desiredHealthy": 0, "expectedPods": 0}),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema" | "PriorityLevelConfiguration") => json!({}),
        _ => return None,
    })
}

/// `SetDefaults_NodeStatus`: allocatable defaults to capacity.
fn node_status(obj: &mut Value) {
    let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(capacity) = status.get("capacity").filter(|c| !c.is_null()).cloned() {
        set_default(status, "allocatable", capacity);
    }
}

fn statefulset(obj: &mut Value) {
    let spec = obj_mut(obj, "spec");
    set_default(spec, "replicas", json!(1));
    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
    set_default(
        spec,
        "updateStrategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
    );
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(
        spec,
        "persistentVolumeClaimRetentionPolicy",
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
    );
    if let Some(t) = spec.get_mut("template") {
        template(t);
    }
}

fn daemonset(obj: &mut Value) {
    let spec = obj_mut(obj, "spec");
    set_default(
        spec,
        "updateStrategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
    );
    set_default(spec, "revisionHistoryLimit", json!(10));
    if let Some(t) = spec.get_mut("template") {
        template(t);
    }
}

fn replicaset(obj: &mut Value) {
    let spec = obj_mut(obj, "spec");
    set_default(spec, "replicas", json!(1));
    if let Some(t) = spec.get_mut("template") {
        template(t);
    }
}

/// `SetDefaults_ReplicationController`: selector and labels from the pod template's labels
/// when empty, one replica.
fn replication_controller(obj: &mut Value) {
    let labels = obj
        .pointer("/spec/template/metadata/labels")
        .filter(|l| l.is_object())
        .cloned();
    if let Some(labels) = labels {
        let empty = |v: Option<&Value>| v.and_then(Value::as_object).is_none_or(|m| m.is_empty());
        if empty(obj.pointer("/spec/selector")) {
            obj_mut(obj, "spec").insert("selector".into(), labels.clone());
        }
        if empty(obj.pointer("/metadata/labels")) {
            obj_mut(obj, "metadata").insert("labels".into(), labels);
        }
    }
    let spec = obj_mut(obj, "spec");
    set_default(spec, "replicas", json!(1));
    if let Some(t) = spec.get_mut("template") {
        template(t);
    }
}

/// `SetDefaults_RoleBinding`/`SetDefaults_Subject`: the RBAC group on `roleRef` and on User and
/// Group subjects.
fn binding(obj: &mut Value) {
    let group = json!(crate::rbac::GROUP);
    if let Some(r) = obj.get_mut("roleRef").and_then(Value::as_object_mut) {
        if r.get("apiGroup")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            r.insert("apiGroup".into(), group.clone());
        }
    }
    if let Some(subjects) = obj.get_mut("subjects").and_then(Value::as_array_mut) {
        for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
            let user_or_group = matches!(
                s.get("kind").and_then(Value::as_str),
                Some("User" | "Group")
            );
            let unset = s
                .get("apiGroup")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty();
            if user_or_group && unset {
                s.insert("apiGroup".into(), group.clone());
            }
        }
    }
}

/// `SetDefaults_PriorityLevelConfiguration` and friends (flowcontrol v1).
fn priority_level(obj: &mut Value) {
    let spec = obj_mut(obj, "spec");
    if let Some(l) = spec.get_mut("limited").and_then(Value::as_object_mut) {
        set_default(l, "nominalConcurrencyShares", json!(30));
        set_default(l, "lendablePercent", json!(0));
        let lr = l.entry("limitResponse").or_insert_with(|| json!({}));
        if let Some(q) = lr.get_mut("queuing").and_then(Value::as_object_mut) {
            set_default(q, "queues", json!(64));
            set_default(q, "handSize", json!(8));
            set_default(q, "queueLengthLimit", json!(50));
        }
    }
    if let Some(e) = spec.get_mut("exempt").and_then(Value::as_object_mut) {
        set_default(e, "nominalConcurrencyShares", json!(0));
        set_default(e, "lendablePercent", json!(0));
    }
}
