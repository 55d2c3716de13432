//! The bootstrap RBAC policy of a fresh kube-apiserver (`bootstrappolicy/policy.go`, as its
//! `testdata/cluster-roles.yaml` shows it): the roles users are bound to (`cluster-admin`,
//! `admin`, `edit`, `view`, with aggregation already applied) and the `system:` roles and
//! bindings every authenticated user relies on (self reviews, discovery, health).

use serde_json::{json, Value};

use super::{PolicyRule, GROUP};

const RW: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];
const READ: &[&str] = &["get", "list", "watch"];
const ALL: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    PolicyRule {
        verbs: own(verbs),
        api_groups: own(groups),
        resources: own(resources),
        ..Default::default()
    }
}

fn urls(urls: &[&str], verbs: &[&str]) -> PolicyRule {
    let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    PolicyRule {
        verbs: own(verbs),
        non_resource_urls: own(urls),
        ..Default::default()
    }
}

fn aggregate_to_admin() -> Vec<PolicyRule> {
    vec![
        rule(
            &["authorization.k8s.io"],
            &["localsubjectaccessreviews"],
            &["create"],
        ),
        rule(&[GROUP], &["rolebindings", "roles"], ALL),
    ]
}

fn aggregate_to_edit() -> Vec<PolicyRule> {
    vec![
        rule(
            &[""],
            &[
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
                "secrets",
                "services/proxy",
            ],
            READ,
        ),
        rule(&[""], &["serviceaccounts"], &["impersonate"]),
        rule(
            &[""],
            &[
                "pods",
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
            ],
            RW,
        ),
        rule(&[""], &["pods/eviction"], &["create"]),
        rule(
            &[""],
            &[
                "configmaps",
                "events",
                "persistentvolumeclaims",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "secrets",
                "serviceaccounts",
                "services",
                "services/proxy",
            ],
            RW,
        ),
        rule(&[""], &["serviceaccounts/token"], &["create"]),
        rule(
            &["apps"],
            &[
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "replicasets",
                "replicasets/scale",
                "statefulsets",
                "statefulsets/scale",
            ],
            RW,
        ),
        rule(&["autoscaling"], &["horizontalpodautoscalers"], RW),
        rule(&["batch"], &["cronjobs", "jobs"], RW),
        rule(
            &["extensions"],
            &[
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "ingresses",
                "networkpolicies",
                "replicasets",
                "replicasets/scale",
                "replicationcontrollers/scale",
            ],
            RW,
        ),
        rule(&["policy"], &["poddisruptionbudgets"], RW),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "networkpolicies"],
            RW,
        ),
        rule(&["coordination.k8s.io"], &["leases"], ALL),
    ]
}

fn aggregate_to_view() -> Vec<PolicyRule> {
    vec![
        rule(
            &[""],
            &[
                "configmaps",
                "endpoints",
                "persistentvolumeclaims",
                "persistentvolumeclaims/status",
                "pods",
                "replicationcontrollers",
                "replicationcontrollers/scale",
                "serviceaccounts",
                "services",
                "services/status",
            ],
            READ,
        ),
        rule(
            &[""],
            &[
                "bindings",
                "events",
                "limitranges",
                "namespaces/status",
                "pods/log",
                "pods/status",
                "replicationcontrollers/status",
                "resourcequotas",
                "resourcequotas/status",
            ],
            READ,
        ),
        rule(&[""], &["namespaces"], READ),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        rule(
            &["apps"],
            &[
                "controllerrevisions",
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "statefulsets",
                "statefulsets/scale",
                "statefulsets/status",
            ],
            READ,
        ),
        rule(
            &["autoscaling"],
            &[
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status",
            ],
            READ,
        ),
        rule(
            &["batch"],
            &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
            READ,
        ),
        rule(
            &["extensions"],
            &[
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "ingresses",
                "ingresses/status",
                "networkpolicies",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "replicationcontrollers/scale",
            ],
            READ,
        ),
        rule(
            &["policy"],
            &["poddisruptionbudgets", "poddisruptionbudgets/status"],
            READ,
        ),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "ingresses/status", "networkpolicies"],
            READ,
        ),
    ]
}

/// What the aggregation controller computes: the rules of `parts` in order, duplicates dropped.
fn aggregate(parts: &[&[PolicyRule]]) -> Vec<PolicyRule> {
    let mut out: Vec<PolicyRule> = Vec::new();
    for r in parts.iter().flat_map(|p| p.iter()) {
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    out
}

fn meta(name: &str, extra_label: Option<&str>) -> Value {
    let mut labels = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
    if let Some(l) = extra_label {
        labels[l] = json!("true");
    }
    json!({
        "name": name,
        "labels": labels,
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    })
}

fn cluster_role(name: &str, label: Option<&str>, rules: &[PolicyRule], agg: Option<&str>) -> Value {
    let mut v = json!({
        "kind": "ClusterRole",
        "apiVersion": format!("{GROUP}/v1"),
        "metadata": meta(name, label),
        "rules": rules.iter().map(PolicyRule::to_json).collect::<Vec<_>>(),
    });
    if let Some(a) = agg {
        v["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchLabels": {format!("{GROUP}/aggregate-to-{a}"): "true"}}]});
    }
    v
}

fn binding(name: &str, groups: &[&str]) -> Value {
    let subjects: Vec<Value> = groups
        .iter()
        .map(|g| json!({"kind": "Group", "apiGroup": GROUP, "name": g}))
        .collect();
    json!({
        "kind": "ClusterRoleBinding",
        "apiVersion": format!("{GROUP}/v1"),
        "metadata": meta(name, None),
        "subjects": subjects,
        "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": name},
    })
}

/// The bootstrap ClusterRoles, then ClusterRoleBindings, without server-set metadata.
pub fn bootstrap_objects() -> Vec<Value> {
    let to_admin = aggregate_to_admin();
    let to_edit = aggregate_to_edit();
    let to_view = aggregate_to_view();
    let view = aggregate(&[&to_view]);
    // The aggregation controller visits the selected roles sorted by name.
    let edit = aggregate(&[&to_edit, &view]);
    let admin = aggregate(&[&edit, &to_admin]);
    let label = |a: &str| format!("{GROUP}/aggregate-to-{a}");
    let (la, le, lv) = (label("admin"), label("edit"), label("view"));
    let discovery = [
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/",
    ];
    let public = ["/healthz", "/livez", "/readyz", "/version", "/version/"];
    vec![
        cluster_role("admin", None, &admin, Some("admin")),
        cluster_role(
            "cluster-admin",
            None,
            &[rule(&["*"], &["*"], &["*"]), urls(&["*"], &["*"])],
            None,
        ),
        cluster_role("edit", Some(&la), &edit, Some("edit")),
        cluster_role("system:aggregate-to-admin", Some(&la), &to_admin, None),
        cluster_role("system:aggregate-to-edit", Some(&le), &to_edit, None),
        cluster_role("system:aggregate-to-view", Some(&lv), &to_view, None),
        cluster_role(
            "system:basic-user",
            None,
            &[
                rule(
                    &["authorization.k8s.io"],
                    &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    &["create"],
                ),
                rule(
                    &["authentication.k8s.io"],
                    &["selfsubjectreviews"],
                    &["create"],
                ),
            ],
            None,
        ),
        cluster_role(
            "system:discovery",
            None,
            &[urls(&discovery, &["get"])],
            None,
        ),
        cluster_role(
            "system:public-info-viewer",
            None,
            &[urls(&public, &["get"])],
            None,
        ),
        cluster_role("view", Some(&le), &view, Some("view")),
        binding("cluster-admin", &["system:masters"]),
        binding("system:basic-user", &["system:authenticated"]),
        binding("system:discovery", &["system:authenticated"]),
        binding(
            "system:public-info-viewer",
            &["system:authenticated", "system:unauthenticated"],
        ),
    ]
}
