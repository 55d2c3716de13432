//! The registry of API groups, versions and resources the stand-in serves (pure data).
//!
//! Everything that needs to know "what exists" — discovery, OpenAPI, routing, Tables, the store —
//! reads this table, so adding a kind means adding one entry here (plus defaults if it has any).
//! Entries mirror what kube-apiserver v1.28 reports in `/api/v1` and `/apis/<g>/<v>`.

/// One resource (or subresource) as discovery lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group, `""` for core.
    pub group: &'static str,
    /// API version, e.g. `v1`.
    pub version: &'static str,
    /// Plural resource name, e.g. `pods`.
    pub plural: &'static str,
    /// Subresource name (`log`, `exec`, `status`), `""` for the main resource.
    pub subresource: &'static str,
    /// Singular name (`""` for subresources, as discovery reports).
    pub singular: &'static str,
    /// Kind, e.g. `Pod`.
    pub kind: &'static str,
    /// Whether the resource lives in a namespace.
    pub namespaced: bool,
    /// Verbs in discovery order (alphabetical, as kube-apiserver sorts them).
    pub verbs: &'static [&'static str],
    /// Short names (`po`, `cm`).
    pub short_names: &'static [&'static str],
    /// Categories (`all`).
    pub categories: &'static [&'static str],
    /// `storageVersionHash` as 1.28 reports it, `""` when discovery omits it.
    pub storage_version_hash: &'static str,
    /// Group/version/kind of a subresource's body when it differs from the parent's
    /// (`pods/eviction` is `policy/v1 Eviction`), as `(group, version)`.
    pub body_gv: Option<(&'static str, &'static str)>,
    /// Whether objects of this kind are stored (CRUD); false for virtual kinds such as reviews.
    pub stored: bool,
}

const CRUD: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const CRUD_NO_COLLECTION: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
const STATUS: &[&str] = &["get", "patch", "update"];
const CREATE: &[&str] = &["create"];
const CONNECT: &[&str] = &["create", "get"];
const NONE: &[&str] = &[];

#[allow(clippy::too_many_arguments)]
const fn main(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    storage_version_hash: &'static str,
) -> ResourceDef {
    ResourceDef {
        group,
        version,
        plural,
        subresource: "",
        singular,
        kind,
        namespaced,
        verbs: CRUD,
        short_names,
        categories,
        storage_version_hash,
        body_gv: None,
        stored: true,
    }
}

const fn sub(
    parent: ResourceDef,
    subresource: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
) -> ResourceDef {
    ResourceDef {
        subresource,
        singular: "",
        kind,
        verbs,
        short_names: NONE,
        categories: NONE,
        storage_version_hash: "",
        body_gv: None,
        stored: false,
        ..parent
    }
}

const fn virtual_kind(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> ResourceDef {
    ResourceDef {
        group,
        version,
        plural,
        subresource: "",
        singular,
        kind,
        namespaced,
        verbs: CREATE,
        short_names: NONE,
        categories: NONE,
        storage_version_hash: "",
        body_gv: None,
        stored: false,
    }
}

const CONFIGMAPS: ResourceDef = main(
    "",
    "v1",
    "configmaps",
    "configmap",
    "ConfigMap",
    true,
    &["cm"],
    NONE,
    "qFsyl6wFWjQ=",
);
const EVENTS: ResourceDef = main(
    "",
    "v1",
    "events",
    "event",
    "Event",
    true,
    &["ev"],
    NONE,
    "r2yiGXH7wu8=",
);
const NAMESPACES: ResourceDef = ResourceDef {
    verbs: CRUD_NO_COLLECTION,
    ..main(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        NONE,
        "Q3oi5N2YM8M=",
    )
};
const NODES: ResourceDef = main(
    "",
    "v1",
    "nodes",
    "node",
    "Node",
    false,
    &["no"],
    NONE,
    "XwShjMxG9Fs=",
);
/// `nodes/proxy` verbs (`connect` to the kubelet with each HTTP method), as discovery lists them.
const PROXY: &[&str] = &["create", "delete", "get", "patch", "update"];
const PODS: ResourceDef = main(
    "",
    "v1",
    "pods",
    "pod",
    "Pod",
    true,
    &["po"],
    &["all"],
    "xPOwRZ+Yhw8=",
);
const REPLICATIONCONTROLLERS: ResourceDef = main(
    "",
    "v1",
    "replicationcontrollers",
    "replicationcontroller",
    "ReplicationController",
    true,
    &["rc"],
    &["all"],
    "Jond2If31h0=",
);
const SECRETS: ResourceDef = main(
    "",
    "v1",
    "secrets",
    "secret",
    "Secret",
    true,
    NONE,
    NONE,
    "S6u1pOWzb84=",
);
const SERVICEACCOUNTS: ResourceDef = main(
    "",
    "v1",
    "serviceaccounts",
    "serviceaccount",
    "ServiceAccount",
    true,
    &["sa"],
    NONE,
    "pbx9ZvyFpBE=",
);
const SERVICES: ResourceDef = main(
    "",
    "v1",
    "services",
    "service",
    "Service",
    true,
    &["svc"],
    &["all"],
    "0/CO1lhkEBI=",
);
const DEPLOYMENTS: ResourceDef = main(
    "apps",
    "v1",
    "deployments",
    "deployment",
    "Deployment",
    true,
    &["deploy"],
    &["all"],
    "8aSe+NMegvE=",
);
const CRONJOBS: ResourceDef = main(
    "batch",
    "v1",
    "cronjobs",
    "cronjob",
    "CronJob",
    true,
    &["cj"],
    &["all"],
    "sd5LIXh4Fjs=",
);
const JOBS: ResourceDef = main(
    "batch",
    "v1",
    "jobs",
    "job",
    "Job",
    true,
    NONE,
    &["all"],
    "mudhfqk/qZY=",
);

const DAEMONSETS: ResourceDef = main(
    "apps",
    "v1",
    "daemonsets",
    "daemonset",
    "DaemonSet",
    true,
    &["ds"],
    &["all"],
    "dd7pWHUlMKQ=",
);
const REPLICASETS: ResourceDef = main(
    "apps",
    "v1",
    "replicasets",
    "replicaset",
    "ReplicaSet",
    true,
    &["rs"],
    &["all"],
    "P1RzHs8/mWQ=",
);
const STATEFULSETS: ResourceDef = main(
    "apps",
    "v1",
    "statefulsets",
    "statefulset",
    "StatefulSet",
    true,
    &["sts"],
    &["all"],
    "H+vl74LkKdo=",
);
const PODDISRUPTIONBUDGETS: ResourceDef = main(
    "policy",
    "v1",
    "poddisruptionbudgets",
    "poddisruptionbudget",
    "PodDisruptionBudget",
    true,
    &["pdb"],
    NONE,
    "EVWiDmWqyJw=",
);
const RBAC: &str = "rbac.authorization.k8s.io";
const CLUSTERROLEBINDINGS: ResourceDef = main(
    RBAC,
    "v1",
    "clusterrolebindings",
    "clusterrolebinding",
    "ClusterRoleBinding",
    false,
    NONE,
    NONE,
    "48tpQ8gZHFc=",
);
const CLUSTERROLES: ResourceDef = main(
    RBAC,
    "v1",
    "clusterroles",
    "clusterrole",
    "ClusterRole",
    false,
    NONE,
    NONE,
    "bYE5ZWDrJ44=",
);
const ROLEBINDINGS: ResourceDef = main(
    RBAC,
    "v1",
    "rolebindings",
    "rolebinding",
    "RoleBinding",
    true,
    NONE,
    NONE,
    "eGsCzGH6b1g=",
);
const ROLES: ResourceDef = main(
    RBAC,
    "v1",
    "roles",
    "role",
    "Role",
    true,
    NONE,
    NONE,
    "7FuwZcIIItM=",
);
const STORAGECLASSES: ResourceDef = main(
    "storage.k8s.io",
    "v1",
    "storageclasses",
    "storageclass",
    "StorageClass",
    false,
    &["sc"],
    NONE,
    "K+m6uJwbjGY=",
);
const PRIORITYCLASSES: ResourceDef = main(
    "scheduling.k8s.io",
    "v1",
    "priorityclasses",
    "priorityclass",
    "PriorityClass",
    false,
    &["pc"],
    NONE,
    "1QwjyaZjj3Y=",
);
const FLOWCONTROL: &str = "flowcontrol.apiserver.k8s.io";
const FLOWSCHEMAS: ResourceDef = main(
    FLOWCONTROL,
    "v1",
    "flowschemas",
    "flowschema",
    "FlowSchema",
    false,
    NONE,
    NONE,
    "9NnFrw7ZEmA=",
);
const PRIORITYLEVELCONFIGURATIONS: ResourceDef = main(
    FLOWCONTROL,
    "v1",
    "prioritylevelconfigurations",
    "prioritylevelconfiguration",
    "PriorityLevelConfiguration",
    false,
    NONE,
    NONE,
    "+CwSrEWTDhc=",
);

/// Every resource served, grouped by group-version in discovery order, subresources after
/// their parent (the order `/api/v1` lists them: alphabetical by `name`).
pub static RESOURCES: &[ResourceDef] = &[
    // core/v1
    CONFIGMAPS,
    EVENTS,
    NAMESPACES,
    sub(NAMESPACES, "finalize", "Namespace", &["update"]),
    sub(NAMESPACES, "status", "Namespace", STATUS),
    NODES,
    sub(NODES, "proxy", "NodeProxyOptions", PROXY),
    sub(NODES, "status", "Node", STATUS),
    PODS,
    sub(PODS, "attach", "PodAttachOptions", CONNECT),
    sub(PODS, "exec", "PodExecOptions", CONNECT),
    sub(PODS, "log", "Pod", &["get"]),
    sub(PODS, "portforward", "PodPortForwardOptions", CONNECT),
    sub(PODS, "status", "Pod", STATUS),
    REPLICATIONCONTROLLERS,
    ResourceDef {
        body_gv: Some(("autoscaling", "v1")),
        ..sub(REPLICATIONCONTROLLERS, "scale", "Scale", STATUS)
    },
    sub(
        REPLICATIONCONTROLLERS,
        "status",
        "ReplicationController",
        STATUS,
    ),
    SECRETS,
    SERVICEACCOUNTS,
    ResourceDef {
        body_gv: Some(("authentication.k8s.io", "v1")),
        ..sub(SERVICEACCOUNTS, "token", "TokenRequest", CREATE)
    },
    SERVICES,
    sub(SERVICES, "status", "Service", STATUS),
    // apps/v1
    DAEMONSETS,
    sub(DAEMONSETS, "status", "DaemonSet", STATUS),
    DEPLOYMENTS,
    ResourceDef {
        body_gv: Some(("autoscaling", "v1")),
        ..sub(DEPLOYMENTS, "scale", "Scale", STATUS)
    },
    sub(DEPLOYMENTS, "status", "Deployment", STATUS),
    REPLICASETS,
    ResourceDef {
        body_gv: Some(("autoscaling", "v1")),
        ..sub(REPLICASETS, "scale", "Scale", STATUS)
    },
    sub(REPLICASETS, "status", "ReplicaSet", STATUS),
    STATEFULSETS,
    ResourceDef {
        body_gv: Some(("autoscaling", "v1")),
        ..sub(STATEFULSETS, "scale", "Scale", STATUS)
    },
    sub(STATEFULSETS, "status", "StatefulSet", STATUS),
    // batch/v1
    CRONJOBS,
    sub(CRONJOBS, "status", "CronJob", STATUS),
    JOBS,
    sub(JOBS, "status", "Job", STATUS),
    // policy/v1
    PODDISRUPTIONBUDGETS,
    sub(
        PODDISRUPTIONBUDGETS,
        "status",
        "PodDisruptionBudget",
        STATUS,
    ),
    // rbac.authorization.k8s.io/v1
    CLUSTERROLEBINDINGS,
    CLUSTERROLES,
    ROLEBINDINGS,
    ROLES,
    // storage.k8s.io/v1
    STORAGECLASSES,
    // scheduling.k8s.io/v1
    PRIORITYCLASSES,
    // flowcontrol.apiserver.k8s.io/v1
    FLOWSCHEMAS,
    sub(FLOWSCHEMAS, "status", "FlowSchema", STATUS),
    PRIORITYLEVELCONFIGURATIONS,
    sub(
        PRIORITYLEVELCONFIGURATIONS,
        "status",
        "PriorityLevelConfiguration",
        STATUS,
    ),
    // authentication.k8s.io/v1
    virtual_kind(
        "authentication.k8s.io",
        "v1",
        "selfsubjectreviews",
        "selfsubjectreview",
        "SelfSubjectReview",
        false,
    ),
    virtual_kind(
        "authentication.k8s.io",
        "v1",
        "tokenreviews",
        "tokenreview",
        "TokenReview",
        false,
    ),
    // authorization.k8s.io/v1
    virtual_kind(
        "authorization.k8s.io",
        "v1",
        "localsubjectaccessreviews",
        "localsubjectaccessreview",
        "LocalSubjectAccessReview",
        true,
    ),
    virtual_kind(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        "SelfSubjectAccessReview",
        false,
    ),
    virtual_kind(
        "authorization.k8s.io",
        "v1",
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        "SelfSubjectRulesReview",
        false,
    ),
    virtual_kind(
        "authorization.k8s.io",
        "v1",
        "subjectaccessreviews",
        "subjectaccessreview",
        "SubjectAccessReview",
        false,
    ),
];

/// API groups in the order `/apis` lists them (core `""` is served under `/api`).
/// Each entry is `(group, versions preferred first)`.
pub static GROUPS: &[(&str, &[&str])] = &[
    ("apps", &["v1"]),
    ("authentication.k8s.io", &["v1"]),
    ("authorization.k8s.io", &["v1"]),
    ("batch", &["v1"]),
    ("policy", &["v1"]),
    ("rbac.authorization.k8s.io", &["v1"]),
    ("storage.k8s.io", &["v1"]),
    ("scheduling.k8s.io", &["v1"]),
    ("flowcontrol.apiserver.k8s.io", &["v1"]),
];

impl ResourceDef {
    /// `group/version`, or `version` for the core group.
    pub fn group_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The `apiVersion` of objects of this resource (same as [`Self::group_version`]).
    pub fn api_version(&self) -> String {
        self.group_version()
    }

    /// `plural` or `plural/subresource`, as discovery names it.
    pub fn name(&self) -> String {
        if self.subresource.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}/{}", self.plural, self.subresource)
        }
    }

    /// `plural.group` (or `plural` for core), the form used in error messages
    /// (`jobs.batch "x" not found`).
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Whether `verb` is listed for this resource.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// The `<Kind>List` kind.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

/// The main resource `plural` of `group/version`, if served.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    find_sub(group, version, plural, "")
}

/// A resource or subresource of `group/version`, if served.
pub fn find_sub(
    group: &str,
    version: &str,
    plural: &str,
    subresource: &str,
) -> Option<&'static ResourceDef> {
    RESOURCES.iter().find(|r| {
        r.group == group
            && r.version == version
            && r.plural == plural
            && r.subresource == subresource
    })
}

/// The main resource serving `kind` in `group` (any version), if any.
pub fn by_kind(group: &str, kind: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.kind == kind && r.subresource.is_empty())
}

/// Whether `group/version` is served at all.
pub fn serves_group_version(group: &str, version: &str) -> bool {
    if group.is_empty() {
        return version == "v1";
    }
    GROUPS
        .iter()
        .any(|(g, versions)| *g == group && versions.contains(&version))
}

/// All resources (main and sub) of one group-version, in discovery order.
pub fn of_group_version<'a>(
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'static ResourceDef> + 'a {
    RESOURCES
        .iter()
        .filter(move |r| r.group == group && r.version == version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(find("batch", "v1", "jobs").map(|r| r.kind), Some("Job"));
        assert_eq!(find("", "v1", "jobs"), None);
        assert_eq!(
            find_sub("", "v1", "pods", "log").map(|r| r.verbs),
            Some(&["get"][..])
        );
        assert_eq!(
            by_kind("", "Namespace").map(|r| r.plural),
            Some("namespaces")
        );
        assert_eq!(
            find("batch", "v1", "jobs").map(|r| r.qualified_plural()),
            Some("jobs.batch".to_string())
        );
        let nodes = find("", "v1", "nodes").expect("nodes");
        assert_eq!((nodes.kind, nodes.namespaced), ("Node", false));
        assert_eq!(nodes.short_names, ["no"]);
        assert_eq!(
            find_sub("", "v1", "nodes", "proxy").map(|r| (r.kind, r.verbs.len())),
            Some(("NodeProxyOptions", 5))
        );
        assert!(serves_group_version("", "v1"));
        assert!(serves_group_version("batch", "v1"));
        assert!(!serves_group_version("batch", "v1beta1"));
    }

    #[test]
    fn subresources_follow_their_parent() {
        for (i, r) in RESOURCES.iter().enumerate() {
            if !r.subresource.is_empty() {
                let parent = RESOURCES[..i]
                    .iter()
                    .rev()
                    .find(|p| p.subresource.is_empty())
                    .expect("a subresource must follow its parent");
                assert_eq!(parent.plural, r.plural, "{}", r.name());
            }
        }
    }
}
