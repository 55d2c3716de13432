//! The virtual, create-only kinds: SelfSubjectReview (`kubectl auth whoami`),
//! SelfSubjectAccessReview (`kubectl auth can-i`), SelfSubjectRulesReview (`can-i --list`),
//! and TokenRequest (`kubectl create token`), answered from the authorizer.

use serde_json::{json, Value};

use crate::api::{now, timestamp};
use crate::auth::{Attributes, Authz, UserInfo};
use crate::resources::ResourceDef;
use crate::status::{ApiError, ApiResult, Cause};

/// Answer a review: the request object with `status` filled in (201).
pub fn review(res: &ResourceDef, body: Value, user: &UserInfo, authz: &Authz) -> ApiResult<Value> {
    let mut out = json!({"kind": res.kind, "apiVersion": res.api_version()});
    match res.kind {
        "SelfSubjectReview" => {
            out["metadata"] = json!({"creationTimestamp": timestamp(now())});
            out["status"] = json!({"userInfo": user.to_json()});
        }
        "SelfSubjectAccessReview" => {
            let spec = body["spec"].clone();
            let allowed = access(&spec, user, authz, res)?;
            out["metadata"] = json!({"creationTimestamp": null});
            out["spec"] = spec;
            out["status"] = allowed;
        }
        "SelfSubjectRulesReview" => {
            let ns = body["spec"]["namespace"].as_str().unwrap_or("");
            out["metadata"] = json!({"creationTimestamp": null});
            out["spec"] = body["spec"].clone();
            let (resource_rules, non_resource_rules) = authz.rules_for(user, ns);
            out["status"] = json!({
                "resourceRules": resource_rules,
                "nonResourceRules": non_resource_rules,
                "incomplete": false
            });
        }
        _ => return Err(ApiError::method_not_allowed()),
    }
    Ok(out)
}

fn access(spec: &Value, user: &UserInfo, authz: &Authz, res: &ResourceDef) -> ApiResult<Value> {
    let ra = &spec["resourceAttributes"];
    let nra = &spec["nonResourceAttributes"];
    if ra.is_object() && nra.is_object() {
        return Err(ApiError::invalid(res, "", vec![Cause::new(
            "FieldValueInvalid",
            format!("Invalid value: \"{}\": cannot be specified in combination with resourceAttributes", nra),
            "spec.nonResourceAttributes",
        )]));
    }
    if ra.is_object() {
        let s = |k: &str| ra[k].as_str().unwrap_or("");
        let ns = s("namespace");
        let name = s("name");
        let a = Attributes {
            verb: s("verb"),
            group: s("group"),
            resource: s("resource"),
            subresource: s("subresource"),
            namespace: (!ns.is_empty()).then_some(ns),
            name: (!name.is_empty()).then_some(name),
        };
        return Ok(match authz.decide(user, &a) {
            Some(reason) if reason.is_empty() => json!({"allowed": true}),
            Some(reason) => json!({"allowed": true, "reason": reason}),
            None => json!({"allowed": false}),
        });
    }
    if nra.is_object() {
        let path = nra["path"].as_str().unwrap_or("");
        let verb = nra["verb"].as_str().unwrap_or("get");
        let allowed = if verb == "get" {
            authz.allowed_path(user, path)
        } else {
            authz.allowed_path_verb(user, verb, path)
        };
        return Ok(json!({"allowed": allowed}));
    }
    Err(ApiError::invalid(res, "", vec![Cause::new(
        "FieldValueRequired",
        "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
        "spec.resourceAttributes",
    )]))
}

/// A TokenRequest for ServiceAccount `sa` in `ns`: the answer and the new token.
pub fn token_request(body: &Value, ns: &str, sa: &str) -> (Value, String) {
    let secs = body["spec"]["expirationSeconds"].as_i64().unwrap_or(3600);
    let expires = now() + chrono::Duration::seconds(secs);
    let token = format!("standin-sa.{}", uuid::Uuid::new_v4().simple());
    let audiences = match body["spec"]["audiences"].as_array() {
        Some(a) if !a.is_empty() => json!(a),
        _ => json!(["https://kubernetes.default.svc.cluster.local"]),
    };
    let out = json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": sa, "namespace": ns, "creationTimestamp": timestamp(now())},
        "spec": {"audiences": audiences, "expirationSeconds": secs, "boundObjectRef": body["spec"]["boundObjectRef"].clone()},
        "status": {"token": token, "expirationTimestamp": timestamp(expires)}
    });
    (out, token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AccessRule;
    use crate::resources::find;

    #[test]
    fn access_review_follows_rules() {
        let mut authz = Authz::default();
        authz.add_rule(AccessRule::parse("alice=ns-a").expect("rule"));
        let alice = UserInfo::authenticated("alice", &[]);
        let res = find("authorization.k8s.io", "v1", "selfsubjectaccessreviews").expect("ssar");
        let body = |ns: &str| json!({"spec": {"resourceAttributes": {"namespace": ns, "verb": "create", "group": "batch", "resource": "jobs"}}});
        let yes = review(res, body("ns-a"), &alice, &authz).expect("review");
        assert_eq!(yes["status"]["allowed"], true);
        let no = review(res, body("ns-b"), &alice, &authz).expect("review");
        assert_eq!(no["status"]["allowed"], false);
        assert_eq!(
            review(res, json!({"spec": {}}), &alice, &authz)
                .map_err(|e| e.code)
                .err(),
            Some(422)
        );
        let ssr = find("authentication.k8s.io", "v1", "selfsubjectreviews").expect("ssr");
        let who = review(ssr, json!({}), &alice, &authz).expect("whoami");
        assert_eq!(who["status"]["userInfo"]["username"], "alice");
    }
}
