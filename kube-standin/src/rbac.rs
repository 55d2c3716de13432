//! RBAC as kube-apiserver evaluates it (`plugin/pkg/auth/authorizer/rbac`,
//! `pkg/registry/rbac/validation`): policy-rule matching, subjects of bindings, rules a user
//! holds from the stored Roles/ClusterRoles and their bindings, escalation messages, and the
//! bootstrap policy (`cluster-admin`, `admin`, `edit`, `view`, `system:*`) a fresh cluster has.
//!
//! Everything here is pure except [`visit_rules`], which reads the store.

mod bootstrap;

use serde_json::{json, Map, Value};

use crate::auth::{Attributes, UserInfo};
use crate::resources::{self, ResourceDef};
use crate::store::Store;

pub use bootstrap::bootstrap_objects;

/// The RBAC API group.
pub const GROUP: &str = "rbac.authorization.k8s.io";

/// One `PolicyRule` (`rbac.authorization.k8s.io/v1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRule {
    /// Verbs, `*` for all.
    pub verbs: Vec<String>,
    /// API groups, `*` for all.
    pub api_groups: Vec<String>,
    /// Resources (`pods`, `pods/log`, `*/scale`, `*`).
    pub resources: Vec<String>,
    /// Object names; empty means all.
    pub resource_names: Vec<String>,
    /// Non-resource URLs (`/healthz`, `/api/*`, `*`), for cluster roles.
    pub non_resource_urls: Vec<String>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn has(set: &[String], s: &str) -> bool {
    set.iter().any(|x| x == s)
}

impl PolicyRule {
    /// A rule from its JSON form.
    pub fn from_json(v: &Value) -> Self {
        PolicyRule {
            verbs: strings(&v["verbs"]),
            api_groups: strings(&v["apiGroups"]),
            resources: strings(&v["resources"]),
            resource_names: strings(&v["resourceNames"]),
            non_resource_urls: strings(&v["nonResourceURLs"]),
        }
    }

    /// The JSON form in Go field order, empty lists omitted (`omitempty`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("verbs".into(), json!(self.verbs));
        for (k, v) in [
            ("apiGroups", &self.api_groups),
            ("resources", &self.resources),
            ("resourceNames", &self.resource_names),
            ("nonResourceURLs", &self.non_resource_urls),
        ] {
            if !v.is_empty() {
                m.insert(k.into(), json!(v));
            }
        }
        Value::Object(m)
    }

    fn verb_matches(&self, verb: &str) -> bool {
        has(&self.verbs, "*") || has(&self.verbs, verb)
    }

    /// `RuleAllows` for a resource request.
    pub fn allows(&self, a: &Attributes<'_>) -> bool {
        let group_ok = has(&self.api_groups, "*") || has(&self.api_groups, a.group);
        let combined = if a.subresource.is_empty() {
            a.resource.to_string()
        } else {
            format!("{}/{}", a.resource, a.subresource)
        };
        let resource_ok = self.resources.iter().any(|r| {
            r == "*"
                || *r == combined
                || (!a.subresource.is_empty() && *r == format!("*/{}", a.subresource))
        });
        let name_ok =
            self.resource_names.is_empty() || a.name.is_some_and(|n| has(&self.resource_names, n));
        self.verb_matches(a.verb) && group_ok && resource_ok && name_ok
    }

    /// `RuleAllows` for a non-resource request (`verb` is the lower-case HTTP verb).
    pub fn allows_path(&self, verb: &str, path: &str) -> bool {
        self.verb_matches(verb)
            && self.non_resource_urls.iter().any(|u| {
                u == "*"
                    || u == path
                    || (u.ends_with('*') && path.starts_with(u.trim_end_matches('*')))
            })
    }

    /// `rbacv1helpers.CompactString`: `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`.
    pub fn compact_string(&self) -> String {
        let mut parts = Vec::new();
        for (label, list) in [
            ("APIGroups", &self.api_groups),
            ("Resources", &self.resources),
            ("NonResourceURLs", &self.non_resource_urls),
            ("ResourceNames", &self.resource_names),
            ("Verbs", &self.verbs),
        ] {
            if !list.is_empty() {
                parts.push(format!("{label}:{}", go_quoted_list(list)));
            }
        }
        format!("{{{}}}", parts.join(", "))
    }
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub fn go_quoted_list(list: &[String]) -> String {
    let quoted: Vec<String> = list
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\"")))
        .collect();
    format!("[{}]", quoted.join(" "))
}

/// The rules of a Role or ClusterRole object.
pub fn rules_of(role: &Value) -> Vec<PolicyRule> {
    role["rules"]
        .as_array()
        .map(|a| a.iter().map(PolicyRule::from_json).collect())
        .unwrap_or_default()
}

/// `BreakdownRule`: one rule per (group, resource, verb[, name]) and per (URL, verb).
pub fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let one = |s: &String| vec![s.clone()];
    let mut out = Vec::new();
    for g in &rule.api_groups {
        for r in &rule.resources {
            for v in &rule.verbs {
                let base = PolicyRule {
                    api_groups: one(g),
                    resources: one(r),
                    verbs: one(v),
                    ..Default::default()
                };
                if rule.resource_names.is_empty() {
                    out.push(base);
                } else {
                    out.extend(rule.resource_names.iter().map(|n| PolicyRule {
                        resource_names: one(n),
                        ..base.clone()
                    }));
                }
            }
        }
    }
    for u in &rule.non_resource_urls {
        for v in &rule.verbs {
            out.push(PolicyRule {
                non_resource_urls: one(u),
                verbs: one(v),
                ..Default::default()
            });
        }
    }
    out
}

/// `CompactRules`: simple rules (one group, one resource, at most one name) that differ only by
/// verb are merged; the rest are kept as they are.
pub fn compact(rules: Vec<PolicyRule>) -> Vec<PolicyRule> {
    let mut kept = Vec::new();
    let mut simple: Vec<PolicyRule> = Vec::new();
    for r in rules {
        let is_simple = r.resource_names.len() <= 1
            && r.non_resource_urls.is_empty()
            && r.api_groups.len() == 1
            && r.resources.len() == 1;
        if !is_simple {
            kept.push(r);
            continue;
        }
        match simple.iter_mut().find(|s| {
            s.api_groups == r.api_groups
                && s.resources == r.resources
                && s.resource_names == r.resource_names
        }) {
            Some(s) => s.verbs.extend(r.verbs),
            None => simple.push(r),
        }
    }
    kept.extend(simple);
    kept
}

/// `ConfirmNoEscalation`'s message for `missing` (already broken down), as kube words it.
pub fn escalation_message(user: &UserInfo, missing: Vec<PolicyRule>) -> String {
    let mut lines: Vec<String> = compact(missing)
        .iter()
        .map(PolicyRule::compact_string)
        .collect();
    lines.sort();
    lines.dedup();
    format!(
        "user \"{}\" (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        user.name,
        go_quoted_list(&user.groups),
        lines.join("\n")
    )
}

/// `appliesToUser`: whether a binding `subject` names `user` (`namespace` is the binding's,
/// `""` for a ClusterRoleBinding).
pub fn subject_applies(subject: &Value, user: &UserInfo, namespace: &str) -> bool {
    let name = subject["name"].as_str().unwrap_or("");
    match subject["kind"].as_str().unwrap_or("") {
        "User" => user.name == name,
        "Group" => has(&user.groups, name),
        "ServiceAccount" => {
            let ns = subject["namespace"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or(namespace);
            !ns.is_empty() && user.name == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

fn res(plural: &str) -> &'static ResourceDef {
    // The RBAC kinds are in the registry; a missing one is a programming error caught by tests.
    resources::find(GROUP, "v1", plural).expect("RBAC kinds must be registered")
}

/// Where a rule came from, for `RBAC: allowed by …` reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `ClusterRoleBinding` or `RoleBinding`.
    pub binding_kind: &'static str,
    /// `name` (cluster) or `name/namespace`.
    pub binding: String,
    /// `Role` or `ClusterRole`.
    pub role_kind: String,
    /// The role's name.
    pub role: String,
    /// The matching subject, as kube describes it (`User "alice"`).
    pub subject: String,
}

impl Source {
    /// kube's `RBAC: allowed by …` text.
    pub fn reason(&self) -> String {
        format!(
            "RBAC: allowed by {} \"{}\" of {} \"{}\" to {}",
            self.binding_kind, self.binding, self.role_kind, self.role, self.subject
        )
    }
}

fn describe_subject(s: &Value, binding_ns: &str) -> String {
    let kind = s["kind"].as_str().unwrap_or("");
    let name = s["name"].as_str().unwrap_or("");
    if kind == "ServiceAccount" {
        let ns = s["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or(binding_ns);
        return format!("{kind} \"{name}/{ns}\"");
    }
    format!("{kind} \"{name}\"")
}

/// The rules a RoleRef points at (`GetRoleReferenceRules`); `Err` is the 404 (or 500) kube
/// answers when the role is missing (or the kind is unsupported).
pub fn role_ref_rules(
    store: &Store,
    role_ref: &Value,
    namespace: &str,
) -> Result<Vec<PolicyRule>, crate::status::ApiError> {
    let name = role_ref["name"].as_str().unwrap_or("");
    let (r, ns) = match role_ref["kind"].as_str().unwrap_or("") {
        "Role" => (res("roles"), namespace),
        "ClusterRole" => (res("clusterroles"), ""),
        other => {
            return Err(crate::status::ApiError::internal(format!(
                "unsupported role reference kind: \"{other}\""
            )))
        }
    };
    store
        .get(r, ns, name)
        .map(|role| rules_of(&role))
        .ok_or_else(|| crate::status::ApiError::not_found(r, name))
}

/// `VisitRulesFor`: every rule `user` holds through ClusterRoleBindings, then (when `namespace`
/// is given) RoleBindings in that namespace; `visit` returns `false` to stop.
pub fn visit_rules(
    store: &Store,
    user: &UserInfo,
    namespace: Option<&str>,
    mut visit: impl FnMut(&PolicyRule, &Source) -> bool,
) {
    let mut bindings: Vec<(&'static str, Value)> = store
        .list(res("clusterrolebindings"), None)
        .0
        .into_iter()
        .map(|b| ("ClusterRoleBinding", b))
        .collect();
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        let (rbs, _) = store.list(res("rolebindings"), Some(ns));
        bindings.extend(rbs.into_iter().map(|b| ("RoleBinding", b)));
    }
    for (kind, b) in bindings {
        let ns = b["metadata"]["namespace"].as_str().unwrap_or("");
        let Some(subject) = b["subjects"]
            .as_array()
            .and_then(|s| s.iter().find(|s| subject_applies(s, user, ns)))
        else {
            continue;
        };
        let Ok(rules) = role_ref_rules(store, &b["roleRef"], ns) else {
            continue;
        };
        let name = b["metadata"]["name"].as_str().unwrap_or("");
        let source = Source {
            binding_kind: kind,
            binding: if ns.is_empty() {
                name.to_string()
            } else {
                format!("{name}/{ns}")
            },
            role_kind: b["roleRef"]["kind"].as_str().unwrap_or("").to_string(),
            role: b["roleRef"]["name"].as_str().unwrap_or("").to_string(),
            subject: describe_subject(subject, ns),
        };
        for rule in &rules {
            if !visit(rule, &source) {
                return;
            }
        }
    }
}

/// The binding (as a reason) that allows `a` for `user`, if any.
pub fn allowed_by(store: &Store, user: &UserInfo, a: &Attributes<'_>) -> Option<String> {
    let mut found = None;
    visit_rules(store, user, a.namespace, |rule, source| {
        if rule.allows(a) {
            found = Some(source.reason());
            return false;
        }
        true
    });
    found
}

/// Whether a binding lets `user` `verb` the non-resource `path`.
pub fn allows_path(store: &Store, user: &UserInfo, verb: &str, path: &str) -> bool {
    let mut ok = false;
    visit_rules(store, user, None, |rule, _| {
        ok = rule.allows_path(verb, path);
        !ok
    });
    ok
}

/// Whether `kind` is one of the four RBAC kinds guarded against escalation.
pub fn is_rbac_kind(r: &ResourceDef) -> bool {
    r.group == GROUP
}

/// Seed the bootstrap policy into `store` (a fresh cluster's ClusterRoles and bindings).
pub fn seed(store: &Store) {
    let t = crate::api::timestamp(crate::api::now());
    for mut obj in bootstrap_objects() {
        let kind = obj["kind"].as_str().unwrap_or("");
        let r = if kind == "ClusterRole" {
            res("clusterroles")
        } else {
            res("clusterrolebindings")
        };
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        obj["metadata"]["uid"] = json!(uuid::Uuid::new_v4().to_string());
        obj["metadata"]["creationTimestamp"] = json!(t);
        crate::proto::order_keys(&mut obj);
        let _ = store.write(r, "", &name, crate::store::Write::Create(obj), None);
    }
}

/// Metadata fields a GC-only update may touch (`IsOnlyMutatingGCFields`), plus server-managed
/// ones that never count as a change of the object.
fn without_gc_fields(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o["metadata"].as_object_mut() {
        for k in [
            "ownerReferences",
            "finalizers",
            "managedFields",
            "resourceVersion",
        ] {
            m.remove(k);
        }
    }
    o
}

/// kube's escalation prevention for writes of Roles, ClusterRoles, RoleBindings and
/// ClusterRoleBindings (`pkg/registry/rbac/*/policybased`): `obj` is the object about to be
/// stored in `namespace` (`""` for cluster scope), `old` the stored one on update. The writer
/// must hold every permission granted (or `escalate` on roles, `bind` on the referenced role);
/// `system:masters` always may.
pub fn check_escalation(
    authz: &crate::auth::Authz,
    user: &UserInfo,
    r: &ResourceDef,
    namespace: &str,
    obj: &Value,
    old: Option<&Value>,
) -> Result<(), crate::status::ApiError> {
    if !is_rbac_kind(r) || user.is_master() {
        return Ok(());
    }
    if old.is_some_and(|o| without_gc_fields(o) == without_gc_fields(obj)) {
        return Ok(());
    }
    let ns = (!namespace.is_empty()).then_some(namespace);
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    let may = |verb: &str, group: &str, resource: &str, name: Option<&str>| {
        authz.allowed(
            user,
            &Attributes {
                verb,
                group,
                resource,
                subresource: "",
                namespace: ns,
                name,
            },
        )
    };
    let rules = match r.kind {
        "Role" | "ClusterRole" => {
            // RequestInfo carries no name on create.
            let request_name = old.map(|_| name);
            if may("escalate", GROUP, r.plural, request_name) {
                return Ok(());
            }
            rules_of(obj)
        }
        _ => {
            let role_ref = &obj["roleRef"];
            let plural = match role_ref["kind"].as_str() {
                Some("Role") => Some("roles"),
                Some("ClusterRole") => Some("clusterroles"),
                _ => None,
            };
            let group = role_ref["apiGroup"].as_str().unwrap_or("");
            if plural.is_some_and(|p| may("bind", group, p, role_ref["name"].as_str())) {
                return Ok(());
            }
            let store = authz
                .store()
                .ok_or_else(|| crate::status::ApiError::internal("no RBAC store"))?;
            role_ref_rules(store, role_ref, namespace)?
        }
    };
    let missing = missing_rules(authz, user, ns, &rules);
    let forbidden = |msg: String| {
        let mut d = Map::new();
        d.insert("name".into(), json!(name));
        d.insert("group".into(), json!(GROUP));
        d.insert("kind".into(), json!(r.plural));
        crate::status::ApiError::forbidden_details(
            format!("{} \"{name}\" is forbidden: {msg}", r.qualified_plural()),
            d,
        )
    };
    if !missing.is_empty() {
        return Err(forbidden(escalation_message(user, missing)));
    }
    if r.kind == "ClusterRole" && obj.get("aggregationRule").is_some_and(|a| !a.is_null()) {
        let full = [
            rule_all(),
            PolicyRule {
                non_resource_urls: vec!["*".into()],
                verbs: vec!["*".into()],
                ..Default::default()
            },
        ];
        if !missing_rules(authz, user, ns, &full).is_empty() {
            return Err(forbidden(
                "must have cluster-admin privileges to use the aggregationRule".into(),
            ));
        }
    }
    Ok(())
}

fn rule_all() -> PolicyRule {
    PolicyRule {
        verbs: vec!["*".into()],
        api_groups: vec!["*".into()],
        resources: vec!["*".into()],
        ..Default::default()
    }
}

/// The broken-down rules of `rules` that `user` does not hold in `namespace` (`Covers`).
/// Holding is asked of the authorizer with the rule's literal values, which is what `Covers`
/// computes: a `*` in the granted rule is only covered by a `*` held.
pub fn missing_rules(
    authz: &crate::auth::Authz,
    user: &UserInfo,
    namespace: Option<&str>,
    rules: &[PolicyRule],
) -> Vec<PolicyRule> {
    rules
        .iter()
        .flat_map(breakdown)
        .filter(|sub| !holds(authz, user, namespace, sub))
        .collect()
}

fn holds(
    authz: &crate::auth::Authz,
    user: &UserInfo,
    namespace: Option<&str>,
    sub: &PolicyRule,
) -> bool {
    let verb = sub.verbs.first().map(String::as_str).unwrap_or("");
    if let Some(url) = sub.non_resource_urls.first() {
        return authz.allowed_path_verb(user, verb, url);
    }
    let resource = sub.resources.first().map(String::as_str).unwrap_or("");
    let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
    authz.allowed(
        user,
        &Attributes {
            verb,
            group: sub.api_groups.first().map(String::as_str).unwrap_or(""),
            resource,
            subresource,
            namespace,
            name: sub.resource_names.first().map(String::as_str),
        },
    )
}

#[cfg(test)]
mod tests;
