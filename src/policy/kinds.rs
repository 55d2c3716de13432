//! Where each kind keeps its pod spec, pod metadata and job spec (the `$podSpec`,
//! `$podMetadata`, `$jobSpec`, `$jobMetadata` aliases), and the kind → resource table the
//! `policy check` CLI uses (pure).

/// The shape of an object, as far as the aliases care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A Pod: the pod spec is `spec`.
    Pod,
    /// A Job: pod template in `spec.template`, job spec is `spec`.
    Job,
    /// Deployment, StatefulSet, ReplicaSet, DaemonSet, ReplicationController: `spec.template`.
    Workload,
    /// A CronJob: `spec.jobTemplate` is a job template.
    CronJob,
    /// A PodTemplate: `template` is the pod template.
    PodTemplate,
    /// Anything else: no pod spec.
    Other,
}

impl Shape {
    /// The shape of the object a request to `group`/`resource`/`subresource` carries: what
    /// kube-apiserver decodes the body as, which the URL decides (never the body's `kind`,
    /// which the API server ignores for the type: it only checks it, case-insensitively).
    ///
    /// The resource itself, its `status` subresource (the whole object is sent) and, for
    /// Pods, `ephemeralcontainers` and `resize` carry the resource's kind; every other
    /// subresource (`scale`, `binding`, `eviction`, `exec`, …) carries no pod spec.
    pub fn of_target(group: &str, resource: &str, subresource: Option<&str>) -> Shape {
        let carries_object = match subresource.unwrap_or("") {
            "" | "status" => true,
            "ephemeralcontainers" | "resize" => group.is_empty() && resource == "pods",
            _ => false,
        };
        if carries_object {
            Shape::of_resource(group, resource)
        } else {
            Shape::Other
        }
    }

    /// The shape of a kind name (the `policy check` CLI's manifests and the load-time
    /// samples; requests use [`Shape::of_target`]).
    pub fn of_kind(kind: &str) -> Shape {
        match kind {
            "Pod" => Shape::Pod,
            "Job" => Shape::Job,
            "Deployment" | "StatefulSet" | "ReplicaSet" | "DaemonSet" | "ReplicationController" => {
                Shape::Workload
            }
            "CronJob" => Shape::CronJob,
            "PodTemplate" => Shape::PodTemplate,
            _ => Shape::Other,
        }
    }

    /// The shape of a resource itself (no subresource).
    pub fn of_resource(group: &str, resource: &str) -> Shape {
        match (group, resource) {
            ("", "pods") => Shape::Pod,
            ("batch", "jobs") => Shape::Job,
            ("apps", "deployments" | "statefulsets" | "replicasets" | "daemonsets")
            | ("", "replicationcontrollers") => Shape::Workload,
            ("batch", "cronjobs") => Shape::CronJob,
            ("", "podtemplates") => Shape::PodTemplate,
            _ => Shape::Other,
        }
    }

    /// The pod spec's location (JSON keys from the root), if this shape has one.
    pub fn pod_spec(self) -> Option<&'static [&'static str]> {
        match self {
            Shape::Pod => Some(&["spec"]),
            Shape::Job | Shape::Workload => Some(&["spec", "template", "spec"]),
            Shape::CronJob => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
            Shape::PodTemplate => Some(&["template", "spec"]),
            Shape::Other => None,
        }
    }

    /// The pod metadata's location (the Pod's own, or its template's).
    pub fn pod_metadata(self) -> Option<&'static [&'static str]> {
        match self {
            Shape::Pod => Some(&["metadata"]),
            Shape::Job | Shape::Workload => Some(&["spec", "template", "metadata"]),
            Shape::CronJob => Some(&["spec", "jobTemplate", "spec", "template", "metadata"]),
            Shape::PodTemplate => Some(&["template", "metadata"]),
            Shape::Other => None,
        }
    }

    /// The job spec's location (a Job's `spec`, a CronJob's `spec.jobTemplate.spec`).
    pub fn job_spec(self) -> Option<&'static [&'static str]> {
        match self {
            Shape::Job => Some(&["spec"]),
            Shape::CronJob => Some(&["spec", "jobTemplate", "spec"]),
            _ => None,
        }
    }

    /// The job metadata's location (a Job's `metadata`, a CronJob's `spec.jobTemplate.metadata`).
    pub fn job_metadata(self) -> Option<&'static [&'static str]> {
        match self {
            Shape::Job => Some(&["metadata"]),
            Shape::CronJob => Some(&["spec", "jobTemplate", "metadata"]),
            _ => None,
        }
    }
}

/// Container lists of a pod spec, all covered by `$containers`.
pub const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Common kinds: (group, kind, resource).
const KINDS: &[(&str, &str, &str)] = &[
    ("", "Pod", "pods"),
    ("", "PodTemplate", "podtemplates"),
    ("", "ReplicationController", "replicationcontrollers"),
    ("", "ConfigMap", "configmaps"),
    ("", "Secret", "secrets"),
    ("", "Service", "services"),
    ("", "ServiceAccount", "serviceaccounts"),
    ("", "PersistentVolumeClaim", "persistentvolumeclaims"),
    ("", "PersistentVolume", "persistentvolumes"),
    ("", "Namespace", "namespaces"),
    ("", "Endpoints", "endpoints"),
    ("", "Event", "events"),
    ("", "LimitRange", "limitranges"),
    ("", "ResourceQuota", "resourcequotas"),
    ("", "Node", "nodes"),
    ("apps", "Deployment", "deployments"),
    ("apps", "StatefulSet", "statefulsets"),
    ("apps", "ReplicaSet", "replicasets"),
    ("apps", "DaemonSet", "daemonsets"),
    ("apps", "ControllerRevision", "controllerrevisions"),
    ("batch", "Job", "jobs"),
    ("batch", "CronJob", "cronjobs"),
    (
        "autoscaling",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
    ),
    ("policy", "PodDisruptionBudget", "poddisruptionbudgets"),
    ("networking.k8s.io", "NetworkPolicy", "networkpolicies"),
    ("networking.k8s.io", "Ingress", "ingresses"),
    ("rbac.authorization.k8s.io", "Role", "roles"),
    ("rbac.authorization.k8s.io", "RoleBinding", "rolebindings"),
    ("rbac.authorization.k8s.io", "ClusterRole", "clusterroles"),
    (
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        "clusterrolebindings",
    ),
    ("events.k8s.io", "Event", "events"),
    ("coordination.k8s.io", "Lease", "leases"),
    ("discovery.k8s.io", "EndpointSlice", "endpointslices"),
    ("storage.k8s.io", "StorageClass", "storageclasses"),
];

/// `apiVersion` split into (group, version): `v1` → ("", "v1"), `batch/v1` → ("batch", "v1").
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// The kind of a built-in resource (`("batch", "jobs")` → `Job`), from the table of common
/// kinds; `None` for others.
pub fn kind_for_resource(group: &str, resource: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|(g, _, r)| *g == group && *r == resource)
        .map(|(_, k, _)| *k)
}

/// The plural resource of `kind` in `group`: the built-in table, else Kubernetes' own guess
/// (`UnsafeGuessKindToResource`: lower case, `s` → `ses`, `y` → `ies`, else `+s`).
pub fn resource_for_kind(group: &str, kind: &str) -> String {
    if let Some((_, _, resource)) = KINDS.iter().find(|(g, k, _)| *g == group && *k == kind) {
        return (*resource).to_string();
    }
    let lower = kind.to_lowercase();
    if lower.ends_with('s') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}
