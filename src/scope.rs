//! Namespace confinement decisions (pure). Until the full rule set lands (issue #5) the proxy is
//! safe by default: discovery, `/version` and OpenAPI pass; namespaced requests pass only in the
//! user's own namespace (and `get` of that namespace itself); everything else is refused.

use crate::request_info::{PathKind, ResourceInfo};

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward it.
    Allow,
    /// Refuse it with a 403 `Status` carrying this message.
    Deny(String),
}

/// Decide for a user whose namespace is `user_ns`; `user` is the hub name (for messages).
pub fn decide(kind: &PathKind, user: &str, user_ns: &str) -> Decision {
    match kind {
        PathKind::Discovery => Decision::Allow,
        PathKind::Other => Decision::Deny(format!(
            "forbidden: User \"{user}\" cannot access this path through kbatch-proxy"
        )),
        PathKind::Resource(r) => resource(r, user, user_ns),
    }
}

fn resource(r: &ResourceInfo, user: &str, user_ns: &str) -> Decision {
    let own = r.namespace.as_deref() == Some(user_ns);
    let allowed = if r.resource == "namespaces" && r.group.is_empty() {
        own && r.verb == "get" && r.subresource.is_none()
    } else {
        own
    };
    if allowed {
        return Decision::Allow;
    }
    Decision::Deny(forbidden_message(r, user, user_ns))
}

/// kube-apiserver's RBAC wording, followed by the reason kbatch-proxy refused.
fn forbidden_message(r: &ResourceInfo, user: &str, user_ns: &str) -> String {
    let qualified = if r.group.is_empty() {
        r.resource.clone()
    } else {
        format!("{}.{}", r.resource, r.group)
    };
    let sub = r
        .subresource
        .as_deref()
        .map(|s| format!("/{s}"))
        .unwrap_or_default();
    let what = match &r.name {
        Some(n) => format!("{qualified}{sub} \"{n}\" is forbidden"),
        None => format!("{qualified}{sub} is forbidden"),
    };
    let scope = match &r.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    format!(
        "{what}: User \"{user}\" cannot {} resource \"{}{sub}\" in API group \"{}\" {scope}: kbatch-proxy only gives access to namespace \"{user_ns}\"",
        r.verb, r.resource, r.group
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request_info::classify;
    use http::Method;

    fn d(method: Method, path: &str) -> Decision {
        decide(&classify(&method, path, None), "alice", "kbatch-alice")
    }

    #[test]
    fn safe_defaults() {
        let allow: &[(Method, &str)] = &[
            (Method::GET, "/version"),
            (Method::GET, "/api"),
            (Method::GET, "/apis/batch/v1"),
            (Method::GET, "/openapi/v3/apis/batch/v1"),
            (Method::GET, "/api/v1/namespaces/kbatch-alice/pods"),
            (Method::POST, "/apis/batch/v1/namespaces/kbatch-alice/jobs"),
            (Method::GET, "/api/v1/namespaces/kbatch-alice/pods/p/log"),
            (Method::POST, "/api/v1/namespaces/kbatch-alice/pods/p/exec"),
            (
                Method::GET,
                "/api/v1/watch/namespaces/kbatch-alice/configmaps",
            ),
            (Method::GET, "/api/v1/namespaces/kbatch-alice"),
        ];
        for (m, p) in allow {
            assert_eq!(d(m.clone(), p), Decision::Allow, "{p}");
        }
        let deny: &[(Method, &str)] = &[
            (Method::GET, "/api/v1/namespaces/kbatch-bob/pods"),
            (Method::GET, "/api/v1/pods"),
            (Method::GET, "/api/v1/namespaces"),
            (Method::DELETE, "/api/v1/namespaces/kbatch-alice"),
            (Method::PUT, "/api/v1/namespaces/kbatch-alice/finalize"),
            (Method::GET, "/api/v1/nodes"),
            (
                Method::POST,
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            ),
            (Method::GET, "/api/v1/watch/namespaces/default/pods"),
            (Method::GET, "/metrics"),
        ];
        for (m, p) in deny {
            assert!(matches!(d(m.clone(), p), Decision::Deny(_)), "{p}");
        }
    }

    #[test]
    fn messages_read_like_rbac() {
        let Decision::Deny(m) = d(Method::GET, "/api/v1/namespaces/kbatch-bob/pods") else {
            panic!("must deny")
        };
        assert_eq!(
            m,
            "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"kbatch-bob\": kbatch-proxy only gives access to namespace \"kbatch-alice\""
        );
        let Decision::Deny(m) = d(Method::GET, "/apis/batch/v1/jobs") else {
            panic!("must deny")
        };
        assert!(m.starts_with("jobs.batch is forbidden: User \"alice\" cannot list resource \"jobs\" in API group \"batch\" at the cluster scope"), "{m}");
    }
}
