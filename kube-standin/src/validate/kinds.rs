//! Validation of the kinds added for Helm charts and RBAC, with kube-apiserver's field paths and
//! messages (`pkg/apis/{rbac,apps,policy,scheduling,storage,flowcontrol}/validation`).

use serde_json::Value;

use super::{deployment_selector, invalid, pod_spec, quote, required};
use crate::status::Cause;

fn not_supported(field: &str, value: &str, supported: &[&str]) -> Cause {
    let list: Vec<String> = supported.iter().map(|s| quote(s)).collect();
    Cause::new(
        "FieldValueNotSupported",
        format!(
            "Unsupported value: {}: supported values: {}",
            quote(value),
            list.join(", ")
        ),
        field,
    )
}

fn invalid_raw(field: &str, shown: &str, msg: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        format!("Invalid value: {shown}: {msg}"),
        field,
    )
}

fn forbidden(field: &str, msg: &str) -> Cause {
    Cause::new("FieldValueForbidden", format!("Forbidden: {msg}"), field)
}

/// `path.IsValidPathSegmentName`, the only rule RBAC object names follow.
pub(super) fn path_segment_errors(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    ["/", "%"]
        .iter()
        .filter(|c| name.contains(*c))
        .map(|c| format!("may not contain '{c}'"))
        .collect()
}

/// Go's `%#v` of a `[]string`: `[]string{"a", "b"}`.
fn go_string_slice(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(|s| quote(s.as_str().unwrap_or(""))).collect())
        .unwrap_or_default();
    format!("[]string{{{}}}", items.join(", "))
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

/// `validatePolicyRule` for each rule of a Role (`namespaced`) or ClusterRole.
pub(super) fn role(obj: &Value, namespaced: bool, causes: &mut Vec<Cause>) {
    for (i, r) in obj["rules"].as_array().into_iter().flatten().enumerate() {
        let p = format!("rules[{i}]");
        if len(&r["verbs"]) == 0 {
            causes.push(required(
                &format!("{p}.verbs"),
                "verbs must contain at least one value",
            ));
        }
        if len(&r["nonResourceURLs"]) > 0 {
            let shown = go_string_slice(&r["nonResourceURLs"]);
            let field = format!("{p}.nonResourceURLs");
            if namespaced {
                causes.push(invalid_raw(
                    &field,
                    &shown,
                    "namespaced rules cannot apply to non-resource URLs",
                ));
            }
            if len(&r["apiGroups"]) > 0 || len(&r["resources"]) > 0 || len(&r["resourceNames"]) > 0
            {
                causes.push(invalid_raw(
                    &field,
                    &shown,
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if len(&r["apiGroups"]) == 0 {
            causes.push(required(
                &format!("{p}.apiGroups"),
                "resource rules must supply at least one api group",
            ));
        }
        if len(&r["resources"]) == 0 {
            causes.push(required(
                &format!("{p}.resources"),
                "resource rules must supply at least one resource",
            ));
        }
        if len(&r["resourceNames"]) > 0 && len(&r["resources"]) > 1 {
            causes.push(required(
                &format!("{p}.resourceNames"),
                "resource names cannot apply to multiple resources",
            ));
        }
    }
}

/// `ValidateRoleBinding` / `ValidateClusterRoleBinding`.
pub(super) fn binding(obj: &Value, namespaced: bool, causes: &mut Vec<Cause>) {
    let rr = &obj["roleRef"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let group = crate::rbac::GROUP;
    if s(&rr["apiGroup"]) != group {
        causes.push(not_supported(
            "roleRef.apiGroup",
            &s(&rr["apiGroup"]),
            &[group],
        ));
    }
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&s(&rr["kind"]).as_str()) {
        causes.push(not_supported("roleRef.kind", &s(&rr["kind"]), kinds));
    }
    let name = s(&rr["name"]);
    if name.is_empty() {
        causes.push(required("roleRef.name", ""));
    }
    for msg in path_segment_errors(&name) {
        causes.push(invalid("roleRef.name", &name, &msg));
    }
    for (i, sub) in obj["subjects"].as_array().into_iter().flatten().enumerate() {
        subject(sub, namespaced, &format!("subjects[{i}]"), causes);
    }
}

fn subject(sub: &Value, namespaced: bool, p: &str, causes: &mut Vec<Cause>) {
    let s = |k: &str| sub[k].as_str().unwrap_or("").to_string();
    let (name, group) = (s("name"), s("apiGroup"));
    if name.is_empty() {
        causes.push(required(&format!("{p}.name"), ""));
    }
    let rbac = crate::rbac::GROUP;
    match s("kind").as_str() {
        "ServiceAccount" => {
            if !name.is_empty() && !super::is_dns_subdomain(&name) {
                causes.push(invalid(&format!("{p}.name"), &name, super::SUBDOMAIN_MSG));
            }
            if !group.is_empty() {
                causes.push(not_supported(&format!("{p}.apiGroup"), &group, &[""]));
            }
            if !namespaced && s("namespace").is_empty() {
                causes.push(required(&format!("{p}.namespace"), ""));
            }
        }
        kind @ ("User" | "Group") => {
            if name.is_empty() {
                let what = if kind == "User" { "user" } else { "group" };
                causes.push(invalid(
                    &format!("{p}.name"),
                    "",
                    &format!("{what} name cannot be empty"),
                ));
            }
            if group != rbac {
                causes.push(not_supported(&format!("{p}.apiGroup"), &group, &[rbac]));
            }
        }
        other => causes.push(not_supported(
            &format!("{p}.kind"),
            other,
            &["ServiceAccount", "User", "Group"],
        )),
    }
}

/// The `roleRef` of a binding as Go's `%#v` prints the internal struct.
pub(super) fn role_ref_go(obj: &Value) -> String {
    let rr = &obj["roleRef"];
    let s = |k: &str| quote(rr[k].as_str().unwrap_or(""));
    format!(
        "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
        s("apiGroup"),
        s("kind"),
        s("name")
    )
}

/// StatefulSet, DaemonSet, ReplicaSet: a selector matching the template, and a pod template
/// whose restart policy is `Always`.
pub(super) fn workload(obj: &Value, kind: &str, causes: &mut Vec<Cause>) {
    deployment_selector(obj, causes);
    if kind == "StatefulSet" {
        let policy = obj["spec"]["podManagementPolicy"].as_str().unwrap_or("");
        if !matches!(policy, "" | "OrderedReady" | "Parallel") {
            causes.push(not_supported(
                "spec.podManagementPolicy",
                policy,
                &["OrderedReady", "Parallel"],
            ));
        }
    }
    if kind != "DaemonSet" && obj["spec"]["replicas"].as_i64().is_some_and(|r| r < 0) {
        let r = obj["spec"]["replicas"].as_i64().unwrap_or(0);
        causes.push(invalid_raw(
            "spec.replicas",
            &r.to_string(),
            "must be greater than or equal to 0",
        ));
    }
    pod_spec(
        &obj["spec"]["template"]["spec"],
        "spec.template.spec",
        &["Always"],
        causes,
    );
}

const PERCENT_MSG: &str = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/// Go's `%#v` of an `intstr.IntOrString`.
fn int_or_string_go(v: &Value) -> String {
    match v {
        Value::String(s) => format!(
            "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
            quote(s)
        ),
        other => format!(
            "intstr.IntOrString{{Type:0, IntVal:{}, StrVal:\"\"}}",
            other.as_i64().unwrap_or(0)
        ),
    }
}

fn positive_int_or_percent(v: &Value, field: &str, causes: &mut Vec<Cause>) {
    match v {
        Value::String(s) => {
            let digits = s.strip_suffix('%').unwrap_or("");
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                causes.push(invalid_raw(field, &int_or_string_go(v), PERCENT_MSG));
            } else if digits.parse::<u64>().is_ok_and(|n| n > 100) {
                causes.push(invalid_raw(
                    field,
                    &int_or_string_go(v),
                    "must not be greater than 100%",
                ));
            }
        }
        Value::Number(n) if n.as_i64().is_some_and(|i| i < 0) => causes.push(invalid_raw(
            field,
            &n.to_string(),
            "must be greater than or equal to 0",
        )),
        _ => {}
    }
}

/// `ValidatePodDisruptionBudgetSpec`.
pub(super) fn pdb(obj: &Value, causes: &mut Vec<Cause>) {
    let spec = &obj["spec"];
    let (min, max) = (&spec["minAvailable"], &spec["maxUnavailable"]);
    if !min.is_null() && !max.is_null() {
        causes.push(invalid_raw(
            "spec",
            "policy.PodDisruptionBudgetSpec{MinAvailable:(*intstr.IntOrString)(0xc000a1c000), MaxUnavailable:(*intstr.IntOrString)(0xc000a1c020), Selector:(*v1.LabelSelector)(nil), UnhealthyPodEvictionPolicy:(*policy.UnhealthyPodEvictionPolicyType)(nil)}",
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    positive_int_or_percent(min, "spec.minAvailable", causes);
    positive_int_or_percent(max, "spec.maxUnavailable", causes);
    if let Some(p) = spec["unhealthyPodEvictionPolicy"].as_str() {
        if !matches!(p, "AlwaysAllow" | "IfHealthyBudget") {
            causes.push(not_supported(
                "spec.unhealthyPodEvictionPolicy",
                p,
                &["AlwaysAllow", "IfHealthyBudget"],
            ));
        }
    }
}

/// `ValidatePriorityClass`: the `system-` prefix is reserved, user values are capped.
pub(super) fn priority_class(obj: &Value, causes: &mut Vec<Cause>) {
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    let system = ["system-node-critical", "system-cluster-critical"];
    if name.starts_with("system-") && !system.contains(&name) {
        causes.push(forbidden(
            "metadata.name",
            "priority class names with 'system-' prefix are reserved for system use only",
        ));
    }
    if !system.contains(&name) && obj["value"].as_i64().is_some_and(|v| v > 1_000_000_000) {
        causes.push(forbidden(
            "value",
            "maximum allowed value of a user defined priority is 1000000000",
        ));
    }
    if let Some(p) = obj["preemptionPolicy"].as_str() {
        if !matches!(p, "PreemptLowerPriority" | "Never") {
            causes.push(not_supported(
                "preemptionPolicy",
                p,
                &["Never", "PreemptLowerPriority"],
            ));
        }
    }
}

/// `ValidateStorageClass`.
pub(super) fn storage_class(obj: &Value, causes: &mut Vec<Cause>) {
    let provisioner = obj["provisioner"].as_str().unwrap_or("");
    if provisioner.is_empty() {
        causes.push(required("provisioner", ""));
    }
    if let Some(p) = obj["reclaimPolicy"].as_str() {
        if !matches!(p, "Delete" | "Retain") {
            causes.push(not_supported("reclaimPolicy", p, &["Delete", "Retain"]));
        }
    }
    if let Some(m) = obj["volumeBindingMode"].as_str() {
        if !matches!(m, "Immediate" | "WaitForFirstConsumer") {
            causes.push(not_supported(
                "volumeBindingMode",
                m,
                &["Immediate", "WaitForFirstConsumer"],
            ));
        }
    }
}

/// `ValidateFlowSchema` (the parts charts get wrong): the priority level reference, the
/// precedence range, the distinguisher, and non-empty subjects of each rule.
pub(super) fn flow_schema(obj: &Value, causes: &mut Vec<Cause>) {
    let spec = &obj["spec"];
    if spec["priorityLevelConfiguration"]["name"]
        .as_str()
        .unwrap_or("")
        .is_empty()
    {
        causes.push(required(
            "spec.priorityLevelConfiguration.name",
            "must reference a priority level",
        ));
    }
    if let Some(p) = spec["matchingPrecedence"].as_i64() {
        if p <= 0 {
            causes.push(invalid_raw(
                "spec.matchingPrecedence",
                &p.to_string(),
                "must be a positive value",
            ));
        } else if p > 10000 {
            causes.push(invalid_raw(
                "spec.matchingPrecedence",
                &p.to_string(),
                "must not be greater than 10000",
            ));
        }
    }
    if let Some(t) = spec["distinguisherMethod"]
        .get("type")
        .and_then(Value::as_str)
    {
        if !matches!(t, "ByUser" | "ByNamespace") {
            causes.push(not_supported(
                "spec.distinguisherMethod.type",
                t,
                &["ByNamespace", "ByUser"],
            ));
        }
    }
    for (i, r) in spec["rules"].as_array().into_iter().flatten().enumerate() {
        if len(&r["subjects"]) == 0 {
            causes.push(required(
                &format!("spec.rules[{i}].subjects"),
                "subjects must contain at least one value",
            ));
        }
    }
}

/// `ValidatePriorityLevelConfiguration`: the type and its matching configuration.
pub(super) fn priority_level(obj: &Value, causes: &mut Vec<Cause>) {
    let spec = &obj["spec"];
    match spec["type"].as_str().unwrap_or("") {
        "" => causes.push(required("spec.type", "must provide a type")),
        "Limited" => {
            if spec["limited"].is_null() {
                causes.push(required(
                    "spec.limited",
                    "must not be empty when type is Limited",
                ));
            }
            if !spec["exempt"].is_null() {
                causes.push(forbidden(
                    "spec.exempt",
                    "must be nil if the type is Limited",
                ));
            }
        }
        "Exempt" => {
            if !spec["limited"].is_null() {
                causes.push(forbidden(
                    "spec.limited",
                    "must be nil if the type is not Limited",
                ));
            }
        }
        other => causes.push(not_supported("spec.type", other, &["Exempt", "Limited"])),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::resources::find;
    use crate::validate::{role_ref_unchanged, validate};

    #[test]
    fn messages_match_kube() {
        let rbac = "rbac.authorization.k8s.io";
        let cases = [
            (
                find(rbac, "v1", "rolebindings"),
                json!({"metadata": {"name": "rb"}, "roleRef": {"apiGroup": rbac}, "subjects": [{"kind": "User", "name": "x", "apiGroup": ""}, {"kind": "Robot", "name": "r"}]}),
                "RoleBinding.rbac.authorization.k8s.io \"rb\" is invalid: [roleRef.kind: Unsupported value: \"\": supported values: \"Role\", \"ClusterRole\", roleRef.name: Required value, subjects[0].apiGroup: Unsupported value: \"\": supported values: \"rbac.authorization.k8s.io\", subjects[1].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"]",
            ),
            (
                find(rbac, "v1", "clusterrolebindings"),
                json!({"metadata": {"name": "c"}, "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "r"}, "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}),
                "ClusterRoleBinding.rbac.authorization.k8s.io \"c\" is invalid: [roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\", subjects[0].namespace: Required value]",
            ),
            (
                find(rbac, "v1", "roles"),
                json!({"metadata": {"name": "r/x"}, "rules": [{"verbs": ["get"], "nonResourceURLs": ["/x"]}, {"resources": ["pods"]}]}),
                "Role.rbac.authorization.k8s.io \"r/x\" is invalid: [metadata.name: Invalid value: \"r/x\": may not contain '/', rules[0].nonResourceURLs: Invalid value: []string{\"/x\"}: namespaced rules cannot apply to non-resource URLs, rules[1].verbs: Required value: verbs must contain at least one value, rules[1].apiGroups: Required value: resource rules must supply at least one api group]",
            ),
            (
                find("policy", "v1", "poddisruptionbudgets"),
                json!({"metadata": {"name": "p"}, "spec": {"minAvailable": "150%"}}),
                "PodDisruptionBudget.policy \"p\" is invalid: spec.minAvailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%",
            ),
            (
                find("storage.k8s.io", "v1", "storageclasses"),
                json!({"metadata": {"name": "s"}, "reclaimPolicy": "Keep"}),
                "StorageClass.storage.k8s.io \"s\" is invalid: [provisioner: Required value, reclaimPolicy: Unsupported value: \"Keep\": supported values: \"Delete\", \"Retain\"]",
            ),
        ];
        for (res, obj, want) in cases {
            let res = res.expect("registered");
            let e = validate(res, &obj).expect_err("invalid");
            assert_eq!(e.message, want);
        }
        let rb = find(rbac, "v1", "rolebindings").expect("rb");
        let old = json!({"metadata": {"name": "rb"}, "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "view"}});
        let mut new = old.clone();
        new["roleRef"]["name"] = json!("edit");
        assert!(validate(rb, &json!({"metadata": {"name": "system:x"}, "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "r"}})).is_ok());
        assert!(role_ref_unchanged(rb, &old, &old).is_ok());
        assert_eq!(
            role_ref_unchanged(rb, &old, &new).expect_err("immutable").message,
            "RoleBinding.rbac.authorization.k8s.io \"rb\" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"ClusterRole\", Name:\"edit\"}: cannot change roleRef"
        );
    }
}
