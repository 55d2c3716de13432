//! kbatch REST API settings: the flags of the Python kbatch-proxy's settings (§4.8 of the
//! compatibility spec) that [`crate::config::Args`] does not already carry, and
//! [`KbatchSettings`], everything the kbatch handlers need, resolved once at start
//! (template and profile files read and parsed, JSON settings reused from [`Config`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::Config;

/// Flags of the Python kbatch-proxy not covered by [`crate::config::Args`]. Booleans accept
/// pydantic's spellings (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`).
#[derive(clap::Args, Debug, Clone)]
pub struct KbatchArgs {
    /// Accepted for compatibility; unused (as in the Python original).
    #[arg(long, env = "JUPYTERHUB_SERVICE_PREFIX", default_value = "/")]
    pub jupyterhub_service_prefix: String,
    /// Accepted for compatibility; logging is configured with `RUST_LOG`.
    #[arg(long, env = "KBATCH_INIT_LOGGING", default_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub kbatch_init_logging: bool,
    /// Accepted for compatibility; `.env` files are not read (set environment variables).
    #[arg(long, env = "KBATCH_SETTINGS_PATH")]
    pub kbatch_settings_path: Option<PathBuf>,
    /// Require a hub token on `GET /profiles/` and `GET /` too (the original serves them
    /// without authentication).
    #[arg(long, env = "KBATCH_PROFILES_REQUIRE_AUTH", default_value = "false",
          value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub profiles_require_auth: bool,
}

/// Errors reading the template or profile file (the proxy does not start).
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not YAML of the expected shape.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// What the kbatch handlers need, resolved at start.
#[derive(Debug, Clone)]
pub struct KbatchSettings {
    /// `KBATCH_JOB_TEMPLATE_FILE` as Kubernetes JSON (camelCase), empty values removed.
    pub job_template: Option<Value>,
    /// `KBATCH_PROFILE_FILE` as JSON (`{}` when unset), served verbatim.
    pub profiles: Value,
    /// `KBATCH_JOB_TTL_SECONDS_AFTER_FINISHED`.
    pub ttl_seconds_after_finished: i64,
    /// `KBATCH_JOB_EXTRA_ENV`, in the order of the JSON object's keys (sorted).
    pub extra_env: BTreeMap<String, String>,
    /// `KBATCH_LABELS`: on namespaces, jobs, cronjobs, pods, secrets and configmaps.
    pub labels: BTreeMap<String, String>,
    /// `KBATCH_CREATE_USER_NAMESPACE`.
    pub create_user_namespace: bool,
    /// `KBATCH_PROFILES_REQUIRE_AUTH`.
    pub profiles_require_auth: bool,
}

impl Default for KbatchSettings {
    fn default() -> Self {
        KbatchSettings {
            job_template: None,
            profiles: Value::Object(Default::default()),
            ttl_seconds_after_finished: 3600,
            extra_env: BTreeMap::new(),
            labels: BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_string(),
                "kbatch".to_string(),
            )]),
            create_user_namespace: true,
            profiles_require_auth: false,
        }
    }
}

fn read_yaml(path: &Path) -> Result<Value, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let yaml: Value = serde_yaml::from_str(&text).map_err(|e| SettingsError::Invalid {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(yaml)
}

impl KbatchSettings {
    /// Resolve from the proxy's configuration, reading the template and profile files.
    pub fn load(config: &Config) -> Result<Self, SettingsError> {
        let a = &config.args;
        if a.kbatch.kbatch_settings_path.is_some() {
            tracing::warn!("KBATCH_SETTINGS_PATH is set but .env files are not read; set environment variables instead");
        }
        let job_template = match &a.job_template_file {
            Some(p) => {
                let raw = read_yaml(p)?;
                let template =
                    super::submit::load_template(&raw).map_err(|e| SettingsError::Invalid {
                        path: p.display().to_string(),
                        message: e.to_string(),
                    })?;
                Some(template)
            }
            None => None,
        };
        let profiles = match &a.profile_file {
            Some(p) => match read_yaml(p)? {
                Value::Null => Value::Object(Default::default()),
                v => v,
            },
            None => Value::Object(Default::default()),
        };
        Ok(KbatchSettings {
            job_template,
            profiles,
            ttl_seconds_after_finished: a.job_ttl_seconds_after_finished,
            extra_env: config.job_extra_env.clone(),
            labels: config.labels.clone(),
            create_user_namespace: a.create_user_namespace,
            profiles_require_auth: a.kbatch.profiles_require_auth,
        })
    }
}
