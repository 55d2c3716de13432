//! The kbatch wire format (pure): the Python kubernetes client's `to_dict()` form (snake_case
//! attribute names, `null` for unset fields, `+00:00` timestamps) ⇄ Kubernetes JSON
//! (camelCase). Names follow the client's generator (`podIPs` ⇄ `pod_i_ps`, `exec` ⇄ `_exec`,
//! and the acronym exceptions in [`SNAKE_EXCEPTIONS`]); the keys of map-typed fields (labels,
//! annotations, ConfigMap data, resource lists, `fieldsV1`, …) are kept verbatim.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ProxyError;

/// Python attribute names whose camelCase form is not the generic one (`host_ip` → `hostIP`),
/// from the kubernetes client's `attribute_map` (v1 models).
pub const SNAKE_EXCEPTIONS: &[(&str, &str)] = &[
    ("_continue", "continue"),
    ("_except", "except"),
    ("_exec", "exec"),
    ("_from", "from"),
    ("_not", "not"),
    ("boot_id", "bootID"),
    ("client_cidr", "clientCIDR"),
    ("client_ip", "clientIP"),
    ("cluster_ip", "clusterIP"),
    ("container_id", "containerID"),
    ("dataset_uuid", "datasetUUID"),
    ("disk_uri", "diskURI"),
    ("downward_api", "downwardAPI"),
    ("external_id", "externalID"),
    ("host_ip", "hostIP"),
    ("host_ipc", "hostIPC"),
    ("host_pid", "hostPID"),
    ("image_id", "imageID"),
    ("insecure_skip_tls_verify", "insecureSkipTLSVerify"),
    ("load_balancer_ip", "loadBalancerIP"),
    ("machine_id", "machineID"),
    ("node_id", "nodeID"),
    ("pd_id", "pdID"),
    ("pod_cid_rs", "podCIDRs"),
    ("pod_cidr", "podCIDR"),
    ("pod_ip", "podIP"),
    ("provider_id", "providerID"),
    ("resource_id", "resourceID"),
    ("scale_io", "scaleIO"),
    ("set_hostname_as_fqdn", "setHostnameAsFQDN"),
    ("storage_policy_id", "storagePolicyID"),
    ("system_uuid", "systemUUID"),
    ("target_ww_ns", "targetWWNs"),
    ("volume_id", "volumeID"),
];

/// Map-typed fields (camelCase) whose keys are data, not attribute names.
const MAP_FIELDS: &[&str] = &[
    "annotations",
    "labels",
    "data",
    "binaryData",
    "stringData",
    "limits",
    "requests",
    "nodeSelector",
    "matchLabels",
    "overhead",
    "volumeAttributes",
    "allocatedResources",
    "allocatedResourceStatuses",
    "capacity",
    "allocatable",
    "hard",
    "used",
    "fieldsV1",
    "attachmentMetadata",
    "extra",
];

/// Fields holding a timestamp (camelCase), rendered as Python's `isoformat()`.
const TIME_FIELDS: &[&str] = &[
    "creationTimestamp",
    "deletionTimestamp",
    "time",
    "startTime",
    "completionTime",
    "lastTransitionTime",
    "lastProbeTime",
    "lastScheduleTime",
    "lastSuccessfulTime",
    "startedAt",
    "finishedAt",
    "lastHeartbeatTime",
    "lastUpdateTime",
    "eventTime",
    "firstTimestamp",
    "lastTimestamp",
];

/// The camelCase (Kubernetes) name of a key as the client may send it (snake or camel).
pub fn camel_key(key: &str) -> String {
    if let Some((_, c)) = SNAKE_EXCEPTIONS.iter().find(|(s, _)| *s == key) {
        return (*c).to_string();
    }
    if !key.contains('_') {
        return key.to_string();
    }
    let mut out = String::with_capacity(key.len());
    for (i, part) in key.trim_start_matches('_').split('_').enumerate() {
        let mut chars = part.chars();
        match (i, chars.next()) {
            (0, Some(c)) => {
                out.push(c);
                out.extend(chars);
            }
            (_, Some(c)) => {
                out.extend(c.to_uppercase());
                out.extend(chars);
            }
            (_, None) => {}
        }
    }
    out
}

/// The Python attribute name of a camelCase key (the generator's rule: `(.)([A-Z][a-z]+)` →
/// `\1_\2`, then `([a-z0-9])([A-Z])` → `\1_\2`, lower-cased; keywords get a leading `_`).
pub fn snake_key(key: &str) -> String {
    if let Some((s, _)) = SNAKE_EXCEPTIONS.iter().find(|(_, c)| *c == key) {
        return (*s).to_string();
    }
    let chars: Vec<char> = key.chars().collect();
    // Pass 1: `(.)([A-Z][a-z]+)` → `\1_\2` (non-overlapping, left to right).
    let mut pass1: Vec<char> = Vec::with_capacity(chars.len() + 4);
    let mut i = 0;
    while i < chars.len() {
        pass1.push(chars[i]);
        let next_upper = chars.get(i + 1).is_some_and(|c| c.is_ascii_uppercase());
        let then_lower = chars.get(i + 2).is_some_and(|c| c.is_ascii_lowercase());
        if next_upper && then_lower {
            pass1.push('_');
            // The match consumes `\2` = one uppercase and the run of lowercase after it.
            let mut j = i + 1;
            pass1.push(chars[j]);
            j += 1;
            while j < chars.len() && chars[j].is_ascii_lowercase() {
                pass1.push(chars[j]);
                j += 1;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    // Pass 2: `([a-z0-9])([A-Z])` → `\1_\2`.
    let mut out = String::with_capacity(pass1.len() + 4);
    for (k, c) in pass1.iter().enumerate() {
        if k > 0 && c.is_ascii_uppercase() {
            let prev = pass1[k - 1];
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Client JSON (snake_case `to_dict`, or camelCase, or a mix) → Kubernetes JSON: keys
/// renamed, `null` values dropped, map-typed fields kept verbatim. When both spellings of a
/// key are present the snake_case one wins (as in kbatch's `utils.parse`).
pub fn to_kube(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            // snake_case keys first: they win over a camelCase duplicate.
            let mut keys: Vec<(&String, &Value)> = m.iter().collect();
            keys.sort_by_key(|(k, _)| !k.contains('_'));
            for (k, val) in keys {
                if val.is_null() {
                    continue;
                }
                let ck = camel_key(k);
                if out.contains_key(&ck) {
                    continue;
                }
                let converted = if MAP_FIELDS.contains(&ck.as_str()) && val.is_object() {
                    drop_nulls(val)
                } else {
                    to_kube(val)
                };
                out.insert(ck, converted);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(to_kube).collect()),
        other => other.clone(),
    }
}

fn drop_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Kubernetes JSON → the client's `to_dict()` form: snake_case keys, map-typed fields kept,
/// timestamps as `2021-11-03T13:49:41+00:00`. Missing keys are added by [`fill_object`].
pub fn to_dict(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, val) in m {
                let converted = if MAP_FIELDS.contains(&k.as_str()) && val.is_object() {
                    val.clone()
                } else if TIME_FIELDS.contains(&k.as_str()) {
                    match val {
                        Value::String(s) => Value::String(isoformat(s)),
                        other => to_dict(other),
                    }
                } else {
                    to_dict(val)
                };
                out.insert(snake_key(k), converted);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(to_dict).collect()),
        other => other.clone(),
    }
}

/// An RFC 3339 UTC timestamp as Python's `datetime.isoformat()` prints it: `Z` → `+00:00`,
/// fractions as 6 digits, none when zero. Anything else is returned unchanged.
pub fn isoformat(ts: &str) -> String {
    let Some(body) = ts.strip_suffix('Z').or_else(|| ts.strip_suffix('z')) else {
        return ts.to_string();
    };
    let (main, frac) = match body.split_once('.') {
        Some((m, f)) => (m, f),
        None => (body, ""),
    };
    if main.len() != 19 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return ts.to_string();
    }
    let mut micros: String = frac.chars().take(6).collect();
    while micros.len() < 6 {
        micros.push('0');
    }
    if micros.chars().all(|c| c == '0') {
        format!("{main}+00:00")
    } else {
        format!("{main}.{micros}+00:00")
    }
}

/// Python `utils.remove_nulls`: drop `null`, `[]` and `{}` values recursively through
/// objects (not inside lists).
pub fn remove_empty(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, val) in m {
                let val = remove_empty(val);
                let empty = match &val {
                    Value::Null => true,
                    Value::Array(a) => a.is_empty(),
                    Value::Object(o) => o.is_empty(),
                    _ => false,
                };
                if !empty {
                    out.insert(k.clone(), val);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// kbatch's `merge_json_objects(user, template)`: objects merge recursively, lists are the
/// user's followed by the template's, otherwise the template's value wins.
pub fn merge(user: &Value, template: &Value) -> Value {
    match (user, template) {
        (Value::Object(u), Value::Object(t)) => {
            let mut out = u.clone();
            for (k, tv) in t {
                let merged = match u.get(k) {
                    Some(uv) => merge(uv, tv),
                    None => tv.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(u), Value::Array(t)) => {
            Value::Array(u.iter().chain(t.iter()).cloned().collect())
        }
        (_, t) => t.clone(),
    }
}

/// Deserialize Kubernetes JSON into a typed object; a mismatch is the client's mistake (422),
/// never a 500.
pub fn parse<T: DeserializeOwned>(what: &str, v: Value) -> Result<T, ProxyError> {
    serde_json::from_value(v).map_err(|e| ProxyError::Unprocessable(format!("invalid {what}: {e}")))
}

/// `V1ObjectMeta` attributes.
const OBJECT_META: &[&str] = &[
    "annotations",
    "creation_timestamp",
    "deletion_grace_period_seconds",
    "deletion_timestamp",
    "finalizers",
    "generate_name",
    "generation",
    "labels",
    "managed_fields",
    "name",
    "namespace",
    "owner_references",
    "resource_version",
    "self_link",
    "uid",
];
/// `V1ListMeta` attributes.
const LIST_META: &[&str] = &[
    "_continue",
    "remaining_item_count",
    "resource_version",
    "self_link",
];
const JOB_SPEC: &[&str] = &[
    "active_deadline_seconds",
    "backoff_limit",
    "backoff_limit_per_index",
    "completion_mode",
    "completions",
    "managed_by",
    "manual_selector",
    "max_failed_indexes",
    "parallelism",
    "pod_failure_policy",
    "pod_replacement_policy",
    "selector",
    "success_policy",
    "suspend",
    "template",
    "ttl_seconds_after_finished",
];
const JOB_STATUS: &[&str] = &[
    "active",
    "completed_indexes",
    "completion_time",
    "conditions",
    "failed",
    "failed_indexes",
    "ready",
    "start_time",
    "succeeded",
    "terminating",
    "uncounted_terminated_pods",
];
const JOB_CONDITION: &[&str] = &[
    "last_probe_time",
    "last_transition_time",
    "message",
    "reason",
    "status",
    "type",
];
const CRONJOB_SPEC: &[&str] = &[
    "concurrency_policy",
    "failed_jobs_history_limit",
    "job_template",
    "schedule",
    "starting_deadline_seconds",
    "successful_jobs_history_limit",
    "suspend",
    "time_zone",
];
const CRONJOB_STATUS: &[&str] = &["active", "last_schedule_time", "last_successful_time"];
const POD_STATUS: &[&str] = &[
    "conditions",
    "container_statuses",
    "ephemeral_container_statuses",
    "host_ip",
    "host_i_ps",
    "init_container_statuses",
    "message",
    "nominated_node_name",
    "phase",
    "pod_i_ps",
    "pod_ip",
    "qos_class",
    "reason",
    "resize",
    "resource_claim_statuses",
    "start_time",
];
const TOP: &[&str] = &["api_version", "kind", "metadata", "spec", "status"];

/// Which object a response holds (for the keys [`fill_object`] guarantees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// batch/v1 Job.
    Job,
    /// batch/v1 CronJob.
    CronJob,
    /// v1 Pod.
    Pod,
}

/// Ensure `keys` exist in `v` (an object, created if `null`), as `null` when unset.
fn ensure(v: &mut Value, keys: &[&str]) {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    if let Value::Object(m) = v {
        for k in keys {
            m.entry((*k).to_string()).or_insert(Value::Null);
        }
    }
}

fn ensure_child(v: &mut Value, key: &str, keys: &[&str]) {
    if let Value::Object(m) = v {
        let child = m.entry(key.to_string()).or_insert(Value::Null);
        ensure(child, keys);
    }
}

/// Add the keys the kbatch CLIs read (and the rest of the model's top-level attributes) to an
/// object already in `to_dict` form, as `null` when unset: every `metadata` attribute, a Job's
/// `status` counters, times and conditions, a CronJob's `spec.schedule`, a Pod's
/// `status.phase`.
pub fn fill_object(kind: Kind, v: &mut Value) {
    ensure(v, TOP);
    ensure_child(v, "metadata", OBJECT_META);
    match kind {
        Kind::Job => {
            ensure_child(v, "spec", JOB_SPEC);
            ensure_child(v, "status", JOB_STATUS);
            if let Some(conds) = v["status"]["conditions"].as_array_mut() {
                for c in conds {
                    ensure(c, JOB_CONDITION);
                }
            }
        }
        Kind::CronJob => {
            ensure_child(v, "spec", CRONJOB_SPEC);
            ensure_child(v, "status", CRONJOB_STATUS);
        }
        Kind::Pod => {
            ensure_child(v, "status", POD_STATUS);
        }
    }
}

/// A Kubernetes list → `to_dict` form with every item filled.
pub fn list_to_dict(kind: Kind, list: &Value) -> Value {
    let mut out = to_dict(list);
    ensure(&mut out, &["api_version", "items", "kind", "metadata"]);
    ensure_child(&mut out, "metadata", LIST_META);
    match out.get_mut("items") {
        Some(Value::Array(items)) => {
            for item in items {
                fill_object(kind, item);
            }
        }
        Some(slot) => *slot = Value::Array(Vec::new()),
        None => {}
    }
    out
}

/// A Kubernetes object → `to_dict` form with the keys the CLIs read.
pub fn object_to_dict(kind: Kind, obj: &Value) -> Value {
    let mut out = to_dict(obj);
    fill_object(kind, &mut out);
    out
}

/// The `V1Status.to_dict()` the DELETE endpoints answer with: the API server's `Status` when
/// it sent one, else a `Success` status naming the object being deleted.
pub fn delete_status(resource: &str, group: &str, answer: &Value) -> Value {
    let status = if answer["kind"] == "Status" {
        answer.clone()
    } else {
        let mut details = Map::new();
        details.insert("name".into(), answer["metadata"]["name"].clone());
        details.insert("group".into(), Value::String(group.to_string()));
        details.insert("kind".into(), Value::String(resource.to_string()));
        details.insert("uid".into(), answer["metadata"]["uid"].clone());
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Status",
            "metadata": {},
            "status": "Success",
            "details": details,
        })
    };
    let mut out = to_dict(&status);
    ensure(
        &mut out,
        &[
            "api_version",
            "code",
            "details",
            "kind",
            "message",
            "metadata",
            "reason",
            "status",
        ],
    );
    ensure_child(&mut out, "metadata", LIST_META);
    if out["details"].is_object() {
        ensure_child(
            &mut out,
            "details",
            &[
                "causes",
                "group",
                "kind",
                "name",
                "retry_after_seconds",
                "uid",
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests;
