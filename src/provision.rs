//! Namespace provisioning on a user's first request: the namespace (kbatch labels, a username
//! annotation, Pod Security Admission labels), the operator's namespace manifests
//! (`KBATCH_NAMESPACE_MANIFESTS_FILE`, server-side apply), and in `impersonate` mode a RoleBinding
//! giving the impersonated user a ClusterRole there. What was provisioned is remembered for a
//! bounded time (so changes in the cluster are picked up); concurrent first requests share one
//! provisioning run, and failures are never remembered.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use moka::future::Cache;
use serde_json::{json, Map, Value};

use crate::auth::User;
use crate::error::ProxyError;
use crate::identity::username_label;
use crate::impersonation::IdentityConfig;
use crate::upstream::Upstream;

/// The annotation (and label key) naming the hub user, as kbatch uses it.
pub const USERNAME_KEY: &str = "kbatch.jupyter.org/username";
/// The field manager of everything the proxy applies.
pub const FIELD_MANAGER: &str = "kbatch-proxy";
/// The name of the RoleBinding made in `impersonate` mode.
pub const ROLE_BINDING_NAME: &str = "kbatch-user";

/// Flags for provisioning (besides `KBATCH_CREATE_USER_NAMESPACE`,
/// `KBATCH_NAMESPACE_MANIFESTS_FILE` and `KBATCH_LABELS`, which keep the Python names).
#[derive(clap::Args, Debug, Clone)]
pub struct ProvisionArgs {
    /// Pod Security Admission level enforced on user namespaces (`privileged`, `baseline`,
    /// `restricted`), or `none` for no label.
    #[arg(
        long = "namespace-psa-level",
        env = "KBATCH_NAMESPACE_PSA_LEVEL",
        default_value = "baseline",
        value_parser = ["privileged", "baseline", "restricted", "none"]
    )]
    pub psa_level: String,
    /// ClusterRole bound to the impersonated user in their namespace (`impersonate` mode);
    /// empty for no binding (the operator grants RBAC some other way).
    #[arg(
        long = "user-cluster-role",
        env = "KBATCH_USER_CLUSTER_ROLE",
        default_value = "edit"
    )]
    pub user_cluster_role: String,
    /// Seconds a provisioned namespace is remembered before it is checked again.
    #[arg(
        long = "provision-cache-ttl",
        env = "KBATCH_PROVISION_CACHE_TTL",
        default_value_t = 300
    )]
    pub cache_ttl: u64,
}

/// Why provisioning could not be set up or failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProvisionError {
    /// The manifests file is unreadable or invalid.
    #[error("KBATCH_NAMESPACE_MANIFESTS_FILE {path}: {message}")]
    Manifests {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The API server could not be reached.
    #[error(
        "provisioning namespace {namespace}: the Kubernetes API server is unreachable: {message}"
    )]
    Unreachable {
        /// The user namespace.
        namespace: String,
        /// The transport error.
        message: String,
    },
    /// The API server refused or failed a provisioning step.
    #[error("provisioning namespace {namespace}: {message}")]
    Step {
        /// The user namespace.
        namespace: String,
        /// What failed.
        message: String,
    },
}

impl From<ProvisionError> for ProxyError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::Unreachable { message, .. } => ProxyError::BadGateway(message),
            other => ProxyError::Unavailable(other.to_string()),
        }
    }
}

/// Static provisioning settings.
#[derive(Debug, Clone)]
pub struct ProvisionConfig {
    /// Provision at all (`KBATCH_CREATE_USER_NAMESPACE`).
    pub enabled: bool,
    /// `KBATCH_LABELS`.
    pub labels: BTreeMap<String, String>,
    /// PSA level, `None` for no label.
    pub psa_level: Option<String>,
    /// Parsed namespace manifests.
    pub manifests: Vec<Value>,
    /// The ClusterRole to bind, and the identity settings naming the subject (`impersonate`
    /// mode only).
    pub bind: Option<(String, IdentityConfig)>,
    /// How long a provisioned namespace is remembered.
    pub cache_ttl: Duration,
}

/// Parse a multi-document manifests file (empty documents skipped; each must be an object
/// with `apiVersion`, `kind` and `metadata.name`).
pub fn parse_manifests(path: &Path) -> Result<Vec<Value>, ProvisionError> {
    let err = |message: String| ProvisionError::Manifests {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    parse_manifests_str(&text).map_err(err)
}

/// [`parse_manifests`] on text.
pub fn parse_manifests_str(text: &str) -> Result<Vec<Value>, String> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let v = Value::deserialize(doc).map_err(|e| format!("document {}: {e}", i + 1))?;
        if v.is_null() {
            continue;
        }
        let ok = v.get("apiVersion").and_then(Value::as_str).is_some()
            && v.get("kind").and_then(Value::as_str).is_some()
            && v.pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_some();
        if !ok {
            return Err(format!(
                "document {}: apiVersion, kind and metadata.name are required",
                i + 1
            ));
        }
        out.push(v);
    }
    Ok(out)
}

/// The Namespace object for `user` (pure).
pub fn namespace_object(cfg: &ProvisionConfig, user: &User) -> Value {
    let mut labels: Map<String, Value> = cfg
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    labels.insert(USERNAME_KEY.into(), json!(username_label(&user.name)));
    if let Some(level) = &cfg.psa_level {
        for mode in ["enforce", "warn", "audit"] {
            labels.insert(format!("pod-security.kubernetes.io/{mode}"), json!(level));
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": user.namespace,
            "labels": labels,
            "annotations": {USERNAME_KEY: user.name},
        },
    })
}

/// A manifest made ready for the user's namespace: namespace set, kbatch labels added (pure).
pub fn manifest_for(cfg: &ProvisionConfig, manifest: &Value, namespace: &str) -> Value {
    let mut m = manifest.clone();
    if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("namespace".into(), json!(namespace));
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let Some(labels) = labels.as_object_mut() {
            for (k, v) in &cfg.labels {
                labels.insert(k.clone(), json!(v));
            }
        }
    }
    m
}

/// The RoleBinding giving `subject` the ClusterRole `role` (pure).
pub fn role_binding(cfg: &ProvisionConfig, role: &str, subject: &str, namespace: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": ROLE_BINDING_NAME, "namespace": namespace, "labels": cfg.labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": subject}],
    })
}

/// The API path prefix for an apiVersion (`v1` → `/api/v1`, `apps/v1` → `/apis/apps/v1`).
pub fn api_prefix(api_version: &str) -> String {
    if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    }
}

/// kind → (plural, namespaced), for one apiVersion.
type KindTable = HashMap<String, (String, bool)>;

/// Provisions user namespaces; cheap to share.
pub struct Provisioner {
    cfg: ProvisionConfig,
    done: Cache<String, ()>,
    /// apiVersion → kind → (plural, namespaced), from discovery.
    plurals: Mutex<HashMap<String, KindTable>>,
}

impl Provisioner {
    /// A provisioner with these settings.
    pub fn new(cfg: ProvisionConfig) -> Self {
        let done = Cache::builder()
            .name("kbatch-proxy-namespaces")
            .max_capacity(100_000)
            .time_to_live(cfg.cache_ttl)
            .build();
        Provisioner {
            cfg,
            done,
            plurals: Mutex::new(HashMap::new()),
        }
    }

    /// Make sure `user`'s namespace is provisioned (a no-op when disabled or remembered).
    pub async fn ensure(&self, upstream: &Upstream, user: &User) -> Result<(), ProvisionError> {
        if !self.cfg.enabled {
            return Ok(());
        }
        self.done
            .try_get_with(user.namespace.clone(), self.provision(upstream, user))
            .await
            .map_err(|e: Arc<ProvisionError>| (*e).clone())
    }

    async fn provision(&self, upstream: &Upstream, user: &User) -> Result<(), ProvisionError> {
        let ns = &user.namespace;
        let fail = |message: String| ProvisionError::Step {
            namespace: ns.clone(),
            message,
        };
        let body = namespace_object(&self.cfg, user);
        let (status, answer) = send(upstream, Method::POST, "/api/v1/namespaces", None, &body)
            .await
            .map_err(|message| ProvisionError::Unreachable {
                namespace: ns.clone(),
                message,
            })?;
        match status {
            StatusCode::CREATED => tracing::info!(namespace = %ns, "created user namespace"),
            StatusCode::CONFLICT => {}
            s => {
                return Err(fail(format!(
                    "creating the namespace: {s}: {}",
                    message(&answer)
                )))
            }
        }
        for manifest in &self.cfg.manifests {
            let m = manifest_for(&self.cfg, manifest, ns);
            self.apply(upstream, &m).await.map_err(fail)?;
        }
        if let Some((role, identity)) = &self.cfg.bind {
            let subject = identity
                .kube_username(&user.name)
                .map_err(|e| fail(e.to_string()))?;
            let rb = role_binding(&self.cfg, role, &subject, ns);
            if let Err(e) = self.apply(upstream, &rb).await {
                // roleRef is immutable: a changed ClusterRole setting needs a new binding.
                if !e.contains("roleRef") {
                    return Err(fail(e));
                }
                let path = format!(
                    "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings/{ROLE_BINDING_NAME}"
                );
                send(upstream, Method::DELETE, &path, None, &Value::Null)
                    .await
                    .map_err(fail)?;
                self.apply(upstream, &rb).await.map_err(fail)?;
            }
        }
        Ok(())
    }

    /// Server-side apply one namespaced object.
    async fn apply(&self, upstream: &Upstream, obj: &Value) -> Result<(), String> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let name = obj.pointer("/metadata/name").and_then(Value::as_str);
        let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str);
        let (Some(name), Some(ns)) = (name, ns) else {
            return Err(format!("{kind} without a name or namespace"));
        };
        let (plural, namespaced) = self.resolve(upstream, api_version, kind).await?;
        if !namespaced {
            return Err(format!(
                "{kind} {name} is cluster-scoped; namespace manifests must be namespaced"
            ));
        }
        let path = format!(
            "{}/namespaces/{ns}/{plural}/{name}?fieldManager={FIELD_MANAGER}&force=true",
            api_prefix(api_version)
        );
        let (status, answer) = send(
            upstream,
            Method::PATCH,
            &path,
            Some("application/apply-patch+yaml"),
            obj,
        )
        .await?;
        if status.is_success() {
            return Ok(());
        }
        Err(format!(
            "applying {kind} {name}: {status}: {}",
            message(&answer)
        ))
    }

    /// The plural and scope of a kind, from discovery (cached per apiVersion).
    async fn resolve(
        &self,
        upstream: &Upstream,
        api_version: &str,
        kind: &str,
    ) -> Result<(String, bool), String> {
        if let Some(found) = self.lookup(api_version, kind) {
            return Ok(found);
        }
        let (status, answer) = send(
            upstream,
            Method::GET,
            &api_prefix(api_version),
            None,
            &Value::Null,
        )
        .await?;
        if !status.is_success() {
            return Err(format!(
                "discovery of {api_version}: {status}: {}",
                message(&answer)
            ));
        }
        let list: Value = serde_json::from_str(&answer).map_err(|e| e.to_string())?;
        let mut kinds = HashMap::new();
        for r in list["resources"].as_array().into_iter().flatten() {
            let (Some(name), Some(k)) = (r["name"].as_str(), r["kind"].as_str()) else {
                continue;
            };
            if !name.contains('/') {
                let namespaced = r["namespaced"].as_bool().unwrap_or(false);
                kinds.insert(k.to_string(), (name.to_string(), namespaced));
            }
        }
        self.plurals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(api_version.to_string(), kinds);
        self.lookup(api_version, kind)
            .ok_or_else(|| format!("the API server does not serve {kind} in {api_version}"))
    }

    fn lookup(&self, api_version: &str, kind: &str) -> Option<(String, bool)> {
        let plurals = self.plurals.lock().unwrap_or_else(|p| p.into_inner());
        plurals.get(api_version)?.get(kind).cloned()
    }
}

/// One JSON request with the proxy's credential; the answer as text.
async fn send(
    upstream: &Upstream,
    method: Method,
    path: &str,
    content_type: Option<&'static str>,
    body: &Value,
) -> Result<(StatusCode, String), String> {
    let (ct, bytes) = if body.is_null() {
        (None, Bytes::new())
    } else {
        let b = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        (
            Some(content_type.unwrap_or("application/json")),
            Bytes::from(b),
        )
    };
    let (status, answer) = upstream
        .call(method, path, &[], ct, bytes)
        .await
        .map_err(|e| e.to_string())?;
    Ok((status, String::from_utf8_lossy(&answer).into_owned()))
}

/// What an error answer says: a `Status`'s message, else the start of the body.
fn message(answer: &str) -> String {
    serde_json::from_str::<Value>(answer)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| answer.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ProvisionConfig {
        ProvisionConfig {
            enabled: true,
            labels: [(
                "app.kubernetes.io/managed-by".to_string(),
                "kbatch".to_string(),
            )]
            .into_iter()
            .collect(),
            psa_level: Some("baseline".into()),
            manifests: Vec::new(),
            bind: None,
            cache_ttl: Duration::from_secs(60),
        }
    }

    fn user(name: &str) -> User {
        User {
            name: name.into(),
            groups: vec![],
            namespace: crate::identity::namespace_for(name),
        }
    }

    #[test]
    fn namespace_object_has_labels_annotation_and_psa() {
        let ns = namespace_object(&cfg(), &user("Test.User@example.org"));
        assert_eq!(
            ns["metadata"]["name"],
            json!(crate::identity::namespace_for("Test.User@example.org"))
        );
        let labels = &ns["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "kbatch");
        assert_eq!(labels["pod-security.kubernetes.io/enforce"], "baseline");
        assert_eq!(labels["pod-security.kubernetes.io/warn"], "baseline");
        assert_eq!(
            labels[USERNAME_KEY],
            json!(username_label("Test.User@example.org"))
        );
        assert_eq!(
            ns["metadata"]["annotations"][USERNAME_KEY],
            "Test.User@example.org"
        );
        let none = ProvisionConfig {
            psa_level: None,
            ..cfg()
        };
        let ns = namespace_object(&none, &user("a"));
        assert!(ns["metadata"]["labels"]
            .get("pod-security.kubernetes.io/enforce")
            .is_none());
    }

    #[test]
    fn manifests_parse_and_get_namespace_and_labels() {
        let text = "---\napiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: q\n  labels: {a: b}\nspec:\n  hard: {pods: \"5\"}\n---\n---\napiVersion: v1\nkind: LimitRange\nmetadata: {name: l}\n---\n";
        let ms = parse_manifests_str(text).expect("valid");
        assert_eq!(ms.len(), 2);
        let m = manifest_for(&cfg(), &ms[0], "kbatch-a");
        assert_eq!(m["metadata"]["namespace"], "kbatch-a");
        assert_eq!(m["metadata"]["labels"]["a"], "b");
        assert_eq!(
            m["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "kbatch"
        );
        assert!(parse_manifests_str("kind: X\nmetadata: {name: a}\n").is_err());
        assert!(parse_manifests_str("a: [").is_err());
    }

    #[test]
    fn role_binding_and_prefixes() {
        let rb = role_binding(&cfg(), "edit", "jupyterhub:alice", "kbatch-alice");
        assert_eq!(rb["roleRef"]["name"], "edit");
        assert_eq!(rb["subjects"][0]["kind"], "User");
        assert_eq!(rb["subjects"][0]["name"], "jupyterhub:alice");
        assert_eq!(rb["metadata"]["namespace"], "kbatch-alice");
        assert_eq!(api_prefix("v1"), "/api/v1");
        assert_eq!(
            api_prefix("networking.k8s.io/v1"),
            "/apis/networking.k8s.io/v1"
        );
    }
}
