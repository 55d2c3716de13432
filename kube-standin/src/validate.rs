//! Validation of objects before they are stored, with kube-apiserver's field paths, reasons
//! and messages (`crud/*.txt`: 422 Invalid with causes).

use serde_json::{json, Value};

use crate::resources::ResourceDef;
use crate::status::{ApiError, Cause};

mod kinds;

const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn invalid(field: &str, value: &str, msg: &str) -> Cause {
    Cause::new(
        "FieldValueInvalid",
        format!("Invalid value: {}: {msg}", quote(value)),
        field,
    )
}

fn required(field: &str, detail: &str) -> Cause {
    let message = if detail.is_empty() {
        "Required value".to_string()
    } else {
        format!("Required value: {detail}")
    };
    Cause::new("FieldValueRequired", message, field)
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// RFC 1123 label: lower-case alphanumerics and '-', at most 63 characters.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A label value: empty, or alphanumerics with '-', '_', '.' inside, at most 63 characters.
pub fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 63
            && s.chars()
                .all(|c| is_alnum(c) || matches!(c, '-' | '_' | '.'))
            && s.starts_with(is_alnum)
            && s.ends_with(is_alnum))
}

/// A qualified name (`prefix/name`), as label and annotation keys must be.
pub fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    prefix.is_none_or(is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}

fn metadata(res: &ResourceDef, obj: &Value, causes: &mut Vec<Cause>) {
    let meta = &obj["metadata"];
    let name = meta["name"].as_str().unwrap_or("");
    if name.is_empty() {
        if meta["generateName"].as_str().unwrap_or("").is_empty() {
            causes.push(required(
                "metadata.name",
                "name or generateName is required",
            ));
        }
    } else {
        let namespace_like = matches!(res.kind, "Namespace" | "Service");
        if res.group == crate::rbac::GROUP {
            for msg in kinds::path_segment_errors(name) {
                causes.push(invalid("metadata.name", name, &msg));
            }
        } else if namespace_like && !is_dns_label(name) {
            causes.push(invalid("metadata.name", name, DNS_LABEL_MSG));
        } else if !namespace_like && !is_dns_subdomain(name) {
            causes.push(invalid("metadata.name", name, SUBDOMAIN_MSG));
        }
    }
    if let Some(labels) = meta["labels"].as_object() {
        for (k, v) in labels {
            if !is_qualified_name(k) {
                causes.push(invalid("metadata.labels", k, QUALIFIED_NAME_MSG));
            }
            let v = v.as_str().unwrap_or("");
            if !is_label_value(v) {
                causes.push(invalid("metadata.labels", v, LABEL_VALUE_MSG));
            }
        }
    }
    if let Some(ann) = meta["annotations"].as_object() {
        for k in ann.keys() {
            if !is_qualified_name(k) {
                causes.push(invalid("metadata.annotations", k, QUALIFIED_NAME_MSG));
            }
        }
    }
}

fn pod_spec(spec: &Value, path: &str, allowed_restart: &[&str], causes: &mut Vec<Cause>) {
    match spec["containers"].as_array() {
        Some(cs) if !cs.is_empty() => {
            for (i, c) in cs.iter().enumerate() {
                let p = format!("{path}.containers[{i}]");
                let name = c["name"].as_str().unwrap_or("");
                if name.is_empty() {
                    causes.push(required(&format!("{p}.name"), ""));
                } else if !is_dns_label(name) {
                    causes.push(invalid(&format!("{p}.name"), name, DNS_LABEL_MSG));
                }
                if c["image"].as_str().unwrap_or("").is_empty() {
                    causes.push(required(&format!("{p}.image"), ""));
                }
            }
        }
        _ => causes.push(required(&format!("{path}.containers"), "")),
    }
    let restart = spec["restartPolicy"].as_str().unwrap_or("");
    let supported = allowed_restart
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let field = format!("{path}.restartPolicy");
    if restart.is_empty() || (allowed_restart.len() == 2 && restart == "Always") {
        if allowed_restart.len() == 2 {
            causes.push(required(&field, &format!("valid values: {supported}")));
        }
    } else if !allowed_restart.contains(&restart) {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            format!(
                "Unsupported value: {}: supported values: {supported}",
                quote(restart)
            ),
            field,
        ));
    }
}

fn data_keys(obj: &Value, field: &str, causes: &mut Vec<Cause>) {
    if let Some(m) = obj[field].as_object() {
        for k in m.keys() {
            let ok = !k.is_empty()
                && k.len() <= 253
                && k.chars()
                    .all(|c| is_alnum(c) || matches!(c, '-' | '_' | '.'));
            if !ok {
                causes.push(invalid(&format!("{field}[{k}]"), k, CONFIG_KEY_MSG));
            }
        }
    }
}

fn cron_schedule(s: &str) -> Option<String> {
    let fields: Vec<&str> = s.split_whitespace().collect();
    if s.starts_with('@') {
        let known = [
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
        ];
        return (!known.contains(&s) && !s.starts_with("@every "))
            .then(|| format!("unrecognized descriptor: {s}"));
    }
    (fields.len() != 5).then(|| {
        format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        )
    })
}

/// A Deployment needs a selector, and its `matchLabels` must select the pod template's labels.
fn deployment_selector(obj: &Value, causes: &mut Vec<Cause>) {
    let selector = &obj["spec"]["selector"];
    if !selector.is_object() {
        causes.push(required("spec.selector", ""));
        return;
    }
    let labels = obj["spec"]["template"]["metadata"]["labels"].as_object();
    let matches = selector["matchLabels"].as_object().is_none_or(|want| {
        want.iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
    });
    if !matches {
        let shown: Vec<String> = labels
            .map(|l| {
                l.iter()
                    .map(|(k, v)| format!("{}:{}", quote(k), quote(v.as_str().unwrap_or(""))))
                    .collect()
            })
            .unwrap_or_default();
        causes.push(Cause::new(
            "FieldValueInvalid",
            format!(
                "Invalid value: map[string]string{{{}}}: `selector` does not match template `labels`",
                shown.join(", ")
            ),
            "spec.template.metadata.labels",
        ));
    }
}

/// The 422 for an update that changes an immutable `roleRef` of a binding, if it does.
pub fn role_ref_unchanged(res: &ResourceDef, old: &Value, new: &Value) -> Result<(), ApiError> {
    let binding = matches!(res.kind, "RoleBinding" | "ClusterRoleBinding");
    if !binding || res.group != crate::rbac::GROUP || old["roleRef"] == new["roleRef"] {
        return Ok(());
    }
    let name = new["metadata"]["name"].as_str().unwrap_or("");
    Err(ApiError::invalid(
        res,
        name,
        vec![Cause::new(
            "FieldValueInvalid",
            format!(
                "Invalid value: {}: cannot change roleRef",
                kinds::role_ref_go(new)
            ),
            "roleRef",
        )],
    ))
}

/// Validate an object about to be created or updated; `Err` is the 422 kube-apiserver answers.
pub fn validate(res: &ResourceDef, obj: &Value) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    metadata(res, obj, &mut causes);
    let all = ["Always", "OnFailure", "Never"];
    let batch = ["OnFailure", "Never"];
    match (res.group, res.kind) {
        ("", "Pod") => pod_spec(&obj["spec"], "spec", &all, &mut causes),
        ("batch", "Job") => pod_spec(
            &obj["spec"]["template"]["spec"],
            "spec.template.spec",
            &batch,
            &mut causes,
        ),
        ("batch", "CronJob") => {
            let schedule = obj["spec"]["schedule"].as_str().unwrap_or("");
            if schedule.is_empty() {
                causes.push(required("spec.schedule", ""));
            } else if let Some(msg) = cron_schedule(schedule) {
                causes.push(invalid("spec.schedule", schedule, &msg));
            }
            pod_spec(
                &obj["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                "spec.jobTemplate.spec.template.spec",
                &batch,
                &mut causes,
            );
        }
        ("apps", "Deployment") => {
            deployment_selector(obj, &mut causes);
            pod_spec(
                &obj["spec"]["template"]["spec"],
                "spec.template.spec",
                &["Always"],
                &mut causes,
            );
        }
        ("apps", kind @ ("StatefulSet" | "DaemonSet" | "ReplicaSet")) => {
            kinds::workload(obj, kind, &mut causes)
        }
        ("", "ReplicationController") => {
            // The same checks as a ReplicaSet's, with the map selector read as `matchLabels`
            // (an empty one is a missing one: `ValidateNonEmptySelector`).
            let selector = obj["spec"]["selector"]
                .as_object()
                .filter(|m| !m.is_empty())
                .map_or(Value::Null, |m| json!({ "matchLabels": m }));
            let view = json!({"spec": {
                "selector": selector,
                "replicas": obj["spec"]["replicas"],
                "template": obj["spec"]["template"],
            }});
            kinds::workload(&view, "ReplicationController", &mut causes)
        }
        ("rbac.authorization.k8s.io", "Role") => kinds::role(obj, true, &mut causes),
        ("rbac.authorization.k8s.io", "ClusterRole") => kinds::role(obj, false, &mut causes),
        ("rbac.authorization.k8s.io", "RoleBinding") => kinds::binding(obj, true, &mut causes),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            kinds::binding(obj, false, &mut causes)
        }
        ("policy", "PodDisruptionBudget") => kinds::pdb(obj, &mut causes),
        ("scheduling.k8s.io", "PriorityClass") => kinds::priority_class(obj, &mut causes),
        ("storage.k8s.io", "StorageClass") => kinds::storage_class(obj, &mut causes),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema") => kinds::flow_schema(obj, &mut causes),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration") => {
            kinds::priority_level(obj, &mut causes)
        }
        ("", "ConfigMap") => {
            data_keys(obj, "data", &mut causes);
            data_keys(obj, "binaryData", &mut causes);
        }
        ("", "Secret") => {
            data_keys(obj, "data", &mut causes);
            if obj["type"] == "kubernetes.io/tls" {
                for k in ["tls.crt", "tls.key"] {
                    if obj["data"].get(k).is_none() {
                        causes.push(required(&format!("data[{k}]"), ""));
                    }
                }
            }
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        let name = obj["metadata"]["name"].as_str().unwrap_or("");
        Err(ApiError::invalid(res, name, causes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::find;
    use serde_json::json;

    #[test]
    fn job_messages_match_capture() {
        let res = find("batch", "v1", "jobs").expect("jobs");
        let job = json!({"metadata": {"name": "job-bad", "labels": {"x": "bad value!"}},
            "spec": {"template": {"spec": {"containers": [{"name": "main"}]}}}});
        let e = validate(res, &job).expect_err("invalid");
        assert_eq!(e.code, 422);
        assert!(
            e.message.starts_with(
                "Job.batch \"job-bad\" is invalid: [metadata.labels: Invalid value: \"bad value!\""
            ),
            "{}",
            e.message
        );
        assert!(e.message.ends_with("spec.template.spec.containers[0].image: Required value, spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"]"), "{}", e.message);
    }

    #[test]
    fn pod_restart_policy_and_containers() {
        let res = find("", "v1", "pods").expect("pods");
        let pod = json!({"metadata": {"name": "p-bad2"}, "spec": {"restartPolicy": "Sometimes"}});
        let e = validate(res, &pod).expect_err("invalid");
        assert_eq!(
            e.message,
            "Pod \"p-bad2\" is invalid: [spec.containers: Required value, spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"]"
        );
    }

    #[test]
    fn deployment_selector_must_match_template() {
        let res = find("apps", "v1", "deployments").expect("deployments");
        let d = |sel: Value| {
            json!({"metadata": {"name": "d"}, "spec": {"selector": sel,
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
        };
        assert!(validate(res, &d(json!({"matchLabels": {"app": "web"}}))).is_ok());
        let e = validate(res, &d(json!({"matchLabels": {"app": "db"}}))).expect_err("mismatch");
        assert_eq!(
            e.message,
            "Deployment.apps \"d\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`"
        );
        let e = validate(res, &d(Value::Null)).expect_err("missing");
        assert!(
            e.message.contains("spec.selector: Required value"),
            "{}",
            e.message
        );
    }

    #[test]
    fn names() {
        let res = find("", "v1", "configmaps").expect("cm");
        let e = validate(res, &json!({"metadata": {}})).expect_err("invalid");
        assert_eq!(e.message, "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required");
        assert!(validate(res, &json!({"metadata": {"name": "Bad_Name"}})).is_err());
        assert!(validate(res, &json!({"metadata": {"name": "good.name-1"}})).is_ok());
        assert!(is_qualified_name("app.kubernetes.io/name"));
        assert!(!is_qualified_name("-bad-"));
    }
}
