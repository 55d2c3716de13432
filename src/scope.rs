//! Namespace confinement decisions (pure): what a hub user may do through the proxy, and how a
//! request is rewritten so kubectl works as if the user's namespace were the whole cluster.
//! [`decide`] is the router's entry point; [`authorize`] is the one policy that both
//! [`decide`] and the self-reviews in [`crate::reviews`] apply, so `kubectl auth can-i` agrees
//! with what the proxy does.

mod allowlist;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::alias::NamespaceAlias;
use crate::request_info::{
    and_field_selector, rename_field_selector_namespace, PathKind, Query, ResourceInfo,
    CONNECT_SUBRESOURCES,
};

pub use allowlist::{
    default_cluster_read, default_namespaced, parse_entry, Access, AllowEntry, AllowlistError,
    ResourceAllowlist, DEFAULT_CLUSTER_READ, DEFAULT_READ_ONLY, DEFAULT_WRITABLE,
    KNOWN_CLUSTER_SCOPED, READ_VERBS, WRITE_VERBS,
};

/// The namespace kubectl uses when its kubeconfig names none, rewritten to the user's own.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The confinement settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeConfig {
    /// Requests for namespace `default` go to the user's namespace (else they are refused).
    pub rewrite_default_namespace: bool,
    /// Namespaced resources allowed in the user's namespace (read-only or read-write entries).
    pub namespaced: ResourceAllowlist,
    /// Cluster-scoped resources every user may `get`, `list` and `watch`.
    pub cluster_read: ResourceAllowlist,
}

impl Default for ScopeConfig {
    fn default() -> Self {
        ScopeConfig {
            rewrite_default_namespace: true,
            namespaced: default_namespaced(),
            cluster_read: default_cluster_read(),
        }
    }
}

/// Confinement flags (flattened into the proxy's arguments).
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct ScopeArgs {
    /// Send requests for namespace `default` (what kubectl uses when the kubeconfig names no
    /// namespace) to the user's namespace; `false` refuses them.
    #[arg(
        long,
        env = "KBATCH_REWRITE_DEFAULT_NAMESPACE",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub rewrite_default_namespace: bool,
    /// Same as `--rewrite-default-namespace=false`.
    #[arg(long)]
    pub no_namespace_rewrite: bool,
    /// Namespaced resources users may read and write in their namespace, comma-separated
    /// (`pods,pods/exec,jobs.batch,deployments.apps/scale,*.batch`, `*` for all); replaces the
    /// built-in list.
    #[arg(long, env = "KBATCH_ALLOWED_RESOURCES")]
    pub allowed_resources: Option<String>,
    /// Namespaced resources users may only read (get, list, watch) in their namespace;
    /// replaces the built-in list.
    #[arg(long, env = "KBATCH_READ_ONLY_RESOURCES")]
    pub read_only_resources: Option<String>,
    /// Cluster-scoped resources users may read (`""` for none); replaces the built-in list.
    #[arg(long, env = "KBATCH_CLUSTER_READ_RESOURCES")]
    pub cluster_read_resources: Option<String>,
}

impl ScopeArgs {
    /// The validated configuration.
    pub fn to_config(&self) -> Result<ScopeConfig, AllowlistError> {
        let mut namespaced = match &self.allowed_resources {
            Some(t) => ResourceAllowlist::parse(t, Access::Write, "--allowed-resources")?,
            None => ResourceAllowlist {
                entries: default_namespaced()
                    .entries
                    .into_iter()
                    .filter(|e| e.access == Access::Write)
                    .collect(),
            },
        };
        let read_only = match &self.read_only_resources {
            Some(t) => ResourceAllowlist::parse(t, Access::Read, "--read-only-resources")?,
            None => ResourceAllowlist {
                entries: default_namespaced()
                    .entries
                    .into_iter()
                    .filter(|e| e.access == Access::Read)
                    .collect(),
            },
        };
        namespaced.extend(read_only);
        let cluster_read = match &self.cluster_read_resources {
            Some(t) => ResourceAllowlist::parse(t, Access::Read, "--cluster-read-resources")?,
            None => default_cluster_read(),
        };
        Ok(ScopeConfig {
            rewrite_default_namespace: self.rewrite_default_namespace && !self.no_namespace_rewrite,
            namespaced,
            cluster_read,
        })
    }
}

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    /// The hub user name (for messages).
    pub user: &'a str,
    /// The user's namespace.
    pub namespace: &'a str,
}

/// The self-reviews the proxy answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewKind {
    /// `SelfSubjectAccessReview` (`kubectl auth can-i`).
    AccessReview,
    /// `SelfSubjectRulesReview` (`kubectl auth can-i --list`).
    RulesReview,
    /// `SelfSubjectReview` (`kubectl auth whoami`).
    SelfReview,
}

/// What to do with `metadata.namespace` in a create/update/patch body (see
/// [`reconcile_body_namespace`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyNamespace {
    /// Forward the body as it is (no body, or the path's namespace was not rewritten).
    Keep,
    /// The path now names `target`; a body naming `rewritten_from` is rewritten to `target`,
    /// any other namespace is refused.
    Reconcile {
        /// The namespace the request now goes to.
        target: String,
        /// The namespace the client named (`default`), if any.
        rewritten_from: Option<String>,
    },
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward it unchanged.
    Allow,
    /// Forward to this path and query instead (namespace rewritten, field selector added).
    Rewrite {
        /// The new path (no prefix, no query).
        path: String,
        /// The new query (the client's own string when unchanged), without `?`.
        query: Option<String>,
        /// What to do with the body's namespace.
        body_namespace: BodyNamespace,
        /// The client named `default`: answers show it again (see [`crate::alias`]).
        alias: Option<NamespaceAlias>,
    },
    /// The proxy answers this itself (self-subject reviews, see [`crate::reviews`]).
    Review(ReviewKind),
    /// Refuse with a 403 `Status` carrying this message (RBAC wording, then why).
    Deny(String),
    /// Refuse with a 400 `Status` carrying this message.
    BadRequest(String),
    /// Refuse with a 405 `Status`, as kube-apiserver answers a method a path does not serve
    /// (discovery paths are read-only; writing them is never forwarded).
    MethodNotAllowed,
}

/// Attributes the policy looks at: a request, or a `SelfSubjectAccessReview`'s
/// `resourceAttributes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes<'a> {
    /// The verb the policy checks ([`ResourceInfo::policy_verb`] for requests).
    pub verb: &'a str,
    /// API group.
    pub group: &'a str,
    /// Plural resource.
    pub resource: &'a str,
    /// Subresource.
    pub subresource: Option<&'a str>,
    /// Namespace (`None`: cluster scope or all namespaces).
    pub namespace: Option<&'a str>,
    /// Object name.
    pub name: Option<&'a str>,
}

impl<'a> Attributes<'a> {
    /// The attributes of a classified request.
    pub fn of(r: &'a ResourceInfo) -> Self {
        Attributes {
            verb: r.policy_verb(),
            group: &r.group,
            resource: &r.resource,
            subresource: r.subresource.as_deref(),
            namespace: r.namespace.as_deref(),
            name: r.name.as_deref(),
        }
    }
}

/// The policy's answer for a set of attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed as asked, in the user's namespace (or a cluster read).
    Allowed,
    /// Allowed once `default` is replaced by the user's namespace.
    InOwnNamespace,
    /// An all-namespaces list/watch, allowed once confined to the user's namespace.
    AllNamespaces,
    /// A `namespaces` list/watch, allowed once filtered to the user's namespace.
    NamespaceFilter,
    /// A self-review the proxy answers.
    Review(ReviewKind),
    /// Refused; the text says why (it follows the RBAC wording in messages).
    Denied(String),
}

impl Outcome {
    /// Whether the request (possibly rewritten) goes through.
    pub fn is_allowed(&self) -> bool {
        !matches!(self, Outcome::Denied(_))
    }
}

/// Whether `group`/`resource` is cluster-scoped, as far as the proxy knows (built-in table and
/// the cluster read allowlist).
pub fn is_cluster_scoped(cfg: &ScopeConfig, group: &str, resource: &str) -> bool {
    KNOWN_CLUSTER_SCOPED.contains(&(group, resource))
        || cfg
            .cluster_read
            .entries
            .iter()
            .any(|e| e.resource != "*" && e.covers(group, resource, None))
}

fn only_own(subject: &Subject) -> String {
    format!(
        "kbatch-proxy only gives access to namespace \"{}\"",
        subject.namespace
    )
}

fn self_review_kind(a: &Attributes) -> Option<ReviewKind> {
    match (a.group, a.resource) {
        ("authorization.k8s.io", "selfsubjectaccessreviews") => Some(ReviewKind::AccessReview),
        ("authorization.k8s.io", "selfsubjectrulesreviews") => Some(ReviewKind::RulesReview),
        ("authentication.k8s.io", "selfsubjectreviews") => Some(ReviewKind::SelfReview),
        _ => None,
    }
}

/// Check `verb` on a namespaced resource against the namespaced allowlist.
fn namespaced_access(cfg: &ScopeConfig, a: &Attributes) -> Result<(), String> {
    let what = qualified(a.group, a.resource, a.subresource);
    match cfg.namespaced.access(a.group, a.resource, a.subresource) {
        Some(access) if access.allows(a.verb) => Ok(()),
        Some(Access::Read) => Err(format!(
            "kbatch-proxy gives read-only access (get, list, watch) to \"{what}\""
        )),
        Some(Access::Write) => Err(format!(
            "kbatch-proxy does not allow the verb \"{}\"",
            a.verb
        )),
        None => Err(format!(
            "kbatch-proxy does not give access to \"{what}\" (not in its resource allowlist)"
        )),
    }
}

/// The policy. `attrs.namespace` is taken literally (the caller decides what an empty
/// namespace means).
pub fn authorize(cfg: &ScopeConfig, subject: &Subject, a: &Attributes) -> Outcome {
    if let Some(kind) = self_review_kind(a) {
        let plain = a.namespace.is_none() && a.name.is_none() && a.subresource.is_none();
        return if plain && a.verb == "create" {
            Outcome::Review(kind)
        } else {
            Outcome::Denied("kbatch-proxy only answers the creation of self-reviews".into())
        };
    }
    if a.group.is_empty() && a.resource == "namespaces" {
        return namespaces(subject, a);
    }
    match a.namespace {
        Some(ns) if ns == subject.namespace => match namespaced_access(cfg, a) {
            Ok(()) => Outcome::Allowed,
            Err(why) => Outcome::Denied(why),
        },
        Some(DEFAULT_NAMESPACE) if cfg.rewrite_default_namespace => {
            match namespaced_access(cfg, a) {
                Ok(()) => Outcome::InOwnNamespace,
                Err(why) => Outcome::Denied(why),
            }
        }
        Some(DEFAULT_NAMESPACE) => Outcome::Denied(format!(
            "{} (requests for namespace \"default\" are not redirected to it)",
            only_own(subject)
        )),
        Some(_) => Outcome::Denied(only_own(subject)),
        None => {
            let unknown = cfg.namespaced.access(a.group, a.resource, None).is_none()
                && cfg
                    .namespaced
                    .access(a.group, a.resource, a.subresource)
                    .is_none();
            if is_cluster_scoped(cfg, a.group, a.resource) || unknown {
                return if cfg
                    .cluster_read
                    .allows(a.verb, a.group, a.resource, a.subresource)
                {
                    Outcome::Allowed
                } else if cfg
                    .cluster_read
                    .access(a.group, a.resource, a.subresource)
                    .is_some()
                {
                    Outcome::Denied(format!(
                        "kbatch-proxy gives read-only access (get, list, watch) to \"{}\"",
                        qualified(a.group, a.resource, a.subresource)
                    ))
                } else {
                    Outcome::Denied(only_own(subject))
                };
            }
            // A namespaced resource without a namespace: all namespaces.
            if matches!(a.verb, "list" | "watch") && a.name.is_none() {
                match namespaced_access(cfg, a) {
                    Ok(()) => Outcome::AllNamespaces,
                    Err(why) => Outcome::Denied(why),
                }
            } else {
                Outcome::Denied(only_own(subject))
            }
        }
    }
}

fn namespaces(subject: &Subject, a: &Attributes) -> Outcome {
    let own = subject.namespace;
    let refused = || {
        Outcome::Denied(format!(
            "kbatch-proxy only allows get, list and watch of namespace \"{own}\""
        ))
    };
    // kube names the namespace object's own namespace after it; anything else
    // (`/namespaces/<x>/namespaces`) is not a namespace request.
    if a.subresource.is_some() || (a.namespace.is_some() && a.namespace != a.name) {
        return refused();
    }
    match (a.verb, a.name) {
        ("list" | "watch", None) => Outcome::NamespaceFilter,
        ("get" | "list" | "watch", Some(n)) if n == own => Outcome::Allowed,
        _ => refused(),
    }
}

fn qualified(group: &str, resource: &str, sub: Option<&str>) -> String {
    let mut s = resource.to_string();
    if !group.is_empty() {
        s = format!("{s}.{group}");
    }
    if let Some(sub) = sub {
        s = format!("{s}/{sub}");
    }
    s
}

/// kube-apiserver's 403 wording for a resource request, then `: <why>`.
pub fn forbidden_message(r: &ResourceInfo, subject: &Subject, why: &str) -> String {
    let head = match &r.name {
        Some(n) => format!("{} \"{n}\" is forbidden", r.qualified_resource()),
        None => format!("{} is forbidden", r.qualified_resource()),
    };
    let resource = match &r.subresource {
        Some(s) => format!("{}/{s}", r.resource),
        None => r.resource.clone(),
    };
    let scope = match &r.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    format!(
        "{head}: User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}: {why}",
        subject.user,
        r.policy_verb(),
        r.group
    )
}

fn body_namespace(r: &ResourceInfo, target: &str, from: Option<&str>) -> BodyNamespace {
    let streams = r
        .subresource
        .as_deref()
        .is_some_and(|s| s == "proxy" || CONNECT_SUBRESOURCES.contains(&s));
    if !streams && matches!(r.policy_verb(), "create" | "update" | "patch") {
        BodyNamespace::Reconcile {
            target: target.to_string(),
            rewritten_from: from.map(str::to_string),
        }
    } else {
        BodyNamespace::Keep
    }
}

/// Decide for one request: `kind` and `query` as [`crate::request_info::parse_request`]
/// returned them.
pub fn decide(cfg: &ScopeConfig, kind: &PathKind, query: &Query, subject: &Subject) -> Decision {
    let r = match kind {
        PathKind::Discovery(_) if kind.is_discovery_read() => return Decision::Allow,
        PathKind::Discovery(_) => return Decision::MethodNotAllowed,
        PathKind::Other => {
            return Decision::Deny(format!(
                "forbidden: User \"{}\" cannot access this path through kbatch-proxy",
                subject.user
            ))
        }
        PathKind::Resource(r) => r,
    };
    match authorize(cfg, subject, &Attributes::of(r)) {
        Outcome::Allowed => Decision::Allow,
        Outcome::Review(kind) => match (kind, r.version.as_str()) {
            (ReviewKind::SelfReview, "v1" | "v1beta1" | "v1alpha1") | (_, "v1") => {
                Decision::Review(kind)
            }
            _ => Decision::Deny(forbidden_message(
                r,
                subject,
                "kbatch-proxy answers self-reviews only at the versions Kubernetes serves",
            )),
        },
        Outcome::Denied(why) => Decision::Deny(forbidden_message(r, subject, &why)),
        Outcome::InOwnNamespace => {
            // A field selector naming `default` (kubectl describe's events of an object in
            // it) means the user's namespace too.
            let mut q = query.clone();
            if let Some(selector) = query.get("fieldSelector") {
                match rename_field_selector_namespace(
                    selector,
                    DEFAULT_NAMESPACE,
                    subject.namespace,
                ) {
                    Ok(Some(renamed)) => q.set("fieldSelector", &renamed),
                    Ok(None) => {}
                    Err(e) => return Decision::BadRequest(e),
                }
            }
            Decision::Rewrite {
                path: r.path_in_namespace(subject.namespace),
                query: q.to_forward(),
                body_namespace: body_namespace(r, subject.namespace, Some(DEFAULT_NAMESPACE)),
                alias: Some(NamespaceAlias {
                    real: subject.namespace.to_string(),
                    shown: DEFAULT_NAMESPACE.to_string(),
                }),
            }
        }
        Outcome::AllNamespaces => Decision::Rewrite {
            path: r.path_in_namespace(subject.namespace),
            query: query.to_forward(),
            body_namespace: BodyNamespace::Keep,
            alias: None,
        },
        Outcome::NamespaceFilter => {
            let term = format!("metadata.name={}", subject.namespace);
            match and_field_selector(query.get("fieldSelector"), &term) {
                Ok(selector) => {
                    let mut q = query.clone();
                    if query.get("fieldSelector") != Some(selector.as_str()) {
                        q.set("fieldSelector", &selector);
                    }
                    Decision::Rewrite {
                        path: r.original_path(),
                        query: q.to_forward(),
                        body_namespace: BodyNamespace::Keep,
                        alias: None,
                    }
                }
                Err(e) => Decision::BadRequest(e),
            }
        }
    }
}

/// Reconcile `metadata.namespace` of a create/update/patch body with the namespace the request
/// goes to: absent (or empty) → left alone (the API server fills it in from the path); equal to
/// `target` → fine; equal to `rewritten_from` (`default`) → rewritten to `target`; anything else
/// → `Err` with the message for a 403. Bodies that are not JSON objects (JSON patches) are
/// left alone: the API server checks the namespace of the result itself.
pub fn reconcile_body_namespace(
    obj: &mut Value,
    target_ns: &str,
    rewritten_from: Option<&str>,
) -> Result<(), String> {
    let Some(ns) = obj
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .and_then(|m| m.get_mut("namespace"))
    else {
        return Ok(());
    };
    match ns {
        Value::Null => Ok(()),
        Value::String(s) if s.is_empty() || s == target_ns => Ok(()),
        Value::String(s) if Some(s.as_str()) == rewritten_from => {
            *ns = Value::String(target_ns.to_string());
            Ok(())
        }
        Value::String(s) => Err(format!(
            "the namespace of the provided object (\"{s}\") does not match the namespace of the request (\"{target_ns}\"): kbatch-proxy only gives access to namespace \"{target_ns}\""
        )),
        _ => Err("metadata.namespace of the provided object must be a string".into()),
    }
}
