//! Admission-style policies (pure engine): policy files from `policies/` are parsed into a
//! [`PolicySet`] that decides, for one request's object, which mutations (lenient RFC 6902
//! JSON patch) apply and which deny rules fire, by mode (enforce / warn / audit).
//! [`Policies`] is the live set: the built-in one ([`builtin`], the default), a directory's
//! (reloaded when its content changes) or, explicitly, none ([`PolicySource`]).
//!
//! The file format is documented in `policies/README.md`. In short:
//!
//! ```yaml
//! name: no-privileged
//! mode: enforce                 # enforce (default) | warn | audit
//! match:                        # all given fields must match; "*" and globs allowed
//!   verbs: [create, update, patch]          # default: create, update, patch
//!   apiGroups: ["", apps, batch]            # default: any
//!   resources: [pods, jobs, deployments]    # required
//!   subresources: [""]                      # default: the main resource only
//!   groups: [students]                      # hub groups; default: any user
//! exclude:                      # optional: skip when all of its fields match
//!   groups: [admins]
//! mutate:                       # JSON patch operations, applied in order
//!   - {op: add, path: /metadata/labels/team, value: "{username_label}"}
//! deny:                         # evaluated on the object after every mutation
//!   - path: $containers.securityContext.privileged
//!     equals: true
//!     message: privileged containers are not allowed
//! ```
//!
//! Evaluation: every matching policy's mutations run first, in order (file name order, then
//! order in the file); then every matching policy's deny rules look at the final object.
//! An `audit` policy changes nothing: its mutations are only reported.

pub mod builtin;
pub mod cli;
pub mod kinds;
pub mod patch;
pub mod path;
pub mod reload;
pub mod rules;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use self::kinds::Shape;
use self::patch::{Mutation, Outcome, Placeholders};
use self::path::glob_match;
use self::rules::{Rule, RuleSpec};

pub use self::reload::Policies;

/// Errors loading policies.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file or directory could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid YAML of the expected shape.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A policy is invalid.
    #[error("{file}: policy {policy:?}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// The policy's name.
        policy: String,
        /// What is wrong.
        message: String,
    },
}

/// Who sends the request.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The hub user name.
    pub user: &'a str,
    /// The user's namespace.
    pub namespace: &'a str,
    /// The user's hub groups.
    pub groups: &'a [String],
}

/// What the request does.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Kubernetes verb (`create`, `update`, `patch`, …).
    pub verb: &'a str,
    /// API group (`""` for core).
    pub group: &'a str,
    /// API version.
    pub version: &'a str,
    /// Plural resource.
    pub resource: &'a str,
    /// Subresource, if any.
    pub subresource: Option<&'a str>,
}

/// What a policy does with its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Mutations apply; a firing deny rule refuses the request (403).
    #[default]
    Enforce,
    /// Mutations apply; a firing deny rule becomes a `Warning` header.
    Warn,
    /// Nothing changes; mutations and firing rules are logged.
    Audit,
}

/// The outcome of evaluating a [`PolicySet`] on one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The object after mutations.
    pub object: Value,
    /// Whether mutations changed it.
    pub changed: bool,
    /// Enforce-mode findings joined with `"; "` (each `policy NAME: MESSAGE (WHERE)`).
    pub denied: Option<String>,
    /// Warn-mode findings, one per rule.
    pub warnings: Vec<String>,
    /// Audit-mode findings, one per rule or mutation.
    pub audits: Vec<String>,
}

/// A `match` or `exclude` block as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MatchSpec {
    #[serde(default)]
    verbs: Option<Vec<String>>,
    #[serde(default)]
    api_groups: Option<Vec<String>>,
    #[serde(default)]
    resources: Option<Vec<String>>,
    #[serde(default)]
    subresources: Option<Vec<String>>,
    #[serde(default)]
    groups: Option<Vec<String>>,
}

/// A policy as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PolicySpec {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    mode: Mode,
    #[serde(rename = "match")]
    matching: MatchSpec,
    #[serde(default)]
    exclude: Option<MatchSpec>,
    #[serde(default)]
    mutate: Vec<Value>,
    #[serde(default)]
    deny: Vec<RuleSpec>,
}

/// A compiled match block; `None` = any.
#[derive(Debug, Clone)]
struct Matcher {
    verbs: Option<Vec<String>>,
    api_groups: Option<Vec<String>>,
    resources: Option<Vec<String>>,
    subresources: Option<Vec<String>>,
    groups: Option<Vec<String>>,
}

impl Matcher {
    /// Whether every given field matches.
    fn matches(&self, target: &Target, subject: &Subject) -> bool {
        let any = |list: &Option<Vec<String>>, value: &str| {
            list.as_ref()
                .is_none_or(|l| l.iter().any(|p| glob_match(p, value)))
        };
        any(&self.verbs, target.verb)
            && any(&self.api_groups, target.group)
            && any(&self.resources, target.resource)
            && any(&self.subresources, target.subresource.unwrap_or(""))
            && self.groups.as_ref().is_none_or(|l| {
                subject
                    .groups
                    .iter()
                    .any(|g| l.iter().any(|p| glob_match(p, g)))
            })
    }
}

/// One compiled policy.
#[derive(Debug, Clone)]
struct Policy {
    name: String,
    mode: Mode,
    matcher: Matcher,
    exclude: Option<Matcher>,
    mutations: Vec<Mutation>,
    rules: Vec<Rule>,
}

impl Policy {
    fn applies(&self, target: &Target, subject: &Subject) -> bool {
        self.matcher.matches(target, subject)
            && !self
                .exclude
                .as_ref()
                .is_some_and(|e| e.matches(target, subject))
    }
}

/// An immutable, validated set of policies.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<Policy>,
    files: Vec<String>,
}

impl PolicySet {
    /// No policies: nothing matches.
    pub fn empty() -> Self {
        PolicySet::default()
    }

    /// Every `*.yaml` / `*.yml` file directly in `dir` (names starting with `.` skipped, as
    /// are the `..data` links of a mounted ConfigMap), in name order.
    pub fn load_dir(dir: &Path) -> Result<Self, PolicyError> {
        let files = reload::read_dir(dir)?;
        Self::from_files(&files)
    }

    /// Policies from `(file name, text)` pairs, in that order; names must be unique.
    pub fn from_files(files: &[(String, String)]) -> Result<Self, PolicyError> {
        let mut set = PolicySet::empty();
        let mut names = BTreeSet::new();
        for (file, text) in files {
            let loaded = Self::from_yaml(file, text)?;
            for p in &loaded.policies {
                if !names.insert(p.name.clone()) {
                    return Err(PolicyError::Invalid {
                        file: file.clone(),
                        policy: p.name.clone(),
                        message: "a policy of this name is already loaded".into(),
                    });
                }
            }
            set.policies.extend(loaded.policies);
            set.files.push(file.clone());
        }
        Ok(set)
    }

    /// The policies of one file: one policy per YAML document, or a list of them.
    pub fn from_yaml(name: &str, text: &str) -> Result<Self, PolicyError> {
        let parse_err = |message: String| PolicyError::Parse {
            file: name.to_string(),
            message,
        };
        let mut specs = Vec::new();
        for doc in serde_yaml::Deserializer::from_str(text) {
            let value =
                serde_yaml::Value::deserialize(doc).map_err(|e| parse_err(e.to_string()))?;
            match value {
                serde_yaml::Value::Null => {}
                serde_yaml::Value::Sequence(items) => {
                    for item in items {
                        specs.push(
                            serde_yaml::from_value::<PolicySpec>(item)
                                .map_err(|e| parse_err(e.to_string()))?,
                        );
                    }
                }
                other => specs.push(
                    serde_yaml::from_value::<PolicySpec>(other)
                        .map_err(|e| parse_err(e.to_string()))?,
                ),
            }
        }
        let mut names = BTreeSet::new();
        let mut policies = Vec::with_capacity(specs.len());
        for spec in specs {
            let policy_name = spec.name.clone();
            let invalid = |message: String| PolicyError::Invalid {
                file: name.to_string(),
                policy: policy_name.clone(),
                message,
            };
            if !names.insert(policy_name.clone()) {
                return Err(invalid("duplicate policy name".into()));
            }
            policies.push(compile(spec).map_err(invalid)?);
        }
        Ok(PolicySet {
            policies,
            files: vec![name.to_string()],
        })
    }

    /// The names of the policies, in evaluation order.
    pub fn names(&self) -> Vec<&str> {
        self.policies.iter().map(|p| p.name.as_str()).collect()
    }

    /// The files the set was loaded from.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// How many policies.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Whether any policy applies to this request (so its body must be collected).
    pub fn matches(&self, target: &Target, subject: &Subject) -> bool {
        self.policies.iter().any(|p| p.applies(target, subject))
    }

    /// Mutate and judge `object` for this request.
    pub fn evaluate(&self, target: &Target, subject: &Subject, object: Value) -> Evaluation {
        // The URL decides what kube-apiserver decodes the body as; the body's `kind` must not
        // choose which places the aliases name (a Pod sent as `kind: Secret` is still a Pod).
        let shape = Shape::of_target(target.group, target.resource, target.subresource);
        let label = crate::identity::username_label(subject.user);
        let groups = subject.groups.join(",");
        let ph = Placeholders {
            username: subject.user,
            username_label: &label,
            namespace: subject.namespace,
            groups: &groups,
        };
        let applicable: Vec<&Policy> = self
            .policies
            .iter()
            .filter(|p| p.applies(target, subject))
            .collect();
        let mut doc = object;
        let mut changed = false;
        let mut denials = Vec::new();
        let mut warnings = Vec::new();
        let mut audits = Vec::new();
        for p in &applicable {
            if p.mutations.is_empty() {
                continue;
            }
            let finding = |e: String| format!("policy {}: mutation failed: {e}", p.name);
            if p.mode == Mode::Enforce && !patch::may_stop_half_way(&p.mutations) {
                // In place: add/remove/replace stop only on an error, which refuses the request.
                match patch::apply(&mut doc, shape, &p.mutations, &ph) {
                    Ok(Outcome::Applied { changed: c }) => changed |= c,
                    Ok(Outcome::Skipped) => {}
                    Err(e) => denials.push(finding(e)),
                }
                continue;
            }
            let mut candidate = doc.clone();
            match patch::apply(&mut candidate, shape, &p.mutations, &ph) {
                Ok(Outcome::Applied { changed: true }) => {
                    if p.mode == Mode::Audit {
                        audits.push(format!("policy {}: would mutate the object", p.name));
                    } else {
                        doc = candidate;
                        changed = true;
                    }
                }
                Ok(_) => {}
                Err(e) => match p.mode {
                    Mode::Enforce => denials.push(finding(e)),
                    Mode::Warn => warnings.push(finding(e)),
                    Mode::Audit => audits.push(finding(e)),
                },
            }
        }
        for p in &applicable {
            for rule in &p.rules {
                let places = rule.violations(&doc, shape);
                if places.is_empty() {
                    continue;
                }
                let places: Vec<&str> = places
                    .iter()
                    .map(String::as_str)
                    .filter(|s| !s.is_empty())
                    .collect();
                let finding = if places.is_empty() {
                    format!("policy {}: {}", p.name, rule.message)
                } else {
                    format!(
                        "policy {}: {} ({})",
                        p.name,
                        rule.message,
                        places.join(", ")
                    )
                };
                match p.mode {
                    Mode::Enforce => denials.push(finding),
                    Mode::Warn => warnings.push(finding),
                    Mode::Audit => audits.push(finding),
                }
            }
        }
        Evaluation {
            object: doc,
            changed,
            denied: (!denials.is_empty()).then(|| denials.join("; ")),
            warnings,
            audits,
        }
    }
}

/// The subject the load-time idempotency check uses.
const SAMPLE_USER: &str = "Sample.User@example.org";

/// Objects the load-time idempotency check applies every mutation to, twice.
fn samples() -> Vec<Value> {
    let pod_spec = serde_json::json!({
        "containers": [{"name": "c", "image": "busybox", "securityContext": {}}],
        "initContainers": [{"name": "i", "image": "busybox"}],
    });
    let template = serde_json::json!({"metadata": {"labels": {"app": "x"}}, "spec": pod_spec});
    let meta = serde_json::json!({"name": "sample", "labels": {"app": "x"}, "annotations": {}});
    vec![
        serde_json::json!({}),
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sample"}, "data": {}}),
        serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec}),
        serde_json::json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": {"template": template}}),
        serde_json::json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "j-"}, "spec": {"ttlSecondsAfterFinished": 5, "template": template}}),
        serde_json::json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta, "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}}),
        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {"template": template}}),
        serde_json::json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": meta, "template": template}),
    ]
}

/// Compile one policy and check that its mutation is idempotent: applied to each sample
/// object, and again to the result, it must give the same object both times (a sample on
/// which the mutation fails or is skipped by a `test` is not used).
fn compile(spec: PolicySpec) -> Result<Policy, String> {
    if spec.name.trim().is_empty() {
        return Err("a policy needs a name".into());
    }
    let list = |l: Option<Vec<String>>| l.filter(|v| !v.iter().any(|s| s == "*"));
    let m = spec.matching;
    if m.resources.as_ref().is_none_or(Vec::is_empty) {
        return Err("match.resources is required (use [\"*\"] for every resource)".into());
    }
    let matcher = Matcher {
        verbs: list(Some(m.verbs.unwrap_or_else(|| {
            vec!["create".into(), "update".into(), "patch".into()]
        }))),
        api_groups: list(m.api_groups),
        resources: list(m.resources),
        subresources: list(Some(m.subresources.unwrap_or_else(|| vec![String::new()]))),
        groups: list(m.groups),
    };
    let exclude = match spec.exclude {
        None => None,
        Some(e) => {
            if e.verbs.is_none()
                && e.api_groups.is_none()
                && e.resources.is_none()
                && e.subresources.is_none()
                && e.groups.is_none()
            {
                return Err("exclude needs at least one field".into());
            }
            Some(Matcher {
                verbs: list(e.verbs),
                api_groups: list(e.api_groups),
                resources: list(e.resources),
                subresources: list(e.subresources),
                groups: list(e.groups),
            })
        }
    };
    let mutations = spec
        .mutate
        .iter()
        .enumerate()
        .map(|(i, op)| Mutation::parse(op).map_err(|e| format!("mutate[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let rules = spec
        .deny
        .into_iter()
        .enumerate()
        .map(|(i, r)| Rule::compile(r).map_err(|e| format!("deny[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if mutations.is_empty() && rules.is_empty() {
        return Err("a policy needs mutate or deny".into());
    }
    check_idempotent(&mutations)?;
    Ok(Policy {
        name: spec.name,
        mode: spec.mode,
        matcher,
        exclude,
        mutations,
        rules,
    })
}

/// The load-time idempotency check (see [`compile`]).
fn check_idempotent(mutations: &[Mutation]) -> Result<(), String> {
    if mutations.is_empty() {
        return Ok(());
    }
    let label = crate::identity::username_label(SAMPLE_USER);
    let namespace = crate::identity::namespace_for(SAMPLE_USER);
    let ph = Placeholders {
        username: SAMPLE_USER,
        username_label: &label,
        namespace: &namespace,
        groups: "sample-a,sample-b",
    };
    for sample in samples() {
        let shape = Shape::of_kind(sample.get("kind").and_then(Value::as_str).unwrap_or(""));
        let mut once = sample.clone();
        if !matches!(
            patch::apply(&mut once, shape, mutations, &ph),
            Ok(Outcome::Applied { .. })
        ) {
            continue;
        }
        let mut twice = once.clone();
        let stable = match patch::apply(&mut twice, shape, mutations, &ph) {
            Ok(Outcome::Skipped) => true,
            Ok(Outcome::Applied { .. }) => twice == once,
            Err(_) => false,
        };
        if !stable {
            let kind = sample
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("an empty object");
            return Err(format!(
                "the mutation is not idempotent: applied twice to a sample {kind} it changes the object again (use ifAbsent, or add to a map key instead of appending with /-)"
            ));
        }
    }
    Ok(())
}

/// The value of `--policies-dir` that turns policies off.
pub const POLICIES_OFF: &str = "none";

/// Where the policies come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// The shipped `policies/`, embedded in the binary ([`builtin`]); never reloaded.
    Builtin,
    /// A directory, reloaded when its content changes.
    Dir(PathBuf),
    /// No policies at all (`--policies-dir none`).
    Off,
}

impl PolicySource {
    /// From a `--policies-dir` / `--dir` value: unset → built-in, `none` → off, else a
    /// directory (`./none` names a directory called `none`).
    pub fn from_flag(dir: Option<&Path>) -> Self {
        match dir {
            None => PolicySource::Builtin,
            Some(d) if d.as_os_str() == POLICIES_OFF => PolicySource::Off,
            Some(d) => PolicySource::Dir(d.to_path_buf()),
        }
    }

    /// The set it names, loaded now.
    pub fn load(&self) -> Result<PolicySet, PolicyError> {
        match self {
            PolicySource::Builtin => builtin::set(),
            PolicySource::Dir(d) => PolicySet::load_dir(d),
            PolicySource::Off => Ok(PolicySet::empty()),
        }
    }
}

/// Flags for policies.
#[derive(clap::Args, Debug, Clone)]
pub struct PolicyArgs {
    /// Directory of policy files (`*.yaml`, `*.yml`), reloaded when it changes. Unset: the
    /// built-in set (the project's `policies/`, embedded in the binary). `none`: no policies
    /// at all (logged as a warning at start).
    #[arg(long, env = "KBATCH_POLICIES_DIR", value_name = "DIR|none")]
    pub policies_dir: Option<PathBuf>,
    /// Seconds between checks of the policies directory for changes (0: never reload).
    #[arg(long, env = "KBATCH_POLICY_RELOAD_INTERVAL", default_value_t = 10)]
    pub policy_reload_interval: u64,
}

impl Default for PolicyArgs {
    fn default() -> Self {
        PolicyArgs {
            policies_dir: None,
            policy_reload_interval: 10,
        }
    }
}

impl PolicyArgs {
    /// The reload interval (zero: never reload).
    pub fn reload_interval(&self) -> Duration {
        Duration::from_secs(self.policy_reload_interval)
    }

    /// Where the policies come from.
    pub fn source(&self) -> PolicySource {
        PolicySource::from_flag(self.policies_dir.as_deref())
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_endpoints;
#[cfg(test)]
mod tests_tenancy;
