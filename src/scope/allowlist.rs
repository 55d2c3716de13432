//! Resource allowlists (pure): which resources a user may read or write, written as kubectl
//! names them (`pods`, `pods/log`, `jobs.batch`, `deployments.apps/scale`, `*.batch`, `*`),
//! matched with RBAC's semantics (a resource does not cover its subresources; `*` covers all).

use std::fmt;

/// Verbs that only read.
pub const READ_VERBS: &[&str] = &["get", "list", "watch"];
/// Verbs a writable entry grants (RBAC's usual eight).
pub const WRITE_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// What an entry grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// `get`, `list`, `watch`.
    Read,
    /// [`WRITE_VERBS`].
    Write,
}

impl Access {
    /// Whether this access grants `verb`.
    pub fn allows(self, verb: &str) -> bool {
        match self {
            Access::Read => READ_VERBS.contains(&verb),
            Access::Write => WRITE_VERBS.contains(&verb),
        }
    }

    /// The verbs granted, in RBAC's order.
    pub fn verbs(self) -> &'static [&'static str] {
        match self {
            Access::Read => READ_VERBS,
            Access::Write => WRITE_VERBS,
        }
    }
}

/// One allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    /// API group (`""` core, `"*"` any).
    pub group: String,
    /// Plural resource (`"*"` any resource and any of its subresources).
    pub resource: String,
    /// `None`: the resource itself; `Some("*")`: any subresource; `Some(s)`: that one.
    pub subresource: Option<String>,
    /// What it grants.
    pub access: Access,
}

impl AllowEntry {
    /// Whether this entry covers `group`/`resource`/`subresource` (RBAC matching).
    pub fn covers(&self, group: &str, resource: &str, subresource: Option<&str>) -> bool {
        if self.group != "*" && self.group != group {
            return false;
        }
        if self.resource == "*" {
            return match (&self.subresource, subresource) {
                (None, _) => true,
                (Some(want), Some(got)) => want == "*" || want == got,
                (Some(_), None) => false,
            };
        }
        if self.resource != resource {
            return false;
        }
        match (&self.subresource, subresource) {
            (None, None) => true,
            (Some(want), Some(got)) => want == "*" || want == got,
            _ => false,
        }
    }

    /// The resource as RBAC rules list it: `pods`, `pods/log`, `*`.
    pub fn rule_resource(&self) -> String {
        match &self.subresource {
            Some(s) => format!("{}/{s}", self.resource),
            None => self.resource.clone(),
        }
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.resource)?;
        if self.resource == "*" && self.group == "*" {
            // bare `*`: every group
        } else if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        if let Some(s) = &self.subresource {
            write!(f, "/{s}")?;
        }
        Ok(())
    }
}

/// An invalid allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid resource {entry:?} in {list}: {why} (expected e.g. pods, pods/log, jobs.batch, deployments.apps/scale, *.batch or *)")]
pub struct AllowlistError {
    /// The offending entry.
    pub entry: String,
    /// The list it came from (flag name).
    pub list: &'static str,
    /// What is wrong.
    pub why: &'static str,
}

/// A list of entries; a request is granted the most permissive access of the entries covering it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceAllowlist {
    /// The entries, in configuration order.
    pub entries: Vec<AllowEntry>,
}

fn valid_name(s: &str) -> bool {
    s == "*"
        || (!s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
}

fn valid_group(s: &str) -> bool {
    s == "*"
        || (!s.is_empty()
            && s.split('.').all(|l| {
                !l.is_empty()
                    && l.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            }))
}

/// Parse one entry: `resource[.group][/subresource]`; a bare `*` means every group.
pub fn parse_entry(
    text: &str,
    access: Access,
    list: &'static str,
) -> Result<AllowEntry, AllowlistError> {
    let err = |why| AllowlistError {
        entry: text.to_string(),
        list,
        why,
    };
    let (head, sub) = match text.split_once('/') {
        Some((h, s)) => (h, Some(s)),
        None => (text, None),
    };
    let (resource, group) = match head.split_once('.') {
        Some((r, g)) => (r, g),
        None if head == "*" => ("*", "*"),
        None => (head, ""),
    };
    if !valid_name(resource) {
        return Err(err("the resource must be a lower-case plural name or *"));
    }
    if head.contains('.') && !valid_group(group) {
        return Err(err("the API group must be a DNS name or *"));
    }
    if let Some(s) = sub {
        if !valid_name(s) {
            return Err(err("the subresource must be a lower-case name or *"));
        }
    }
    Ok(AllowEntry {
        group: group.to_string(),
        resource: resource.to_string(),
        subresource: sub.map(str::to_string),
        access,
    })
}

impl ResourceAllowlist {
    /// Parse a comma-separated list (blanks around entries ignored; an empty string is an
    /// empty list).
    pub fn parse(
        text: &str,
        access: Access,
        list: &'static str,
    ) -> Result<ResourceAllowlist, AllowlistError> {
        let entries = text
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| parse_entry(e, access, list))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ResourceAllowlist { entries })
    }

    /// Built from static entry texts known to be valid (the defaults).
    fn from_static(items: &[&str], access: Access) -> ResourceAllowlist {
        ResourceAllowlist {
            entries: items
                .iter()
                .filter_map(|e| parse_entry(e, access, "defaults").ok())
                .collect(),
        }
    }

    /// Append another list.
    pub fn extend(&mut self, other: ResourceAllowlist) {
        self.entries.extend(other.entries);
    }

    /// The most permissive access any entry grants for this resource, if any.
    pub fn access(&self, group: &str, resource: &str, subresource: Option<&str>) -> Option<Access> {
        self.entries
            .iter()
            .filter(|e| e.covers(group, resource, subresource))
            .map(|e| e.access)
            .max()
    }

    /// Whether some entry grants `verb` on this resource.
    pub fn allows(&self, verb: &str, group: &str, resource: &str, sub: Option<&str>) -> bool {
        self.access(group, resource, sub)
            .is_some_and(|a| a.allows(verb))
    }

    /// The entries as a comma list (for `--help` and messages).
    pub fn to_list(&self, access: Access) -> String {
        self.entries
            .iter()
            .filter(|e| e.access == access)
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Namespaced resources a batch user may read and write by default.
pub const DEFAULT_WRITABLE: &[&str] = &[
    "pods",
    "pods/exec",
    "pods/attach",
    "pods/portforward",
    "configmaps",
    "secrets",
    "services",
    "persistentvolumeclaims",
    "jobs.batch",
    "cronjobs.batch",
    "deployments.apps",
    "deployments.apps/scale",
    "replicasets.apps",
    "replicasets.apps/scale",
    "statefulsets.apps",
    "statefulsets.apps/scale",
    "poddisruptionbudgets.policy",
    "horizontalpodautoscalers.autoscaling",
];

/// Namespaced resources a batch user may only read by default: logs and status, events, the
/// namespace's service accounts, endpoints (writing them can redirect traffic,
/// CVE-2021-25740), the objects that constrain the namespace (quotas, limit ranges,
/// network policies, RBAC), and the rest of kubectl's `all` category (daemonsets run on every
/// node and replication controllers are legacy: read, so `kubectl get all` and `describe`
/// print no `Forbidden`, but not written).
pub const DEFAULT_READ_ONLY: &[&str] = &[
    "pods/log",
    "pods/status",
    "podtemplates",
    "replicationcontrollers",
    "replicationcontrollers/status",
    "daemonsets.apps",
    "daemonsets.apps/status",
    "events",
    "events.events.k8s.io",
    "endpoints",
    "endpointslices.discovery.k8s.io",
    "serviceaccounts",
    "persistentvolumeclaims/status",
    "services/status",
    "jobs.batch/status",
    "cronjobs.batch/status",
    "deployments.apps/status",
    "replicasets.apps/status",
    "statefulsets.apps/status",
    "controllerrevisions.apps",
    "poddisruptionbudgets.policy/status",
    "horizontalpodautoscalers.autoscaling/status",
    "resourcequotas",
    "resourcequotas/status",
    "limitranges",
    "networkpolicies.networking.k8s.io",
    "roles.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io",
];

/// Cluster-scoped resources every user may read by default (what `kubectl describe` and
/// workload specs refer to). Not nodes.
pub const DEFAULT_CLUSTER_READ: &[&str] = &[
    "storageclasses.storage.k8s.io",
    "priorityclasses.scheduling.k8s.io",
    "runtimeclasses.node.k8s.io",
    "ingressclasses.networking.k8s.io",
];

/// The default namespaced allowlist ([`DEFAULT_WRITABLE`] + [`DEFAULT_READ_ONLY`]).
pub fn default_namespaced() -> ResourceAllowlist {
    let mut l = ResourceAllowlist::from_static(DEFAULT_WRITABLE, Access::Write);
    l.extend(ResourceAllowlist::from_static(
        DEFAULT_READ_ONLY,
        Access::Read,
    ));
    l
}

/// The default cluster read allowlist ([`DEFAULT_CLUSTER_READ`]).
pub fn default_cluster_read() -> ResourceAllowlist {
    ResourceAllowlist::from_static(DEFAULT_CLUSTER_READ, Access::Read)
}

/// Built-in cluster-scoped resources (group, resource): never treated as an all-namespaces
/// request, even under a `*` namespaced allowlist, and reviewed at the cluster scope whatever
/// namespace kubectl puts in a `SelfSubjectAccessReview`.
pub const KNOWN_CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "nodes"),
    ("", "namespaces"),
    ("", "persistentvolumes"),
    ("", "componentstatuses"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("storage.k8s.io", "storageclasses"),
    ("storage.k8s.io", "csidrivers"),
    ("storage.k8s.io", "csinodes"),
    ("storage.k8s.io", "volumeattachments"),
    ("scheduling.k8s.io", "priorityclasses"),
    ("node.k8s.io", "runtimeclasses"),
    ("networking.k8s.io", "ingressclasses"),
    ("networking.k8s.io", "ipaddresses"),
    ("networking.k8s.io", "servicecidrs"),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("apiregistration.k8s.io", "apiservices"),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
    ),
    ("certificates.k8s.io", "certificatesigningrequests"),
    ("flowcontrol.apiserver.k8s.io", "flowschemas"),
    (
        "flowcontrol.apiserver.k8s.io",
        "prioritylevelconfigurations",
    ),
    ("authentication.k8s.io", "tokenreviews"),
    ("authentication.k8s.io", "selfsubjectreviews"),
    ("authorization.k8s.io", "subjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
];
