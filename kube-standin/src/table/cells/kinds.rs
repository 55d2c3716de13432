//! Row cells of the printers for the kinds added for Helm charts and RBAC
//! (`printStatefulSet`, `printDaemonSet`, `printReplicaSet`, `printPodDisruptionBudget`,
//! `printRoleBinding`, `printClusterRoleBinding`, `printPriorityClass`, `printStorageClass`,
//! `printFlowSchema`, `printPriorityLevelConfiguration`, `printNode`), wide mode.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{
    age, at, containers_and_images, format_label_selector, format_labels, int_at, items, name,
    str_at,
};

/// `printStatefulSet`: NAME, READY (`ready/desired`), AGE, CONTAINERS, IMAGES.
pub(super) fn statefulset(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let desired = at(o, "/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let ready = int_at(o, "/status/readyReplicas");
    let [names, images] = containers_and_images(o, "/spec/template/spec/containers");
    vec![
        name(o),
        json!(format!("{ready}/{desired}")),
        age(o, now),
        names,
        images,
    ]
}

/// `printDaemonSet`: NAME, DESIRED, CURRENT, READY, UP-TO-DATE, AVAILABLE, NODE SELECTOR, AGE,
/// CONTAINERS, IMAGES, SELECTOR.
pub(super) fn daemonset(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let [names, images] = containers_and_images(o, "/spec/template/spec/containers");
    vec![
        name(o),
        json!(int_at(o, "/status/desiredNumberScheduled")),
        json!(int_at(o, "/status/currentNumberScheduled")),
        json!(int_at(o, "/status/numberReady")),
        json!(int_at(o, "/status/updatedNumberScheduled")),
        json!(int_at(o, "/status/numberAvailable")),
        json!(format_labels(at(o, "/spec/template/spec/nodeSelector"))),
        age(o, now),
        names,
        images,
        json!(format_label_selector(at(o, "/spec/selector"))),
    ]
}

/// `printReplicaSet`: NAME, DESIRED, CURRENT, READY, AGE, CONTAINERS, IMAGES, SELECTOR.
pub(super) fn replicaset(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let desired = at(o, "/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let [names, images] = containers_and_images(o, "/spec/template/spec/containers");
    vec![
        name(o),
        json!(desired),
        json!(int_at(o, "/status/replicas")),
        json!(int_at(o, "/status/readyReplicas")),
        age(o, now),
        names,
        images,
        json!(format_label_selector(at(o, "/spec/selector"))),
    ]
}

/// `printReplicationController`: NAME, DESIRED, CURRENT, READY, AGE, CONTAINERS, IMAGES,
/// SELECTOR (the map selector as `labels.FormatLabels`).
pub(super) fn replication_controller(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let desired = at(o, "/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let [names, images] = containers_and_images(o, "/spec/template/spec/containers");
    vec![
        name(o),
        json!(desired),
        json!(int_at(o, "/status/replicas")),
        json!(int_at(o, "/status/readyReplicas")),
        age(o, now),
        names,
        images,
        json!(format_labels(at(o, "/spec/selector"))),
    ]
}

/// `IntOrString.String()`, or `N/A` when unset.
fn int_or_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "N/A".to_string(),
    }
}

/// `printPodDisruptionBudget`: NAME, MIN AVAILABLE, MAX UNAVAILABLE, ALLOWED DISRUPTIONS, AGE.
pub(super) fn pdb(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(o),
        json!(int_or_string(at(o, "/spec/minAvailable"))),
        json!(int_or_string(at(o, "/spec/maxUnavailable"))),
        json!(int_at(o, "/status/disruptionsAllowed")),
        age(o, now),
    ]
}

/// `printRoleBinding` / `printClusterRoleBinding`: NAME, ROLE (`Kind/name`), AGE, USERS, GROUPS,
/// SERVICEACCOUNTS (`rbac.SubjectsStrings`).
pub(super) fn binding(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let role = format!(
        "{}/{}",
        str_at(o, "/roleRef/kind"),
        str_at(o, "/roleRef/name")
    );
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for s in items(o, "/subjects") {
        let n = str_at(s, "/name").to_string();
        match str_at(s, "/kind") {
            "User" => users.push(n),
            "Group" => groups.push(n),
            "ServiceAccount" => sas.push(format!("{}/{n}", str_at(s, "/namespace"))),
            _ => {}
        }
    }
    vec![
        name(o),
        json!(role),
        age(o, now),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(sas.join(", ")),
    ]
}

/// `printNode`: NAME, STATUS (the Ready condition, `Unknown` without one, `SchedulingDisabled`
/// appended when unschedulable), ROLES, AGE, VERSION, INTERNAL-IP, EXTERNAL-IP, OS-IMAGE,
/// KERNEL-VERSION, CONTAINER-RUNTIME.
pub(super) fn node(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    // kube keys the conditions by type, so the last Ready condition wins.
    let ready = items(o, "/status/conditions")
        .filter(|c| str_at(c, "/type") == "Ready")
        .last();
    let mut status = vec![match ready {
        Some(c) if str_at(c, "/status") == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if at(o, "/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }
    let roles = node_roles(o);
    let address = |kind: &str| {
        items(o, "/status/addresses")
            .find(|a| str_at(a, "/type") == kind)
            .map_or("<none>", |a| str_at(a, "/address"))
            .to_string()
    };
    let info = |field: &str| match str_at(o, &format!("/status/nodeInfo/{field}")) {
        "" => "<unknown>".to_string(),
        v => v.to_string(),
    };
    vec![
        name(o),
        json!(status.join(",")),
        json!(if roles.is_empty() {
            "<none>".to_string()
        } else {
            roles.join(",")
        }),
        age(o, now),
        json!(str_at(o, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

/// `findNodeRoles`: `node-role.kubernetes.io/<role>` label keys and `kubernetes.io/role`
/// label values, deduplicated and sorted.
fn node_roles(o: &Value) -> Vec<String> {
    let mut roles: Vec<String> = o["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
            Some(role) if !role.is_empty() => Some(role.to_string()),
            Some(_) => None,
            None if k == "kubernetes.io/role" => {
                v.as_str().filter(|r| !r.is_empty()).map(str::to_string)
            }
            None => None,
        })
        .collect();
    roles.sort_unstable();
    roles.dedup();
    roles
}

/// `printPriorityClass`: NAME, VALUE, GLOBAL-DEFAULT, AGE, PREEMPTIONPOLICY.
pub(super) fn priority_class(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let policy = match str_at(o, "/preemptionPolicy") {
        "" => "<unset>",
        p => p,
    };
    vec![
        name(o),
        json!(int_at(o, "/value")),
        json!(at(o, "/globalDefault")
            .and_then(Value::as_bool)
            .unwrap_or(false)),
        age(o, now),
        json!(policy),
    ]
}

/// `printStorageClass`: NAME (` (default)` marked), PROVISIONER, RECLAIMPOLICY,
/// VOLUMEBINDINGMODE, ALLOWVOLUMEEXPANSION, AGE.
pub(super) fn storage_class(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let is_default = [
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class",
    ]
    .iter()
    .any(|k| o["metadata"]["annotations"][*k] == "true");
    let mut n = str_at(o, "/metadata/name").to_string();
    if is_default {
        n.push_str(" (default)");
    }
    let or = |p: &str, d: &'static str| match str_at(o, p) {
        "" => d.to_string(),
        v => v.to_string(),
    };
    vec![
        json!(n),
        json!(str_at(o, "/provisioner")),
        json!(or("/reclaimPolicy", "Delete")),
        json!(or("/volumeBindingMode", "Immediate")),
        json!(at(o, "/allowVolumeExpansion")
            .and_then(Value::as_bool)
            .unwrap_or(false)),
        age(o, now),
    ]
}

/// `printFlowSchema`: NAME, PRIORITYLEVEL, MATCHINGPRECEDENCE, DISTINGUISHERMETHOD, AGE,
/// MISSINGPL (the `Dangling` condition's status, `?` when unknown).
pub(super) fn flow_schema(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let method = match str_at(o, "/spec/distinguisherMethod/type") {
        "" => "<none>",
        m => m,
    };
    let dangling = items(o, "/status/conditions")
        .find(|c| str_at(c, "/type") == "Dangling")
        .map_or("?", |c| str_at(c, "/status"));
    vec![
        name(o),
        json!(str_at(o, "/spec/priorityLevelConfiguration/name")),
        json!(int_at(o, "/spec/matchingPrecedence")),
        json!(method),
        age(o, now),
        json!(dangling),
    ]
}

/// `printPriorityLevelConfiguration`: NAME, TYPE, NOMINALCONCURRENCYSHARES, QUEUES, HANDSIZE,
/// QUEUELENGTHLIMIT, AGE (`<none>` where the type has no such setting).
pub(super) fn priority_level(o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let none = || json!("<none>");
    let (mut ncs, mut queues, mut hand, mut limit) = (none(), none(), none(), none());
    if let Some(l) = at(o, "/spec/limited") {
        ncs = json!(int_at(l, "/nominalConcurrencyShares"));
        if let Some(q) = at(l, "/limitResponse/queuing") {
            queues = json!(int_at(q, "/queues"));
            hand = json!(int_at(q, "/handSize"));
            limit = json!(int_at(q, "/queueLengthLimit"));
        }
    }
    vec![
        name(o),
        json!(str_at(o, "/spec/type")),
        ncs,
        queues,
        hand,
        limit,
        age(o, now),
    ]
}

/// `FlowSchemaSequence`: the order the FlowSchema list printer sorts rows in.
pub(in crate::table) fn flow_schema_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    let key = |o: &Value| {
        (
            int_at(o, "/spec/matchingPrecedence"),
            str_at(o, "/metadata/name").to_string(),
        )
    };
    key(a).cmp(&key(b))
}
