//! Authentication (bearer tokens, client certificates, anonymous), impersonation and a small
//! RBAC-like authorizer, with the messages kube-apiserver answers.
//!
//! The authorizer: `system:masters` may do anything; other users get what [`AccessRule`]s grant
//! them (verbs × resources × namespaces) plus what the stored RoleBindings and
//! ClusterRoleBindings give them ([`crate::rbac`]); it answers every question the way RBAC would
//! phrase it, so tests can tell the proxy's credential from a user's and check impersonation end
//! to end.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use http::HeaderMap;
use serde_json::{json, Map, Value};

use crate::rbac;
use crate::resources::ResourceDef;
use crate::status::ApiError;
use crate::store::Store;

/// The authenticated (or impersonated) user of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserInfo {
    /// User name.
    pub name: String,
    /// UID, if known.
    pub uid: Option<String>,
    /// Groups, including `system:authenticated` for authenticated users.
    pub groups: Vec<String>,
    /// Extra attributes (`Impersonate-Extra-*`).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// `system:anonymous` in `system:unauthenticated`.
    pub fn anonymous() -> Self {
        UserInfo {
            name: "system:anonymous".into(),
            groups: vec!["system:unauthenticated".into()],
            ..Default::default()
        }
    }

    /// An authenticated user with `groups` plus `system:authenticated`.
    pub fn authenticated(name: &str, groups: &[String]) -> Self {
        let mut g: Vec<String> = groups.to_vec();
        if !g.iter().any(|x| x == "system:authenticated") {
            g.push("system:authenticated".into());
        }
        UserInfo {
            name: name.into(),
            groups: g,
            ..Default::default()
        }
    }

    /// Whether the user is anonymous.
    pub fn is_anonymous(&self) -> bool {
        self.name == "system:anonymous"
    }

    /// Whether the user is in `system:masters` (RBAC escalation checks do not apply).
    pub fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }

    /// The `userInfo` object of a SelfSubjectReview.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("username".into(), json!(self.name));
        if let Some(uid) = &self.uid {
            m.insert("uid".into(), json!(uid));
        }
        m.insert("groups".into(), json!(self.groups));
        if !self.extra.is_empty() {
            m.insert("extra".into(), json!(self.extra));
        }
        Value::Object(m)
    }
}

/// A grant: `subject` (a user name, or `group:<name>`) may use `verbs` on `resources` in
/// `namespaces`. `"*"` is a wildcard in each list. Cluster-scoped resources match only rules
/// whose namespaces contain `"*"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    /// User name or `group:<group>`.
    pub subject: String,
    /// Verbs (`get`, `list`, …, `impersonate`), or `*`.
    pub verbs: Vec<String>,
    /// Resources as `plural` or `plural/subresource` (optionally `plural.group`), or `*`.
    pub resources: Vec<String>,
    /// Namespaces, or `*` (which also covers cluster-scoped resources).
    pub namespaces: Vec<String>,
}

impl AccessRule {
    /// Parse `SUBJECT=NS1,NS2` (all verbs, all resources in those namespaces) or
    /// `SUBJECT=NS1,NS2:VERB,VERB:RESOURCE,RESOURCE`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (subject, rest) = s.split_once('=').ok_or_else(|| {
            format!("access rule {s:?}: expected SUBJECT=NAMESPACES[:VERBS[:RESOURCES]]")
        })?;
        let mut parts = rest.splitn(3, ':');
        let list = |p: Option<&str>| -> Vec<String> {
            match p {
                Some(p) if !p.is_empty() => p.split(',').map(str::to_string).collect(),
                _ => vec!["*".to_string()],
            }
        };
        Ok(AccessRule {
            subject: subject.to_string(),
            namespaces: list(parts.next()),
            verbs: list(parts.next()),
            resources: list(parts.next()),
        })
    }

    fn applies_to(&self, user: &UserInfo) -> bool {
        match self.subject.strip_prefix("group:") {
            Some(g) => user.groups.iter().any(|x| x == g),
            None => self.subject == user.name,
        }
    }

    fn allows(&self, verb: &str, resource: &str, group: &str, namespace: Option<&str>) -> bool {
        let any = |list: &[String], v: &str| list.iter().any(|x| x == "*" || x == v);
        let qualified = if group.is_empty() {
            resource.to_string()
        } else {
            format!("{resource}.{group}")
        };
        let resource_ok = self
            .resources
            .iter()
            .any(|r| r == "*" || *r == resource || *r == qualified);
        let ns_ok = match namespace {
            Some(ns) => any(&self.namespaces, ns),
            None => self.namespaces.iter().any(|n| n == "*"),
        };
        any(&self.verbs, verb) && resource_ok && ns_ok
    }
}

/// Who may do what: tokens, rules, and the decisions built on them.
#[derive(Debug, Clone, Default)]
pub struct Authz {
    tokens: HashMap<String, UserInfo>,
    rules: Vec<AccessRule>,
    store: Option<RbacStore>,
}

/// The store whose Roles and bindings the authorizer reads.
#[derive(Clone)]
struct RbacStore(Arc<Store>);

impl std::fmt::Debug for RbacStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RbacStore")
    }
}

/// One attribute set to authorize (as a SubjectAccessReview's resourceAttributes).
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    /// Verb.
    pub verb: &'a str,
    /// API group.
    pub group: &'a str,
    /// Plural resource.
    pub resource: &'a str,
    /// Subresource (`""` for none).
    pub subresource: &'a str,
    /// Namespace (`None` = cluster scope).
    pub namespace: Option<&'a str>,
    /// Object name, if any.
    pub name: Option<&'a str>,
}

impl Authz {
    /// An authorizer with the given token table and rules.
    pub fn new(tokens: HashMap<String, UserInfo>, rules: Vec<AccessRule>) -> Self {
        Authz {
            tokens,
            rules,
            store: None,
        }
    }

    /// Add a token for a user.
    pub fn add_token(&mut self, token: &str, user: UserInfo) {
        self.tokens.insert(token.to_string(), user);
    }

    /// Add a rule.
    pub fn add_rule(&mut self, rule: AccessRule) {
        self.rules.push(rule);
    }

    /// Also grant what the RoleBindings and ClusterRoleBindings stored in `store` give.
    pub fn set_store(&mut self, store: Arc<Store>) {
        self.store = Some(RbacStore(store));
    }

    /// The store RBAC objects are read from, if any.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref().map(|s| s.0.as_ref())
    }

    /// The user a bearer token belongs to.
    pub fn user_for_token(&self, token: &str) -> Option<UserInfo> {
        self.tokens.get(token).cloned()
    }

    /// Whether `user` may act as described.
    pub fn allowed(&self, user: &UserInfo, a: &Attributes<'_>) -> bool {
        self.decide(user, a).is_some()
    }

    /// The reason `user` may act as described (as a SubjectAccessReview reports it; empty for
    /// `system:masters`, as kube's privileged-group authorizer gives none), `None` when denied.
    pub fn decide(&self, user: &UserInfo, a: &Attributes<'_>) -> Option<String> {
        if user.is_master() {
            return Some(String::new());
        }
        if self.allowed_static(user, a) {
            return Some("allowed by the kube-standin authorizer".into());
        }
        rbac::allowed_by(self.store()?, user, a)
    }

    fn allowed_static(&self, user: &UserInfo, a: &Attributes<'_>) -> bool {
        let resource = if a.subresource.is_empty() {
            a.resource.to_string()
        } else {
            format!("{}/{}", a.resource, a.subresource)
        };
        // Every authenticated user may review itself (system:basic-user).
        if !user.is_anonymous()
            && a.verb == "create"
            && matches!(
                a.resource,
                "selfsubjectaccessreviews" | "selfsubjectrulesreviews" | "selfsubjectreviews"
            )
        {
            return true;
        }
        self.rules
            .iter()
            .any(|r| r.applies_to(user) && r.allows(a.verb, &resource, a.group, a.namespace))
    }

    /// Whether `user` may GET a non-resource path (discovery for authenticated users,
    /// `/version` and health for everyone).
    pub fn allowed_path(&self, user: &UserInfo, path: &str) -> bool {
        let public = ["/version", "/version/", "/healthz", "/livez", "/readyz"];
        public.contains(&path)
            || !user.is_anonymous()
            || self
                .store()
                .is_some_and(|s| rbac::allows_path(s, user, "get", path))
    }

    /// Whether `user` may `verb` the non-resource `path` by RBAC alone (masters always may).
    pub fn allowed_path_verb(&self, user: &UserInfo, verb: &str, path: &str) -> bool {
        user.is_master()
            || self
                .store()
                .is_some_and(|s| rbac::allows_path(s, user, verb, path))
    }

    /// The rules that apply to `user` in `namespace`, as SelfSubjectRulesReview
    /// `(resourceRules, nonResourceRules)`: the stored bindings' rules (cluster-wide first), then
    /// the static grants.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> (Vec<Value>, Vec<Value>) {
        let mut resource_rules = Vec::new();
        let mut url_rules = Vec::new();
        match self.store() {
            Some(store) => rbac::visit_rules(store, user, Some(namespace), |r, _| {
                let j = r.to_json();
                if r.non_resource_urls.is_empty() {
                    resource_rules.push(j);
                } else {
                    url_rules.push(j);
                }
                true
            }),
            None => {
                resource_rules.push(json!({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]}));
                resource_rules.push(json!({"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]}));
                url_rules.push(json!({"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]}));
                if user.is_master() {
                    resource_rules
                        .push(json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}));
                }
            }
        }
        for r in &self.rules {
            if r.applies_to(user) && r.namespaces.iter().any(|n| n == "*" || n == namespace) {
                resource_rules
                    .push(json!({"verbs": r.verbs, "apiGroups": ["*"], "resources": r.resources}));
            }
        }
        (resource_rules, url_rules)
    }

    /// Apply `Impersonate-*` headers: the impersonated user, or the authenticated one when
    /// there are none. Errors as kube-apiserver answers them.
    pub fn impersonate(
        &self,
        user: UserInfo,
        headers: &HeaderMap,
        path: &str,
    ) -> Result<(UserInfo, Option<UserInfo>), ApiError> {
        let target = headers
            .get("impersonate-user")
            .and_then(|v| v.to_str().ok());
        let groups: Vec<String> = headers
            .get_all("impersonate-group")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        let uid = headers
            .get("impersonate-uid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in headers {
            if let Some(key) = name.as_str().strip_prefix("impersonate-extra-") {
                let key = percent_decode(key);
                if let Ok(v) = value.to_str() {
                    extra.entry(key).or_default().push(v.to_string());
                }
            }
        }
        let Some(target) = target else {
            if groups.is_empty() && extra.is_empty() && uid.is_none() {
                return Ok((user, None));
            }
            let requested: Vec<String> = groups
                .iter()
                .map(|g| format!("{{Group  {g}    }}"))
                .collect();
            return Err(ApiError {
                plain_text: true,
                ..ApiError::internal_plain(format!(
                    "Internal Server Error: \"{path}\": requested [{}] without impersonating a user",
                    requested.join(" ")
                ))
            });
        };
        let may = |resource: &str, name: &str| {
            self.allowed(
                &user,
                &Attributes {
                    verb: "impersonate",
                    group: "",
                    resource,
                    subresource: "",
                    namespace: None,
                    name: Some(name),
                },
            )
        };
        let (kind, name) = match target.strip_prefix("system:serviceaccount:") {
            Some(rest) => ("serviceaccounts", rest.rsplit(':').next().unwrap_or(rest)),
            None => ("users", target),
        };
        let denied_group = groups.iter().find(|g| !may("groups", g));
        if !may(kind, name) || denied_group.is_some() {
            let (kind, name) = match denied_group {
                Some(g) if may(kind, name) => ("groups", g.as_str()),
                _ => (kind, name),
            };
            let mut d = Map::new();
            d.insert("name".into(), json!(name));
            d.insert("kind".into(), json!(kind));
            return Err(ApiError::forbidden_details(
                format!(
                    "{kind} \"{name}\" is forbidden: User \"{}\" cannot impersonate resource \"{kind}\" in API group \"\" at the cluster scope",
                    user.name
                ),
                d,
            ));
        }
        let mut impersonated = UserInfo {
            name: target.to_string(),
            uid,
            groups,
            extra,
        };
        if let Some(rest) = target.strip_prefix("system:serviceaccount:") {
            if let Some((ns, _)) = rest.split_once(':') {
                impersonated.groups.push("system:serviceaccounts".into());
                impersonated
                    .groups
                    .push(format!("system:serviceaccounts:{ns}"));
            }
        }
        if !impersonated
            .groups
            .iter()
            .any(|g| g == "system:authenticated")
        {
            impersonated.groups.push("system:authenticated".into());
        }
        Ok((impersonated, Some(user)))
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .to_string()
}

/// The bearer token of a request (`Authorization: Bearer …`, case-insensitive scheme).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The 403 kube-apiserver answers when RBAC denies a resource request.
pub fn forbidden(user: &UserInfo, res: &ResourceDef, a: &Attributes<'_>) -> ApiError {
    let resource = res.qualified_plural();
    let sub = if a.subresource.is_empty() {
        String::new()
    } else {
        format!("/{}", a.subresource)
    };
    let scope = match a.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    let what = match a.name {
        Some(n) => format!("{resource}{sub} \"{n}\" is forbidden"),
        None => format!("{resource}{sub} is forbidden"),
    };
    let mut d = Map::new();
    if let Some(n) = a.name {
        d.insert("name".into(), json!(n));
    }
    if !res.group.is_empty() {
        d.insert("group".into(), json!(res.group));
    }
    d.insert("kind".into(), json!(res.plural));
    ApiError::forbidden_details(
        format!(
            "{what}: User \"{}\" cannot {} resource \"{}{sub}\" in API group \"{}\" {scope}",
            user.name, a.verb, res.plural, res.group
        ),
        d,
    )
}

/// The 403 for a non-resource path.
pub fn forbidden_path(user: &UserInfo, path: &str) -> ApiError {
    ApiError::forbidden_details(
        format!(
            "forbidden: User \"{}\" cannot get path \"{path}\"",
            user.name
        ),
        Map::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::find;

    fn authz() -> Authz {
        let mut a = Authz::default();
        a.add_token(
            "admin-token",
            UserInfo::authenticated("admin", &["system:masters".into()]),
        );
        a.add_token("alice-token", UserInfo::authenticated("alice", &[]));
        a.add_rule(AccessRule::parse("alice=ns-a").expect("rule"));
        a.add_rule(AccessRule::parse("group:readers=*:get,list,watch:pods").expect("rule"));
        a
    }

    fn attrs<'a>(verb: &'a str, resource: &'a str, ns: Option<&'a str>) -> Attributes<'a> {
        Attributes {
            verb,
            group: "",
            resource,
            subresource: "",
            namespace: ns,
            name: None,
        }
    }

    #[test]
    fn rules_decide() {
        let a = authz();
        let alice = a.user_for_token("alice-token").expect("alice");
        let admin = a.user_for_token("admin-token").expect("admin");
        let reader = UserInfo::authenticated("bob", &["readers".into()]);
        assert!(a.allowed(&alice, &attrs("create", "pods", Some("ns-a"))));
        assert!(!a.allowed(&alice, &attrs("list", "pods", Some("ns-b"))));
        assert!(!a.allowed(&alice, &attrs("list", "namespaces", None)));
        assert!(a.allowed(&admin, &attrs("list", "namespaces", None)));
        assert!(a.allowed(&reader, &attrs("list", "pods", Some("x"))));
        assert!(!a.allowed(&reader, &attrs("delete", "pods", Some("x"))));
        assert!(a.allowed(&alice, &attrs("create", "selfsubjectreviews", None)));
        assert!(!a.allowed(
            &UserInfo::anonymous(),
            &attrs("create", "selfsubjectreviews", None)
        ));
    }

    #[test]
    fn forbidden_message_matches_rbac() {
        let pods = find("", "v1", "pods").expect("pods");
        let user = UserInfo::authenticated("system:serviceaccount:ref-a:ref-user", &[]);
        let e = forbidden(&user, pods, &attrs("list", "pods", Some("ref-b")));
        assert_eq!(
            serde_json::to_string(&e.to_status()).expect("json"),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"system:serviceaccount:ref-a:ref-user\" cannot list resource \"pods\" in API group \"\" in the namespace \"ref-b\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}"#
        );
    }

    #[test]
    fn impersonation() {
        let a = authz();
        let admin = a.user_for_token("admin-token").expect("admin");
        let alice = a.user_for_token("alice-token").expect("alice");
        let mut h = HeaderMap::new();
        h.insert("impersonate-user", "jane".parse().expect("hv"));
        h.append("impersonate-group", "dev".parse().expect("hv"));
        h.append("impersonate-group", "qa".parse().expect("hv"));
        h.insert("impersonate-extra-reason", "testing".parse().expect("hv"));
        let (u, by) = a.impersonate(admin.clone(), &h, "/api").expect("allowed");
        assert_eq!(u.name, "jane");
        assert_eq!(u.groups, vec!["dev", "qa", "system:authenticated"]);
        assert_eq!(u.extra["reason"], vec!["testing"]);
        assert_eq!(by.map(|b| b.name), Some("admin".to_string()));
        let e = a.impersonate(alice, &h, "/api").expect_err("denied");
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "users \"jane\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
        );
        let mut g = HeaderMap::new();
        g.insert("impersonate-group", "dev".parse().expect("hv"));
        let e = a
            .impersonate(admin, &g, "/api/v1/namespaces/ref-a/pods")
            .expect_err("500");
        assert_eq!(e.code, 500);
        assert_eq!(
            e.message,
            "Internal Server Error: \"/api/v1/namespaces/ref-a/pods\": requested [{Group  dev    }] without impersonating a user"
        );
    }
}
