//! `metadata.managedFields` as kube-apiserver maintains them (field ownership per manager,
//! `FieldsV1` sets) and server-side apply (merge, pruning of fields a manager stopped applying,
//! conflicts between managers), following `sigs.k8s.io/structured-merge-diff` and
//! `k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager`.
//!
//! Which lists are associative (and by which keys), sets or atomic, and which maps are atomic,
//! is decided by [`list_keys`] and its siblings — the stand-in's copy of the OpenAPI
//! `x-kubernetes-list-type` / `x-kubernetes-list-map-keys` / `x-kubernetes-map-type` markers.

mod fieldset;
#[cfg(test)]
mod tests;
mod walk;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::resources::ResourceDef;
use crate::status::{ApiError, Cause};
use fieldset::{path_string, FieldSet, PathElement};

/// The 422 message kube answers an apply PATCH without `fieldManager` (the details are
/// `{"group":"meta.k8s.io","kind":"PatchOptions","causes":[{"reason":"FieldValueRequired",
/// "message":"Required value: is required for apply patch","field":"fieldManager"}]}`).
pub const MISSING_FIELD_MANAGER: &str =
    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch";

/// The annotation client-side `kubectl apply` keeps; SSA by manager `kubectl` keeps it in sync.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Manager name as kube derives it: fieldManager query param, else the User-Agent up to the
/// first '/', else "unknown".
pub fn manager_name(field_manager: Option<&str>, user_agent: Option<&str>) -> String {
    if let Some(m) = field_manager.filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    match user_agent {
        Some(ua) if !ua.is_empty() => ua.split('/').next().unwrap_or(ua).to_string(),
        _ => "unknown".to_string(),
    }
}

/// How a list merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListType {
    /// Associative list keyed by these fields (`k:{…}`).
    Map(&'static [&'static str]),
    /// List of unique scalars (`v:…`).
    Set,
    /// Replaced as a whole.
    Atomic,
}

fn ends_with(path: &[&str], suffix: &[&str]) -> bool {
    path.ends_with(suffix)
}

/// Whether the list at `path` is inside a container (`…containers[].ports`).
fn in_container(path: &[&str]) -> bool {
    path.len() >= 2
        && matches!(
            path[path.len() - 2],
            "containers" | "initContainers" | "ephemeralContainers"
        )
}

/// The merge keys of the associative list at `path` (field names from the object root, list
/// items skipped) in an object of `kind`, or `None` when the list is atomic or a set.
pub fn list_keys(path: &[&str], kind: &str) -> Option<&'static [&'static str]> {
    let last = *path.last()?;
    let parent = path.len().checked_sub(2).map(|i| path[i]);
    let keys: &'static [&'static str] = match last {
        "ownerReferences" if parent == Some("metadata") => &["uid"],
        "ports" if in_container(path) => &["containerPort", "protocol"],
        "ports" if kind == "Service" && path == ["spec", "ports"] => &["port", "protocol"],
        "env" if in_container(path) => &["name"],
        "volumeMounts" if in_container(path) => &["mountPath"],
        "volumeDevices" if in_container(path) => &["devicePath"],
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "resourceClaims"
        | "schedulingGates"
            if parent == Some("spec") && kind != "Service" =>
        {
            &["name"]
        }
        "imagePullSecrets" if parent == Some("spec") => &["name"],
        "hostAliases" if parent == Some("spec") => &["ip"],
        "topologySpreadConstraints" if parent == Some("spec") => {
            &["topologyKey", "whenUnsatisfiable"]
        }
        "secrets" if kind == "ServiceAccount" && path.len() == 1 => &["name"],
        "conditions"
            if parent == Some("status")
                && matches!(kind, "Pod" | "Deployment" | "Namespace" | "Node") =>
        {
            &["type"]
        }
        "podIPs" if parent == Some("status") => &["ip"],
        _ => return None,
    };
    Some(keys)
}

/// The list type at `path`: associative per [`list_keys`], `metadata.finalizers` a set,
/// everything else atomic.
pub(crate) fn list_type(path: &[&str], kind: &str) -> ListType {
    if let Some(keys) = list_keys(path, kind) {
        return ListType::Map(keys);
    }
    if ends_with(path, &["metadata", "finalizers"]) {
        return ListType::Set;
    }
    ListType::Atomic
}

/// Whether the map at `path` is atomic (`+structType=atomic`: label selectors, object and key
/// references), i.e. owned and replaced as one value.
pub(crate) fn is_atomic_map(path: &[&str], kind: &str) -> bool {
    let Some(last) = path.last() else {
        return false;
    };
    match *last {
        "selector" => {
            matches!(
                kind,
                "Job" | "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet"
            ) || (kind == "ReplicationController" && path == ["spec", "selector"])
                || ends_with(path, &["jobTemplate", "spec", "selector"])
        }
        "labelSelector"
        | "namespaceSelector"
        | "configMapKeyRef"
        | "secretKeyRef"
        | "fieldRef"
        | "resourceFieldRef"
        | "requiredDuringSchedulingIgnoredDuringExecution" => true,
        "involvedObject" | "related" => kind == "Event",
        _ => false,
    }
}

/// Paths the field manager never records (`stripMetaManager`).
fn strip_set() -> FieldSet {
    let mut s = FieldSet::default();
    let f = |n: &str| PathElement::Field(n.to_string());
    s.insert(&[f("apiVersion")]);
    s.insert(&[f("kind")]);
    s.insert(&[f("metadata")]);
    for m in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        s.insert(&[f("metadata"), f(m)]);
    }
    s
}

/// The top-level fields a write to the main resource or to `subresource` does not own
/// (kube's `ResetFieldsStrategy`): status for main-resource writes, spec for status writes.
fn ignored_top_fields(kind: &str, subresource: Option<&str>) -> &'static [&'static str] {
    let has_status = matches!(
        kind,
        "Pod"
            | "Namespace"
            | "Service"
            | "Deployment"
            | "Job"
            | "CronJob"
            | "Node"
            | "ReplicaSet"
            | "ReplicationController"
    );
    match subresource {
        Some("status") => &["spec"],
        None | Some("") if has_status => &["status"],
        _ => &[],
    }
}

/// The unstructured form of an empty Go object of `kind` (`scheme.New(kind)` converted), which
/// kube compares a created object with: its non-omitempty fields decide which nodes count as
/// "added" (and so get a `.` entry).
fn empty_object(kind: &str) -> Value {
    let template = json!({"metadata": {"creationTimestamp": null}, "spec": {"containers": null}});
    let mut obj = json!({"metadata": {"creationTimestamp": null}});
    let extra = match kind {
        "Pod" => json!({"spec": {"containers": null}, "status": {}}),
        "Job" => json!({"spec": {"template": template}, "status": {}}),
        "CronJob" => json!({"spec": {"schedule": "", "jobTemplate": {
            "metadata": {"creationTimestamp": null}, "spec": {"template": template}}}, "status": {}}),
        "Deployment" => {
            json!({"spec": {"selector": null, "template": template, "strategy": {}}, "status": {}})
        }
        "Namespace" => json!({"spec": {}, "status": {}}),
        "Service" => json!({"spec": {}, "status": {"loadBalancer": {}}}),
        "Event" => json!({"involvedObject": {}, "source": {}, "firstTimestamp": null,
            "lastTimestamp": null, "eventTime": null, "reportingComponent": "", "reportingInstance": ""}),
        _ => json!({}),
    };
    if let (Some(o), Value::Object(e)) = (obj.as_object_mut(), extra) {
        o.extend(e);
    }
    obj
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: Option<String>,
    subresource: String,
    set: FieldSet,
}

impl Entry {
    /// Whether `self` and `other` are the same manager (kube's manager identifier: Apply
    /// entries ignore the apiVersion).
    fn same_manager(
        &self,
        manager: &str,
        operation: &str,
        api_version: &str,
        subresource: &str,
    ) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource == subresource
            && (operation == "Apply" || self.api_version == api_version)
    }

    /// How a conflict message names this manager (`printManager`).
    fn display(&self) -> String {
        let name = crate::selectors::go_quote(&self.manager);
        if self.operation == "Update" {
            format!("{name} using {}", self.api_version)
        } else {
            name
        }
    }

    fn from_json(v: &Value) -> Option<Entry> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Entry {
            manager: s("manager").unwrap_or_default(),
            operation: s("operation")?,
            api_version: s("apiVersion").unwrap_or_default(),
            time: s("time"),
            subresource: s("subresource").unwrap_or_default(),
            set: FieldSet::from_fields_v1(v.get("fieldsV1").unwrap_or(&Value::Null)),
        })
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), json!(self.manager));
        m.insert("operation".into(), json!(self.operation));
        m.insert("apiVersion".into(), json!(self.api_version));
        if let Some(t) = &self.time {
            m.insert("time".into(), json!(t));
        }
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), self.set.to_fields_v1());
        if !self.subresource.is_empty() {
            m.insert("subresource".into(), json!(self.subresource));
        }
        Value::Object(m)
    }
}

fn decode_entries(obj: Option<&Value>) -> Vec<Entry> {
    obj.and_then(|o| o.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Entry::from_json).collect())
        .unwrap_or_default()
}

/// Writes the entries sorted as kube does (operation, time, manager, apiVersion, subresource);
/// no entries removes the key.
fn encode_entries(obj: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.set.is_empty());
    // RFC 3339 seconds in UTC sort chronologically as strings; no time sorts first
    entries.sort_by(|a, b| {
        (
            &a.operation,
            a.time.as_deref().unwrap_or(""),
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                &b.operation,
                b.time.as_deref().unwrap_or(""),
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if entries.is_empty() {
        meta.shift_remove("managedFields");
    } else {
        let list = entries.iter().map(Entry::to_json).collect();
        meta.insert("managedFields".into(), Value::Array(list));
    }
}

/// A copy of `obj` without `metadata.managedFields` and without the ignored top-level fields.
fn comparable(obj: &Value, ignored: &[&str]) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        for f in ignored {
            m.shift_remove(*f);
        }
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.shift_remove("managedFields");
        }
    }
    o
}

fn kind_of<'a>(obj: &'a Value, fallback: Option<&'a Value>) -> &'a str {
    obj.get("kind")
        .or_else(|| fallback.and_then(|f| f.get("kind")))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn rfc3339(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Update managedFields of `new` after a non-apply write (create/update/patch) by `manager`,
/// comparing with `old` (None on create): the manager owns the fields it set or changed;
/// fields it changed are removed from other managers' sets; entries whose set becomes empty
/// are dropped; operation "Update", apiVersion, time (RFC3339 seconds), fieldsType "FieldsV1",
/// `subresource` when writing a subresource (e.g. "status").
///
/// Call it on the object as decoded and defaulted, before admission-style mutations (service
/// account volumes, job selector labels…), which kube does not attribute to the writer. The
/// previous entries come from `new` when it carries some (a client may set them), else `old`.
pub fn update_managed_fields(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
    now: DateTime<Utc>,
) {
    let kind = kind_of(new, old).to_string();
    let sub = subresource.unwrap_or("");
    let mut entries = decode_entries(Some(new));
    if entries.is_empty() || !sub.is_empty() {
        entries = decode_entries(old);
    }
    let ignored = ignored_top_fields(&kind, subresource);
    let before = comparable(
        &old.cloned().unwrap_or_else(|| empty_object(&kind)),
        ignored,
    );
    let after = comparable(new, ignored);
    let cmp = walk::compare(&before, &after, &kind);
    let changed = cmp.modified.union(&cmp.added);
    for e in &mut entries {
        e.set = e.set.difference(&changed).difference(&cmp.removed);
    }
    let taken = changed.difference(&strip_set());
    if !taken.is_empty() {
        let pos = entries
            .iter()
            .position(|e| e.same_manager(manager, "Update", api_version, sub));
        let previous = pos.map(|i| entries.remove(i).set).unwrap_or_default();
        entries.push(Entry {
            manager: manager.to_string(),
            operation: "Update".into(),
            api_version: api_version.to_string(),
            time: Some(rfc3339(now)),
            subresource: sub.to_string(),
            set: taken.union(&previous),
        });
    }
    encode_entries(new, entries);
}

/// Server-side apply: merge the applied configuration into `live` (None → create) as SSA does
/// for the fields in the applied config (maps merged, associative lists merged by key, atomic
/// lists replaced, fields previously applied by this manager but absent now removed if no other
/// manager owns them), detect conflicts with other managers (409 `Apply failed with N
/// conflict(s): …` with `FieldManagerConflict` causes) unless `force` (then ownership moves),
/// and record the Apply entry (operation "Apply").
///
/// The result still needs the caller's defaulting, status reset and validation; it equals
/// `live` (managedFields included) when the apply changed nothing.
// ApiError by value is the crate-wide error contract
#[allow(clippy::result_large_err)]
pub fn server_side_apply(
    res: &ResourceDef,
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let kind = res.kind;
    let sub = res.subresource;
    let subresource = (!sub.is_empty()).then_some(sub);
    let ignored = ignored_top_fields(kind, subresource);
    let mut entries = decode_entries(live);
    let live_obj = live
        .map(|l| comparable(l, &[]))
        .unwrap_or_else(|| empty_object(kind));
    let config = comparable(applied, &[]);

    let mut new_set = walk::to_set(&config, kind);
    for f in ignored {
        let mut s = FieldSet::default();
        s.insert(&[PathElement::Field(f.to_string())]);
        new_set = new_set.recursive_difference(&s);
    }
    let mine = entries
        .iter()
        .position(|e| e.same_manager(manager, "Apply", "", sub));
    let previous = mine.map(|i| entries.remove(i));

    let mut merged = match live {
        Some(_) => walk::merge(&live_obj, &config, kind),
        None => walk::merge(&json!({}), &config, kind),
    };
    if let Some(prev) = &previous {
        prune(&mut merged, &prev.set, &new_set, &entries, kind);
    }

    let cmp = walk::compare(
        &comparable(&live_obj, ignored),
        &comparable(&merged, ignored),
        kind,
    );
    let changed = cmp.modified.union(&cmp.added);
    let conflicts: Vec<(usize, FieldSet)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (i, e.set.intersection(&changed)))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    if !force && !conflicts.is_empty() {
        return Err(conflict_error(&entries, &conflicts));
    }
    for e in &mut entries {
        e.set = e.set.difference(&changed).difference(&cmp.removed);
    }

    let object_changed = live.is_none() || merged != live_obj;
    let time = if object_changed {
        Some(rfc3339(now))
    } else {
        previous.as_ref().and_then(|p| p.time.clone())
    };
    entries.push(Entry {
        manager: manager.to_string(),
        operation: "Apply".into(),
        api_version: res.api_version(),
        time,
        subresource: sub.to_string(),
        set: new_set.difference(&strip_set()),
    });
    if manager == "kubectl" {
        sync_last_applied(&mut merged, applied);
    }
    encode_entries(&mut merged, entries);
    Ok(merged)
}

/// Removes what `manager` applied before (`last`) but no longer applies, unless another
/// manager owns it (SMD's `prune`).
fn prune(merged: &mut Value, last: &FieldSet, new_set: &FieldSet, others: &[Entry], kind: &str) {
    let owned = others
        .iter()
        .fold(new_set.clone(), |acc, e| acc.union(&e.set));
    let mut paths: Vec<Vec<PathElement>> =
        last.paths().into_iter().filter(|p| !owned.has(p)).collect();
    // parents first: removing a list item removes what it contains
    paths.sort_by_key(Vec::len);
    for p in paths {
        walk::remove_path(merged, &p, kind);
    }
}

/// The 409 kube answers for apply conflicts (`NewApplyConflict`: details hold only causes).
fn conflict_error(entries: &[Entry], conflicts: &[(usize, FieldSet)]) -> ApiError {
    let mut sorted: Vec<&(usize, FieldSet)> = conflicts.iter().collect();
    sorted.sort_by(|a, b| entries[a.0].display().cmp(&entries[b.0].display()));
    let mut causes = Vec::new();
    let mut lines = Vec::new();
    for (i, set) in sorted {
        let who = entries[*i].display();
        lines.push(format!("conflicts with {who}:"));
        for p in set.paths() {
            let field = path_string(&p);
            lines.push(format!("- {field}"));
            causes.push(Cause::new(
                "FieldManagerConflict",
                format!("conflict with {who}"),
                field,
            ));
        }
    }
    let message = match causes.as_slice() {
        [one] => format!(
            "Apply failed with 1 conflict: {}: {}",
            one.message, one.field
        ),
        _ => format!(
            "Apply failed with {} conflicts: {}",
            causes.len(),
            lines.join("\n")
        ),
    };
    let causes_json: Vec<Value> = causes
        .iter()
        .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
        .collect();
    let mut details = Map::new();
    // kube's apply conflict carries no name/group/kind in details
    details.insert("causes".into(), Value::Array(causes_json));
    ApiError {
        code: 409,
        reason: Some("Conflict"),
        message,
        details: Some(details),
        plain_text: false,
        headers: Vec::new(),
    }
}

/// kube keeps the client-side-apply annotation in sync when manager `kubectl` applies
/// (`lastAppliedUpdater`): the applied object minus the annotation, as Go encodes it.
fn sync_last_applied(merged: &mut Value, applied: &Value) {
    let has = merged
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .is_some_and(|a| a.contains_key(LAST_APPLIED));
    if !has {
        return;
    }
    let mut cfg = applied.clone();
    if let Some(a) = cfg
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.shift_remove(LAST_APPLIED);
    }
    let text = format!("{}\n", sorted_json(&cfg));
    if let Some(a) = merged
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.insert(LAST_APPLIED.into(), Value::String(text));
    }
}

/// Compact JSON with object keys sorted (Go's encoding of a map).
fn sorted_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), sorted_json(&m[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(sorted_json).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}
