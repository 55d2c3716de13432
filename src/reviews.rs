//! Self-reviews answered by the proxy (pure): `SelfSubjectAccessReview` (`kubectl auth can-i`),
//! `SelfSubjectRulesReview` (`kubectl auth can-i --list`) and `SelfSubjectReview`
//! (`kubectl auth whoami`), in the JSON shapes kube-apiserver answers with. Access answers
//! come from [`crate::scope::authorize`], the same policy that confines requests, so they never
//! disagree with what the proxy does.
//!
//! Semantics:
//! - a namespaced resource with namespace `""` means all namespaces: `list`/`watch` are allowed
//!   (the proxy confines them to the user's namespace, so `kubectl get pods -A` works); other
//!   verbs are not;
//! - namespace `default` answers as the user's namespace while `default` is rewritten;
//! - cluster-scoped resources (built-in ones and the cluster read allowlist) are judged at the
//!   cluster scope whatever namespace kubectl sends (it sends its current one);
//! - `exec`, `attach`, `portforward` subresources are judged as `create`, like requests;
//! - refusals carry `denied: true` and the reason (the proxy's refusal is final);
//! - rules reviews list the namespaced allowlist for the user's namespace (and `default` while
//!   it is rewritten), and for every namespace the self-review rules, `get`/`list`/`watch` of the
//!   user's own namespace object and the cluster read allowlist.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::request_info::CONNECT_SUBRESOURCES;
use crate::scope::{
    authorize, is_cluster_scoped, Access, Attributes, Outcome, ScopeConfig, Subject,
    DEFAULT_NAMESPACE,
};

/// Non-resource URLs every user may `get` (discovery, version, OpenAPI, health).
pub const NON_RESOURCE_URLS: &[&str] = &[
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

/// A review the proxy cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// 422 `Invalid` (kube's validation): `field` and `detail` for the Status `causes`.
    #[error(".authorization.k8s.io \"\" is invalid: {field}: {detail}")]
    Invalid {
        /// `spec.resourceAttributes`.
        field: String,
        /// `Invalid value: "null": exactly one of …`.
        detail: String,
    },
    /// 400 `BadRequest`.
    #[error("{0}")]
    BadRequest(String),
}

/// Who the user is, for `kubectl auth whoami`.
#[derive(Debug, Clone, Copy)]
pub struct UserInfo<'a> {
    /// The user name as the cluster knows it.
    pub username: &'a str,
    /// A uid, if any.
    pub uid: Option<&'a str>,
    /// Groups.
    pub groups: &'a [String],
    /// Extra attributes.
    pub extra: &'a BTreeMap<String, Vec<String>>,
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The request's metadata as kube echoes it: identifying fields kept, `creationTimestamp: null`.
fn echo_metadata(review: &Value) -> Value {
    let mut out = Map::new();
    let meta = review.get("metadata");
    for key in ["name", "generateName", "namespace"] {
        if let Some(v) = meta.and_then(|m| m.get(key)).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    out.insert("creationTimestamp".into(), Value::Null);
    for key in ["labels", "annotations"] {
        if let Some(v) = meta.and_then(|m| m.get(key)).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}

fn api_version(review: &Value, group: &str, default: &str) -> String {
    match review.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v.starts_with(&format!("{group}/")) => v.to_string(),
        _ => default.to_string(),
    }
}

/// Keys of `obj` in kube's field order, empty strings and nulls dropped (`omitempty`).
fn canonical(obj: &Value, keys: &[&str]) -> Value {
    let mut out = Map::new();
    for k in keys {
        match obj.get(*k) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(v) => {
                out.insert((*k).into(), v.clone());
            }
        }
    }
    Value::Object(out)
}

const RESOURCE_ATTRIBUTE_KEYS: &[&str] = &[
    "namespace",
    "verb",
    "group",
    "version",
    "resource",
    "subresource",
    "name",
    "fieldSelector",
    "labelSelector",
];

/// Match a non-resource path against RBAC URL patterns (exact, or a `*` suffix as prefix).
fn non_resource_allowed(verb: &str, path: &str) -> bool {
    matches!(verb, "get" | "head")
        && NON_RESOURCE_URLS.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == *p,
        })
}

/// The verdict for a `resourceAttributes` object.
fn judge_resource(cfg: &ScopeConfig, subject: &Subject, ra: &Value) -> (bool, String) {
    let group = str_field(ra, "group");
    let resource = str_field(ra, "resource");
    let sub = Some(str_field(ra, "subresource")).filter(|s| !s.is_empty());
    let name = Some(str_field(ra, "name")).filter(|s| !s.is_empty());
    let mut verb = str_field(ra, "verb");
    if sub.is_some_and(|s| CONNECT_SUBRESOURCES.contains(&s)) && verb != "*" {
        verb = "create";
    }
    let namespace = if is_cluster_scoped(cfg, group, resource) {
        None
    } else {
        Some(str_field(ra, "namespace")).filter(|s| !s.is_empty())
    };
    let attrs = Attributes {
        verb,
        group,
        resource,
        subresource: sub,
        namespace,
        name,
    };
    match authorize(cfg, subject, &attrs) {
        Outcome::Denied(why) => (false, why),
        Outcome::Allowed | Outcome::Review(_) => (
            true,
            format!(
                "allowed by kbatch-proxy for the user of namespace \"{}\"",
                subject.namespace
            ),
        ),
        Outcome::InOwnNamespace => (
            true,
            format!(
                "allowed by kbatch-proxy: namespace \"default\" is served from namespace \"{}\"",
                subject.namespace
            ),
        ),
        Outcome::AllNamespaces | Outcome::NamespaceFilter => (
            true,
            format!(
                "allowed by kbatch-proxy: only namespace \"{}\" is listed",
                subject.namespace
            ),
        ),
    }
}

/// Answer a `SelfSubjectAccessReview` (as decoded from the request) for `subject`: the same
/// object with kube's canonical `spec` and a `status` `{allowed, denied?, reason}`.
pub fn access_review(
    cfg: &ScopeConfig,
    subject: &Subject,
    review: &Value,
) -> Result<Value, ReviewError> {
    let spec = review.get("spec").cloned().unwrap_or(Value::Null);
    let ra = spec.get("resourceAttributes").filter(|v| !v.is_null());
    let nra = spec.get("nonResourceAttributes").filter(|v| !v.is_null());
    let (out_spec, allowed, reason) = match (ra, nra) {
        (Some(ra), None) => {
            let (allowed, reason) = judge_resource(cfg, subject, ra);
            (
                json!({"resourceAttributes": canonical(ra, RESOURCE_ATTRIBUTE_KEYS)}),
                allowed,
                reason,
            )
        }
        (None, Some(nra)) => {
            let allowed = non_resource_allowed(str_field(nra, "verb"), str_field(nra, "path"));
            let reason = if allowed {
                "allowed by kbatch-proxy: discovery, version and health paths are public"
            } else {
                "kbatch-proxy only allows get of discovery, version and health paths"
            };
            (
                json!({"nonResourceAttributes": canonical(nra, &["path", "verb"])}),
                allowed,
                reason.to_string(),
            )
        }
        (None, None) => {
            return Err(ReviewError::Invalid {
                field: "spec.resourceAttributes".into(),
                detail: "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified".into(),
            })
        }
        (Some(_), Some(_)) => {
            return Err(ReviewError::Invalid {
                field: "spec.nonResourceAttributes".into(),
                detail: "Invalid value: \"object\": cannot be specified in combination with resourceAttributes".into(),
            })
        }
    };
    let mut status = Map::new();
    status.insert("allowed".into(), Value::Bool(allowed));
    if !allowed {
        status.insert("denied".into(), Value::Bool(true));
    }
    status.insert("reason".into(), Value::String(reason));
    Ok(json_object(&[
        ("kind", json!("SelfSubjectAccessReview")),
        (
            "apiVersion",
            json!(api_version(
                review,
                "authorization.k8s.io",
                "authorization.k8s.io/v1"
            )),
        ),
        ("metadata", echo_metadata(review)),
        ("spec", out_spec),
        ("status", Value::Object(status)),
    ]))
}

fn json_object(fields: &[(&str, Value)]) -> Value {
    let mut m = Map::new();
    for (k, v) in fields {
        m.insert((*k).to_string(), v.clone());
    }
    Value::Object(m)
}

fn rule(verbs: &[&str], group: &str, resources: &[String], names: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("verbs".into(), json!(verbs));
    m.insert("apiGroups".into(), json!([group]));
    m.insert("resources".into(), json!(resources));
    if let Some(n) = names {
        m.insert("resourceNames".into(), json!([n]));
    }
    Value::Object(m)
}

/// Group allowlist entries into rules: one rule per (access, group), in first-seen order.
fn grouped_rules(entries: &[crate::scope::AllowEntry], out: &mut Vec<Value>) {
    let mut groups: Vec<(Access, String, Vec<String>)> = Vec::new();
    for e in entries {
        // A read-only entry on exec/attach/portforward grants nothing (they are `create`).
        if e.access == Access::Read
            && e.subresource
                .as_deref()
                .is_some_and(|s| CONNECT_SUBRESOURCES.contains(&s))
        {
            continue;
        }
        let res = e.rule_resource();
        match groups
            .iter_mut()
            .find(|(a, g, _)| *a == e.access && *g == e.group)
        {
            Some((_, _, list)) => {
                if !list.contains(&res) {
                    list.push(res)
                }
            }
            None => groups.push((e.access, e.group.clone(), vec![res])),
        }
    }
    for (access, group, resources) in groups {
        out.push(rule(access.verbs(), &group, &resources, None));
    }
}

/// Answer a `SelfSubjectRulesReview` for `spec.namespace`, as kube does: `spec` comes back
/// empty and `status` lists the rules.
pub fn rules_review(
    cfg: &ScopeConfig,
    subject: &Subject,
    review: &Value,
) -> Result<Value, ReviewError> {
    let ns = review
        .get("spec")
        .map(|s| str_field(s, "namespace"))
        .unwrap_or("");
    if ns.is_empty() {
        return Err(ReviewError::BadRequest("no namespace on request".into()));
    }
    let mut rules = vec![
        rule(
            &["create"],
            "authorization.k8s.io",
            &[
                "selfsubjectaccessreviews".to_string(),
                "selfsubjectrulesreviews".to_string(),
            ],
            None,
        ),
        rule(
            &["create"],
            "authentication.k8s.io",
            &["selfsubjectreviews".to_string()],
            None,
        ),
    ];
    let own = ns == subject.namespace || (ns == DEFAULT_NAMESPACE && cfg.rewrite_default_namespace);
    if own {
        grouped_rules(&cfg.namespaced.entries, &mut rules);
    }
    rules.push(rule(
        &["get", "list", "watch"],
        "",
        &["namespaces".to_string()],
        Some(subject.namespace),
    ));
    grouped_rules(&cfg.cluster_read.entries, &mut rules);
    Ok(json_object(&[
        ("kind", json!("SelfSubjectRulesReview")),
        (
            "apiVersion",
            json!(api_version(
                review,
                "authorization.k8s.io",
                "authorization.k8s.io/v1"
            )),
        ),
        ("metadata", json!({"creationTimestamp": null})),
        ("spec", json!({})),
        (
            "status",
            json_object(&[
                ("resourceRules", Value::Array(rules)),
                (
                    "nonResourceRules",
                    json!([{"verbs": ["get"], "nonResourceURLs": NON_RESOURCE_URLS}]),
                ),
                ("incomplete", json!(false)),
            ]),
        ),
    ]))
}

/// Answer a `SelfSubjectReview` (`kubectl auth whoami`) at `api_version`
/// (`authentication.k8s.io/v1`, `v1beta1` or `v1alpha1`), created at `created` (RFC 3339).
pub fn self_review(api_version: &str, user: &UserInfo, created: &str) -> Value {
    let mut info = Map::new();
    if !user.username.is_empty() {
        info.insert("username".into(), json!(user.username));
    }
    if let Some(uid) = user.uid.filter(|u| !u.is_empty()) {
        info.insert("uid".into(), json!(uid));
    }
    if !user.groups.is_empty() {
        info.insert("groups".into(), json!(user.groups));
    }
    if !user.extra.is_empty() {
        info.insert("extra".into(), json!(user.extra));
    }
    json_object(&[
        ("kind", json!("SelfSubjectReview")),
        ("apiVersion", json!(api_version)),
        ("metadata", json!({"creationTimestamp": created})),
        ("status", json!({"userInfo": Value::Object(info)})),
    ])
}

#[cfg(test)]
mod tests;
