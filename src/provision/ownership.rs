//! Whose an existing namespace is, and what it takes to make it match what provisioning
//! would have created (pure). The `kbatch.jupyter.org/username` annotation is the authority:
//! labels are escaped and truncated, and a name can be mapped onto by more than one hub user
//! (the proxy's own `kbatch-proxy`, a 28-bit hash suffix).

use serde_json::{json, Map, Value};

use super::{namespace_object, ProvisionConfig, USERNAME_KEY};
use crate::auth::User;

/// Who an existing namespace belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Annotated with exactly this hub user's name.
    Mine,
    /// Annotated with some other value (another hub user, or an empty string).
    Other(String),
    /// No username annotation (made by hand, by the Python kbatch-proxy, or by something else).
    Unclaimed,
}

/// Whose `live` (a Namespace as the API server returns it) is, for hub user `user`.
pub fn ownership(live: &Value, user: &str) -> Ownership {
    match live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(USERNAME_KEY))
    {
        None | Some(Value::Null) => Ownership::Unclaimed,
        Some(Value::String(s)) if s == user => Ownership::Mine,
        Some(Value::String(s)) => Ownership::Other(s.clone()),
        Some(other) => Ownership::Other(other.to_string()),
    }
}

/// The JSON merge patch that gives `live` the labels and annotation provisioning sets
/// (`KBATCH_LABELS`, the username label, the Pod Security labels, the username annotation), or
/// `None` when it already has them. Labels provisioning does not set are left alone (a PSA
/// level of `none` does not remove the operator's PSA labels). The patch carries the live
/// `resourceVersion`, so it fails with a conflict if the namespace changed since it was read
/// (an annotation written in between is never overwritten).
pub fn reconcile_patch(cfg: &ProvisionConfig, user: &User, live: &Value) -> Option<Value> {
    let want = namespace_object(cfg, user);
    let labels = drift(&want, live, "labels");
    let annotations = drift(&want, live, "annotations");
    if labels.is_empty() && annotations.is_empty() {
        return None;
    }
    let mut meta = Map::new();
    if let Some(rv) = live.pointer("/metadata/resourceVersion") {
        meta.insert("resourceVersion".into(), rv.clone());
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    Some(json!({ "metadata": meta }))
}

/// The entries of `want.metadata.<field>` that `live` lacks or has with another value.
fn drift(want: &Value, live: &Value, field: &str) -> Map<String, Value> {
    let pointer = format!("/metadata/{field}");
    let empty = Map::new();
    let have = live
        .pointer(&pointer)
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    want.pointer(&pointer)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The message of the 403 for a namespace that exists and is not this user's. It does not name
/// the other owner (that goes to the proxy's log only), and says what an operator can do.
pub fn refusal(namespace: &str, user: &str, owner: &Ownership, adopt: bool) -> String {
    let why = match owner {
        Ownership::Other(_) => {
            format!("its {USERNAME_KEY} annotation names another user")
        }
        _ => format!("it has no {USERNAME_KEY} annotation"),
    };
    let adopt_hint = if matches!(owner, Ownership::Unclaimed) && !adopt {
        ", or (when migrating from the Python kbatch-proxy) start kbatch-proxy with \
         --adopt-existing-namespaces (KBATCH_ADOPT_EXISTING_NAMESPACES=true)"
    } else {
        ""
    };
    format!(
        "namespace \"{namespace}\" already exists and is not the namespace of hub user \
         \"{user}\": {why}. If it really belongs to this user, an operator can hand it over with \
         `kubectl annotate --overwrite namespace {namespace} {USERNAME_KEY}={user}`{adopt_hint}; \
         otherwise rename the hub user"
    )
}
