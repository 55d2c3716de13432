//! Namespace provisioning on a user's first request: the namespace (kbatch labels, a username
//! annotation, Pod Security Admission labels), the operator's namespace manifests
//! (`KBATCH_NAMESPACE_MANIFESTS_FILE`, server-side apply), and in `impersonate` mode a RoleBinding
//! giving the impersonated user a ClusterRole there. What was provisioned is remembered for a
//! bounded time (so changes in the cluster are picked up); concurrent first requests share one
//! provisioning run, and failures are never remembered.
//!
//! A namespace that already exists is used only when its `kbatch.jupyter.org/username`
//! annotation names this hub user exactly ([`mod@ownership`]); its kbatch and Pod Security labels
//! are then brought back to the configured values. One without the annotation is adopted only
//! under `--adopt-existing-namespaces` (migration from the Python kbatch-proxy); everything else
//! is refused with a 403.

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

pub mod ownership;
#[cfg(test)]
mod tests;

use ownership::{ownership, reconcile_patch, refusal, Ownership};

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
    /// Adopt an existing user namespace that has no `kbatch.jupyter.org/username` annotation
    /// (as the Python kbatch-proxy left them): the proxy annotates and labels it for the user.
    /// A namespace annotated for another user is refused all the same.
    #[arg(
        long = "adopt-existing-namespaces",
        env = "KBATCH_ADOPT_EXISTING_NAMESPACES",
        action = clap::ArgAction::SetTrue
    )]
    pub adopt_existing_namespaces: bool,
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
    /// The namespace exists and is not this user's (see [`ownership::refusal`]).
    #[error("{message}")]
    NotYours {
        /// The user namespace.
        namespace: String,
        /// What the user is told.
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
            ProvisionError::NotYours { message, .. } => ProxyError::Forbidden(message),
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
    /// Adopt existing namespaces without the username annotation.
    pub adopt: bool,
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

/// Whether an API server answer says namespace `ns` does not exist: a 404 `Status` with
/// `details.kind: namespaces` and `details.name: <ns>`, or the message
/// `namespaces "<ns>" not found` (pure).
pub fn namespace_missing(status: StatusCode, body: &[u8], ns: &str) -> bool {
    if status != StatusCode::NOT_FOUND {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    if v["kind"] != "Status" {
        return false;
    }
    let by_details = v["details"]["kind"] == "namespaces" && v["details"]["name"] == ns;
    let by_message = v["message"].as_str() == Some(&format!("namespaces \"{ns}\" not found"));
    by_details || by_message
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

    /// Make sure `user`'s namespace is provisioned (a no-op when remembered). With provisioning
    /// off, an existing namespace is only checked to be this user's.
    pub async fn ensure(&self, upstream: &Upstream, user: &User) -> Result<(), ProvisionError> {
        if !self.cfg.enabled {
            return self.check_existing(upstream, user).await;
        }
        self.done
            .try_get_with(user.namespace.clone(), self.provision(upstream, user))
            .await
            .map_err(|e: Arc<ProvisionError>| (*e).clone())
    }

    /// The API server said `user`'s namespace does not exist (deleted out of band while it
    /// was remembered as provisioned): forget it and, when provisioning is on, provision it
    /// again. `Ok(true)` when it was provisioned again, so the request may be retried once.
    pub async fn recover(&self, upstream: &Upstream, user: &User) -> Result<bool, ProvisionError> {
        self.done.invalidate(&user.namespace).await;
        if !self.cfg.enabled {
            return Ok(false);
        }
        tracing::warn!(
            user = %user.name,
            namespace = %user.namespace,
            "the user namespace is gone (deleted out of band?); provisioning it again"
        );
        self.ensure(upstream, user).await?;
        Ok(true)
    }

    /// `KBATCH_CREATE_USER_NAMESPACE=false`: the operator makes the namespaces and the proxy
    /// writes nothing, but uses one only when it is this user's (or unclaimed, under
    /// `--adopt-existing-namespaces`). A missing namespace is let through (the API server
    /// answers NotFound) and not remembered.
    async fn check_existing(&self, upstream: &Upstream, user: &User) -> Result<(), ProvisionError> {
        let ns = &user.namespace;
        if self.done.contains_key(ns) {
            return Ok(());
        }
        let Some(live) = self.get_namespace(upstream, ns).await? else {
            return Ok(());
        };
        match ownership(&live, &user.name) {
            Ownership::Mine => {}
            Ownership::Unclaimed if self.cfg.adopt => tracing::warn!(
                user = %user.name,
                namespace = %ns,
                "using a namespace without the username annotation (adopt-existing-namespaces; \
                 it is not annotated because namespace creation is off)"
            ),
            owner => return Err(self.refuse(user, &owner)),
        }
        self.done.insert(ns.clone(), ()).await;
        Ok(())
    }

    async fn provision(&self, upstream: &Upstream, user: &User) -> Result<(), ProvisionError> {
        let ns = &user.namespace;
        let fail = |message: String| ProvisionError::Step {
            namespace: ns.clone(),
            message,
        };
        if !self.create_namespace(upstream, user).await? {
            self.claim_existing(upstream, user).await?;
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

    /// POST the namespace: `true` when created, `false` when it already exists.
    async fn create_namespace(
        &self,
        upstream: &Upstream,
        user: &User,
    ) -> Result<bool, ProvisionError> {
        let ns = &user.namespace;
        let body = namespace_object(&self.cfg, user);
        let (status, answer) = send(upstream, Method::POST, "/api/v1/namespaces", None, &body)
            .await
            .map_err(|message| unreachable(ns, message))?;
        match status {
            StatusCode::CREATED => {
                tracing::info!(namespace = %ns, "created user namespace");
                Ok(true)
            }
            StatusCode::CONFLICT => Ok(false),
            s => Err(ProvisionError::Step {
                namespace: ns.clone(),
                message: format!("creating the namespace: {s}: {}", message(&answer)),
            }),
        }
    }

    /// An existing namespace: refuse it unless it is this user's (or unclaimed and adoption is
    /// on), then bring its labels and annotation to what provisioning sets.
    async fn claim_existing(&self, upstream: &Upstream, user: &User) -> Result<(), ProvisionError> {
        let ns = &user.namespace;
        let fail = |message: String| ProvisionError::Step {
            namespace: ns.clone(),
            message,
        };
        let live = self
            .get_namespace(upstream, ns)
            .await?
            .ok_or_else(|| fail("the namespace exists but reading it gave NotFound".into()))?;
        match ownership(&live, &user.name) {
            Ownership::Mine => {}
            Ownership::Unclaimed if self.cfg.adopt => tracing::warn!(
                user = %user.name,
                namespace = %ns,
                "adopting an existing namespace without the username annotation \
                 (adopt-existing-namespaces)"
            ),
            owner => return Err(self.refuse(user, &owner)),
        }
        let Some(patch) = reconcile_patch(&self.cfg, user, &live) else {
            return Ok(());
        };
        let path = format!("/api/v1/namespaces/{ns}?fieldManager={FIELD_MANAGER}");
        let (status, answer) = send(
            upstream,
            Method::PATCH,
            &path,
            Some("application/merge-patch+json"),
            &patch,
        )
        .await
        .map_err(|message| unreachable(ns, message))?;
        if !status.is_success() {
            return Err(fail(format!(
                "updating the namespace's labels: {status}: {}",
                message(&answer)
            )));
        }
        let changed: Vec<&String> = ["labels", "annotations"]
            .iter()
            .filter_map(|f| patch["metadata"][f].as_object())
            .flat_map(|m| m.keys())
            .collect();
        tracing::info!(namespace = %ns, ?changed, "reconciled user namespace metadata");
        Ok(())
    }

    /// GET a namespace; `None` when it does not exist.
    async fn get_namespace(
        &self,
        upstream: &Upstream,
        ns: &str,
    ) -> Result<Option<Value>, ProvisionError> {
        let path = format!("/api/v1/namespaces/{ns}");
        let (status, answer) = send(upstream, Method::GET, &path, None, &Value::Null)
            .await
            .map_err(|message| unreachable(ns, message))?;
        match status {
            StatusCode::OK => {
                serde_json::from_str(&answer)
                    .map(Some)
                    .map_err(|e| ProvisionError::Step {
                        namespace: ns.to_string(),
                        message: format!("reading the namespace: {e}"),
                    })
            }
            StatusCode::NOT_FOUND => Ok(None),
            s => Err(ProvisionError::Step {
                namespace: ns.to_string(),
                message: format!("reading the namespace: {s}: {}", message(&answer)),
            }),
        }
    }

    /// The refusal of a namespace that is not this user's (logged with its owner).
    fn refuse(&self, user: &User, owner: &Ownership) -> ProvisionError {
        tracing::warn!(
            user = %user.name,
            namespace = %user.namespace,
            ?owner,
            "refused an existing namespace that is not this user's"
        );
        ProvisionError::NotYours {
            namespace: user.namespace.clone(),
            message: refusal(&user.namespace, &user.name, owner, self.cfg.adopt),
        }
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

fn unreachable(namespace: &str, message: String) -> ProvisionError {
    ProvisionError::Unreachable {
        namespace: namespace.to_string(),
        message,
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
