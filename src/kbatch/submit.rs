//! The kbatch submission pipeline (pure): a `POST /jobs/` or `/cronjobs/` body → the Job or
//! CronJob to create (suspended), the Secret holding its literal environment and the
//! ConfigMap holding its code, all named from the object's final name so that they can be
//! created after it with ownerReferences (see `k8s::submit` for the order).
//!
//! Steps, as kbatch-proxy's `_create_job` + `patch.patch` (compatibility spec §4):
//! template merge (`KBATCH_JOB_TEMPLATE_FILE`; for a CronJob into its `jobTemplate`), the
//! username annotation and label plus `KBATCH_LABELS`, the user's namespace,
//! `KBATCH_JOB_EXTRA_ENV` + `JUPYTER_IMAGE` + `JUPYTER_IMAGE_SPEC` + `JUPYTERHUB_API_TOKEN`
//! on the first container, every literal env value moved into the Secret, the TTL, and the
//! code ConfigMap with its unzip init container and `code-source-volume` / `code-volume`
//! volumes mounted at `/code`.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    KeyToPath, PodSpec, Secret, SecretKeySelector, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use serde_json::{json, Value};

use super::settings::KbatchSettings;
use super::wire;
use crate::error::ProxyError;

/// The annotation (raw hub user name) and label (valid label value) kbatch puts on objects.
pub const USERNAME_KEY: &str = "kbatch.jupyter.org/username";
/// The code ConfigMap's volume, mounted by the init container at `/code-zipped`.
pub const CODE_SOURCE_VOLUME: &str = "code-source-volume";
/// The emptyDir the code is unzipped into, mounted at `/code`.
pub const CODE_VOLUME: &str = "code-volume";
/// kbatch's unzip command (its exact text).
const UNZIP_SCRIPT: &str =
    "echo [unzip]; unzip -d /code/ /code-zipped/code.b64 ;echo [ls code] ; ls /code ;";
/// Kubernetes keeps 58 characters of a `generateName` and appends 5 random ones.
const GENERATE_BASE_MAX: usize = 58;
/// The alphabet of Kubernetes' random name suffixes (no vowels, no confusable digits).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// What is submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitKind {
    /// `POST /jobs/`.
    Job,
    /// `POST /cronjobs/`.
    CronJob,
}

impl SubmitKind {
    /// The Kubernetes kind.
    pub fn kind(self) -> &'static str {
        match self {
            SubmitKind::Job => "Job",
            SubmitKind::CronJob => "CronJob",
        }
    }
    /// The resource (plural).
    pub fn resource(self) -> &'static str {
        match self {
            SubmitKind::Job => "jobs",
            SubmitKind::CronJob => "cronjobs",
        }
    }
}

/// Who submits.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// Hub user name.
    pub name: &'a str,
    /// The user's namespace.
    pub namespace: &'a str,
    /// The caller's hub token, injected as `JUPYTERHUB_API_TOKEN` (kbatch's behaviour).
    pub token: Option<&'a str>,
}

/// A parsed, template-merged submission, not yet named.
#[derive(Debug, Clone)]
pub struct Prepared {
    kind: SubmitKind,
    job: Option<Job>,
    cronjob: Option<CronJob>,
    code: Option<ConfigMap>,
}

/// The objects to create, in Kubernetes JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The Job or CronJob, with `spec.suspend: true`.
    pub object: Value,
    /// Whether the client itself asked for a suspended object (then it stays suspended).
    pub client_suspended: bool,
    /// The Secret with the literal env values, if any (no ownerReferences yet).
    pub secret: Option<Value>,
    /// The code ConfigMap, if code was sent (no ownerReferences yet).
    pub config_map: Option<Value>,
}

/// Parse a job template file (YAML already read as JSON, snake_case or camelCase) into
/// Kubernetes JSON with empty values removed; it must be a Job-shaped object.
pub fn load_template(raw: &Value) -> Result<Value, ProxyError> {
    if !raw.is_object() {
        return Err(ProxyError::Unprocessable(
            "the job template must be a mapping".into(),
        ));
    }
    let kube = wire::remove_empty(&wire::to_kube(raw));
    // Type-check it once at start (booleans and int-or-string are fine here).
    let mut check = kube.clone();
    if let Some(m) = check.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
        if let Some(spec) = m.get_mut("spec").and_then(Value::as_object_mut) {
            spec.entry("template").or_insert_with(|| json!({}));
        }
    }
    wire::parse::<Job>("job template", check)?;
    Ok(kube)
}

/// Parse the request body `{"job": …, "code": …}` and merge the template.
pub fn prepare(
    kind: SubmitKind,
    body: &Value,
    settings: &KbatchSettings,
) -> Result<Prepared, ProxyError> {
    let Some(raw_job) = body.get("job").filter(|j| j.is_object()) else {
        return Err(ProxyError::Unprocessable(
            "the body must be a JSON object with a \"job\" object".into(),
        ));
    };
    let mut job = wire::to_kube(raw_job);
    if let Some(m) = job.as_object_mut() {
        // The kind is given by the endpoint; a template's `kind: Job` must not matter either.
        m.remove("status");
        if m.get("apiVersion").is_some_and(|v| v != "batch/v1") {
            return Err(ProxyError::Unprocessable(format!(
                "apiVersion must be batch/v1, not {}",
                m["apiVersion"]
            )));
        }
        if m.get("kind").is_some_and(|v| v != kind.kind()) {
            return Err(ProxyError::Unprocessable(format!(
                "kind must be {} on /{}/, not {}",
                kind.kind(),
                kind.resource(),
                m["kind"]
            )));
        }
        m.remove("apiVersion");
        m.remove("kind");
    }
    if let Some(t) = &settings.job_template {
        job = merge_template(kind, &job, t);
    }
    let code = match body.get("code") {
        None | Some(Value::Null) => None,
        Some(c) if c.is_object() => {
            let mut cm = wire::to_kube(c);
            if let Some(m) = cm.as_object_mut() {
                m.remove("apiVersion");
                m.remove("kind");
            }
            let cm: ConfigMap = wire::parse("code ConfigMap", cm)?;
            let has_code = cm
                .binary_data
                .as_ref()
                .is_some_and(|d| d.contains_key("code"))
                || cm.data.as_ref().is_some_and(|d| d.contains_key("code"));
            if !has_code {
                return Err(ProxyError::Unprocessable(
                    "the code ConfigMap must hold the zipped code under binary_data.code".into(),
                ));
            }
            Some(cm)
        }
        Some(_) => {
            return Err(ProxyError::Unprocessable(
                "\"code\" must be a ConfigMap object".into(),
            ))
        }
    };
    let (job, cronjob) = match kind {
        SubmitKind::Job => (Some(wire::parse::<Job>("job", job)?), None),
        SubmitKind::CronJob => {
            if job["spec"]["jobTemplate"].is_null() {
                return Err(ProxyError::Unprocessable(
                    "a cronjob needs spec.job_template".into(),
                ));
            }
            (None, Some(wire::parse::<CronJob>("cronjob", job)?))
        }
    };
    let prepared = Prepared {
        kind,
        job,
        cronjob,
        code,
    };
    let has_containers = prepared
        .pod_spec()
        .is_some_and(|p| !p.containers.is_empty());
    if !has_containers {
        return Err(ProxyError::Unprocessable(
            "the job's pod template has no containers".into(),
        ));
    }
    Ok(prepared)
}

/// Merge the Job template: into the Job; for a CronJob (fixing kbatch, which merged it at
/// the CronJob's top level where the pod settings were lost), the template's `metadata` into
/// the CronJob's and the `jobTemplate`'s metadata and its `spec` into `jobTemplate.spec`.
fn merge_template(kind: SubmitKind, job: &Value, template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(m) = t.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
        m.remove("status");
    }
    match kind {
        SubmitKind::Job => wire::merge(job, &t),
        SubmitKind::CronJob => {
            let mut out = job.clone();
            if let Some(meta) = t.get("metadata") {
                out["metadata"] = wire::merge(&job["metadata"], meta);
                out["spec"]["jobTemplate"]["metadata"] =
                    wire::merge(&job["spec"]["jobTemplate"]["metadata"], meta);
            }
            if let Some(spec) = t.get("spec") {
                out["spec"]["jobTemplate"]["spec"] =
                    wire::merge(&job["spec"]["jobTemplate"]["spec"], spec);
            }
            strip_nulls(&mut out);
            out
        }
    }
}

/// `out["a"]["b"] = …` on a missing path leaves `null`s behind; drop them again.
fn strip_nulls(v: &mut Value) {
    if let Value::Object(m) = v {
        m.retain(|_, v| !v.is_null());
        for v in m.values_mut() {
            strip_nulls(v);
        }
    }
}

impl Prepared {
    /// The kind.
    pub fn kind(&self) -> SubmitKind {
        self.kind
    }

    fn meta(&self) -> Option<&ObjectMeta> {
        match (&self.job, &self.cronjob) {
            (Some(j), _) => Some(&j.metadata),
            (_, Some(c)) => Some(&c.metadata),
            _ => None,
        }
    }

    fn pod_spec(&self) -> Option<&PodSpec> {
        match (&self.job, &self.cronjob) {
            (Some(j), _) => j.spec.as_ref()?.template.spec.as_ref(),
            (_, Some(c)) => c
                .spec
                .as_ref()?
                .job_template
                .spec
                .as_ref()?
                .template
                .spec
                .as_ref(),
            _ => None,
        }
    }

    /// The name the client gave (`metadata.name`), if any.
    pub fn fixed_name(&self) -> Option<&str> {
        self.meta()?.name.as_deref().filter(|n| !n.is_empty())
    }

    /// A name for the object: `metadata.name`, else `metadata.generateName` (its first 58
    /// characters, as Kubernetes does) + `suffix` (5 random characters, see
    /// [`random_suffix`]). The proxy names objects itself so that the Secret and ConfigMap
    /// the Job refers to can be named before the Job exists (kbatch issue #6).
    pub fn name_with(&self, suffix: &str) -> Result<String, ProxyError> {
        if let Some(n) = self.fixed_name() {
            return Ok(n.to_string());
        }
        let generate = self
            .meta()
            .and_then(|m| m.generate_name.as_deref())
            .filter(|g| !g.is_empty())
            .ok_or_else(|| {
                ProxyError::Unprocessable(
                    "metadata.name or metadata.generate_name is required".into(),
                )
            })?;
        let base: String = generate.chars().take(GENERATE_BASE_MAX).collect();
        Ok(format!("{base}{suffix}"))
    }

    /// Build the objects to create, the Job or CronJob named `name`.
    pub fn build(
        &self,
        name: &str,
        caller: &Caller<'_>,
        settings: &KbatchSettings,
    ) -> Result<Built, ProxyError> {
        let mut labels: BTreeMap<String, String> = settings.labels.clone();
        labels.insert(
            USERNAME_KEY.into(),
            crate::identity::username_label(caller.name),
        );
        let secret_name = name.to_string();
        let code_name = format!("{name}-code");
        let init_name = self
            .meta()
            .and_then(|m| m.generate_name.as_deref())
            .map(|g| format!("{g}-init"))
            .filter(|n| is_dns_label(n))
            .unwrap_or_else(|| "kbatch-code-init".to_string());
        let mut secret_data: BTreeMap<String, ByteString> = BTreeMap::new();
        let (object, client_suspended, object_labels) = match self.kind {
            SubmitKind::Job => {
                let mut job = self
                    .job
                    .clone()
                    .ok_or_else(|| ProxyError::Internal("job missing".into()))?;
                name_meta(&mut job.metadata, name, caller, &labels);
                let spec = job.spec.get_or_insert_with(Default::default);
                let client_suspended = spec.suspend == Some(true);
                spec.suspend = Some(true);
                self.patch_job_spec(
                    spec,
                    caller,
                    settings,
                    &labels,
                    &secret_name,
                    &code_name,
                    &init_name,
                    &mut secret_data,
                )?;
                let labels = job.metadata.labels.clone().unwrap_or_default();
                (to_json(&job)?, client_suspended, labels)
            }
            SubmitKind::CronJob => {
                let mut cj = self
                    .cronjob
                    .clone()
                    .ok_or_else(|| ProxyError::Internal("cronjob missing".into()))?;
                name_meta(&mut cj.metadata, name, caller, &labels);
                let spec = cj.spec.get_or_insert_with(Default::default);
                let client_suspended = spec.suspend == Some(true);
                spec.suspend = Some(true);
                let jt = &mut spec.job_template;
                let jt_meta = jt.metadata.get_or_insert_with(Default::default);
                jt_meta.name = None;
                jt_meta.generate_name = None;
                annotate(jt_meta, caller, &labels);
                let job_spec = jt.spec.get_or_insert_with(Default::default);
                self.patch_job_spec(
                    job_spec,
                    caller,
                    settings,
                    &labels,
                    &secret_name,
                    &code_name,
                    &init_name,
                    &mut secret_data,
                )?;
                let labels = cj.metadata.labels.clone().unwrap_or_default();
                (to_json(&cj)?, client_suspended, labels)
            }
        };
        let secret = if secret_data.is_empty() {
            None
        } else {
            let s = Secret {
                metadata: ObjectMeta {
                    name: Some(secret_name),
                    namespace: Some(caller.namespace.to_string()),
                    labels: Some(object_labels.clone()),
                    ..Default::default()
                },
                type_: Some("Opaque".into()),
                data: Some(secret_data),
                ..Default::default()
            };
            Some(to_json(&s)?)
        };
        let config_map = match &self.code {
            None => None,
            Some(code) => {
                let cm = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(code_name),
                        namespace: Some(caller.namespace.to_string()),
                        labels: Some(object_labels),
                        ..Default::default()
                    },
                    binary_data: code.binary_data.clone(),
                    data: code.data.clone(),
                    ..Default::default()
                };
                Some(to_json(&cm)?)
            }
        };
        Ok(Built {
            object,
            client_suspended,
            secret,
            config_map,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn patch_job_spec(
        &self,
        spec: &mut JobSpec,
        caller: &Caller<'_>,
        settings: &KbatchSettings,
        labels: &BTreeMap<String, String>,
        secret_name: &str,
        code_name: &str,
        init_name: &str,
        secret_data: &mut BTreeMap<String, ByteString>,
    ) -> Result<(), ProxyError> {
        spec.ttl_seconds_after_finished =
            Some(i32::try_from(settings.ttl_seconds_after_finished).unwrap_or(i32::MAX));
        let tmeta = spec.template.metadata.get_or_insert_with(Default::default);
        annotate(tmeta, caller, labels);
        tmeta.namespace = Some(caller.namespace.to_string());
        let pod = spec.template.spec.get_or_insert_with(Default::default);
        let first = pod.containers.first_mut().ok_or_else(|| {
            ProxyError::Unprocessable("the job's pod template has no containers".into())
        })?;
        let env = first.env.get_or_insert_with(Vec::new);
        for (k, v) in &settings.extra_env {
            env.push(literal(k, v));
        }
        if let Some(image) = first.image.clone() {
            env.push(literal("JUPYTER_IMAGE", &image));
            env.push(literal("JUPYTER_IMAGE_SPEC", &image));
        }
        if let Some(token) = caller.token.filter(|t| !t.is_empty()) {
            env.push(literal("JUPYTERHUB_API_TOKEN", token));
        }
        if self.code.is_some() {
            first
                .volume_mounts
                .get_or_insert_with(Vec::new)
                .push(VolumeMount {
                    name: CODE_VOLUME.into(),
                    mount_path: "/code".into(),
                    ..Default::default()
                });
            let init = Container {
                name: init_name.to_string(),
                image: Some("busybox".into()),
                command: Some(vec!["/bin/sh".into()]),
                args: Some(vec!["-c".into(), UNZIP_SCRIPT.into()]),
                volume_mounts: Some(vec![
                    VolumeMount {
                        name: CODE_SOURCE_VOLUME.into(),
                        mount_path: "/code-zipped".into(),
                        read_only: Some(false),
                        ..Default::default()
                    },
                    VolumeMount {
                        name: CODE_VOLUME.into(),
                        mount_path: "/code".into(),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            };
            pod.init_containers
                .get_or_insert_with(Vec::new)
                .insert(0, init);
            let volumes = pod.volumes.get_or_insert_with(Vec::new);
            volumes.push(Volume {
                name: CODE_SOURCE_VOLUME.into(),
                config_map: Some(ConfigMapVolumeSource {
                    name: code_name.to_string(),
                    optional: Some(false),
                    items: Some(vec![KeyToPath {
                        key: "code".into(),
                        path: "code.b64".into(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            });
            volumes.push(Volume {
                name: CODE_VOLUME.into(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Default::default()
            });
        }
        let all = pod
            .containers
            .iter_mut()
            .chain(pod.init_containers.iter_mut().flatten());
        for c in all {
            for e in c.env.iter_mut().flatten() {
                if let Some(value) = e.value.take() {
                    let key = secret_key(secret_data, &e.name, &value);
                    secret_data.insert(key.clone(), ByteString(value.into_bytes()));
                    e.value_from = Some(EnvVarSource {
                        secret_key_ref: Some(SecretKeySelector {
                            name: secret_name.to_string(),
                            key,
                            optional: None,
                        }),
                        ..Default::default()
                    });
                }
            }
        }
        Ok(())
    }
}

/// The Secret key for env var `name` with `value`: the name itself when it is a valid key
/// not yet holding another value, else `env-<n>`.
fn secret_key(data: &BTreeMap<String, ByteString>, name: &str, value: &str) -> String {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name != "."
        && name != "..";
    if valid {
        match data.get(name) {
            None => return name.to_string(),
            Some(v) if v.0 == value.as_bytes() => return name.to_string(),
            Some(_) => {}
        }
    }
    let mut n = data.len();
    loop {
        let k = format!("env-{n}");
        if !data.contains_key(&k) {
            return k;
        }
        n += 1;
    }
}

fn literal(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.to_string()),
        value_from: None,
    }
}

/// Name, namespace, username annotation and labels on the object's own metadata.
fn name_meta(
    meta: &mut ObjectMeta,
    name: &str,
    caller: &Caller<'_>,
    labels: &BTreeMap<String, String>,
) {
    meta.name = Some(name.to_string());
    meta.generate_name = None;
    meta.namespace = Some(caller.namespace.to_string());
    meta.resource_version = None;
    meta.uid = None;
    meta.owner_references = None;
    annotate(meta, caller, labels);
}

fn annotate(meta: &mut ObjectMeta, caller: &Caller<'_>, labels: &BTreeMap<String, String>) {
    meta.annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(USERNAME_KEY.into(), caller.name.to_string());
    let l = meta.labels.get_or_insert_with(BTreeMap::new);
    for (k, v) in labels {
        l.insert(k.clone(), v.clone());
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, ProxyError> {
    serde_json::to_value(v).map_err(|e| ProxyError::Internal(format!("encoding an object: {e}")))
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// An ownerReference to the created Job or CronJob (as kbatch sets it: no `controller`, no
/// `blockOwnerDeletion`).
pub fn owner_reference(kind: SubmitKind, name: &str, uid: &str) -> Value {
    json!({"apiVersion": "batch/v1", "kind": kind.kind(), "name": name, "uid": uid})
}

/// Add `owner` to an object's `metadata.ownerReferences`.
pub fn set_owner(obj: &mut Value, owner: &Value) {
    obj["metadata"]["ownerReferences"] = json!([owner]);
}

/// Five characters of Kubernetes' name-suffix alphabet from `seed` (the caller supplies
/// randomness; this stays pure).
pub fn random_suffix(seed: u64) -> String {
    let mut x = seed;
    (0..5)
        .map(|_| {
            let c = SUFFIX_ALPHABET[(x % SUFFIX_ALPHABET.len() as u64) as usize] as char;
            x /= SUFFIX_ALPHABET.len() as u64;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests;
