//! Deny-rule paths (pure): a small dotted syntax with wildcards over arrays and maps and
//! aliases for the pod spec of every kind, parsed once at load time and resolved against an
//! object into the concrete places it names.
//!
//! ```text
//! path    := start step*
//! start   := alias | key | "*" | "[" … "]"
//! alias   := "$podSpec" | "$podMetadata" | "$containers" | "$jobSpec" | "$jobMetadata"
//! step    := "." key | ".*" | "[*]" | "[" digits "]" | "[" quoted "]"
//! key     := [A-Za-z0-9_-]+ ; quoted := '"…"' or "'…'", where "*" matches any run of characters
//! ```
//!
//! `spec.containers[*].securityContext.privileged`, `metadata.labels.*`,
//! `$podMetadata.annotations["container.apparmor.security.beta.kubernetes.io/*"]`,
//! `$containers.ports[*].hostPort`.
//!
//! Resolution yields one [`Place`] per concrete location: a wildcard over a missing or
//! scalar value yields nothing, a named key that is missing yields a place without a value
//! (so `absent` can fire per container).

use serde_json::Value;

use super::kinds::{Shape, CONTAINER_LISTS};

/// The start of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alias {
    /// The object root.
    Root,
    /// The pod spec of any kind that carries one.
    PodSpec,
    /// The pod's metadata (or its template's).
    PodMetadata,
    /// Every container, init container and ephemeral container of the pod spec.
    Containers,
    /// A Job's spec, or a CronJob's job template spec.
    JobSpec,
    /// A Job's metadata, or a CronJob's job template metadata.
    JobMetadata,
}

impl Alias {
    /// The alias named `name` (without the `$`).
    pub fn from_name(name: &str) -> Option<Alias> {
        Some(match name {
            "podSpec" => Alias::PodSpec,
            "podMetadata" => Alias::PodMetadata,
            "containers" => Alias::Containers,
            "jobSpec" => Alias::JobSpec,
            "jobMetadata" => Alias::JobMetadata,
            _ => return None,
        })
    }

    /// The JSON locations this alias stands for in an object of `shape` (key lists from the
    /// root); array positions of `$containers` are expanded by [`Alias::bases`].
    fn prefix(&self, shape: Shape) -> Option<&'static [&'static str]> {
        match self {
            Alias::Root => Some(&[]),
            Alias::PodSpec | Alias::Containers => shape.pod_spec(),
            Alias::PodMetadata => shape.pod_metadata(),
            Alias::JobSpec => shape.job_spec(),
            Alias::JobMetadata => shape.job_metadata(),
        }
    }

    /// Every concrete base location (JSON pointer tokens) of this alias in `object`.
    pub fn bases(&self, object: &Value, shape: Shape) -> Vec<Vec<String>> {
        let Some(prefix) = self.prefix(shape) else {
            return Vec::new();
        };
        let prefix: Vec<String> = prefix.iter().map(|s| (*s).to_string()).collect();
        if *self != Alias::Containers {
            return vec![prefix];
        }
        let spec = prefix.iter().try_fold(object, |v, k| v.get(k.as_str()));
        let mut out = Vec::new();
        for list in CONTAINER_LISTS {
            if let Some(items) = spec.and_then(|s| s.get(list)).and_then(Value::as_array) {
                for i in 0..items.len() {
                    let mut tokens = prefix.clone();
                    tokens.push(list.to_string());
                    tokens.push(i.to_string());
                    out.push(tokens);
                }
            }
        }
        out
    }
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A map key.
    Key(String),
    /// Map keys matching a glob (`*` = any run of characters).
    Glob(String),
    /// Every element of an array or every value of a map.
    Any,
    /// One array element.
    Index(usize),
}

/// A parsed deny-rule path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulePath {
    alias: Alias,
    steps: Vec<Step>,
    text: String,
}

/// One concrete location a path names, with its value when present (JSON `null` counts
/// as absent, as Kubernetes treats it).
#[derive(Debug, Clone)]
pub struct Place<'a> {
    /// The location, e.g. `spec.template.spec.containers[0].securityContext.privileged`.
    pub path: String,
    /// The value there.
    pub value: Option<&'a Value>,
}

impl RulePath {
    /// Parse `text`.
    pub fn parse(text: &str) -> Result<RulePath, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("empty path".into());
        }
        let (alias, mut rest) = match trimmed.strip_prefix('$') {
            Some(after) => {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let alias = Alias::from_name(&after[..end]).ok_or_else(|| {
                    format!(
                        "unknown alias ${} (known: $podSpec, $podMetadata, $containers, $jobSpec, $jobMetadata)",
                        &after[..end]
                    )
                })?;
                (alias, &after[end..])
            }
            None => (Alias::Root, trimmed),
        };
        let mut steps = Vec::new();
        if alias == Alias::Root && !rest.starts_with('[') {
            let (step, after) = parse_dotted(rest)?;
            steps.push(step);
            rest = after;
        }
        steps.extend(parse_steps(rest)?);
        Ok(RulePath {
            alias,
            steps,
            text: trimmed.to_string(),
        })
    }

    /// The path as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every concrete place this path names in `object` (of `shape`).
    pub fn resolve<'a>(&'a self, object: &'a Value, shape: Shape) -> Vec<Place<'a>> {
        self.find(object, shape, &|_| true)
    }

    /// The places this path names in `object` whose value satisfies `hit` (`None` =
    /// absent). A depth-first walk that renders a place's path only for hits.
    pub fn find<'a>(
        &'a self,
        object: &'a Value,
        shape: Shape,
        hit: &dyn Fn(Option<&Value>) -> bool,
    ) -> Vec<Place<'a>> {
        let mut walk = Walk {
            hit,
            absent_hits: hit(None),
            stack: Vec::with_capacity(16),
            out: Vec::new(),
        };
        let Some(prefix) = self.alias.prefix(shape) else {
            return walk.out;
        };
        let mut value = Some(object);
        for key in prefix {
            value = value.and_then(|v| v.get(*key));
            walk.stack.push(Seg::Key(key));
        }
        if self.alias == Alias::Containers {
            for list in CONTAINER_LISTS {
                if let Some(items) = value.and_then(|v| v.get(list)).and_then(Value::as_array) {
                    walk.stack.push(Seg::Key(list));
                    for (i, item) in items.iter().enumerate() {
                        walk.stack.push(Seg::Index(i));
                        walk.visit(Some(item), &self.steps);
                        walk.stack.pop();
                    }
                    walk.stack.pop();
                }
            }
        } else {
            walk.visit(value, &self.steps);
        }
        walk.out
    }
}

/// One segment of a concrete location.
#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// State of one depth-first walk.
struct Walk<'a, 'h> {
    hit: &'h dyn Fn(Option<&Value>) -> bool,
    absent_hits: bool,
    stack: Vec<Seg<'a>>,
    out: Vec<Place<'a>>,
}

impl<'a> Walk<'a, '_> {
    fn visit(&mut self, value: Option<&'a Value>, steps: &'a [Step]) {
        let value = value.filter(|v| !v.is_null());
        if value.is_none() && !self.absent_hits {
            return;
        }
        let Some((step, rest)) = steps.split_first() else {
            if (self.hit)(value) {
                self.out.push(Place {
                    path: render(&self.stack),
                    value,
                });
            }
            return;
        };
        match step {
            Step::Key(key) => {
                let child = value.and_then(Value::as_object).and_then(|m| m.get(key));
                self.stack.push(Seg::Key(key));
                self.visit(child, rest);
                self.stack.pop();
            }
            Step::Index(i) => {
                let child = value.and_then(Value::as_array).and_then(|a| a.get(*i));
                self.stack.push(Seg::Index(*i));
                self.visit(child, rest);
                self.stack.pop();
            }
            Step::Any => match value {
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        self.stack.push(Seg::Index(i));
                        self.visit(Some(item), rest);
                        self.stack.pop();
                    }
                }
                Some(Value::Object(map)) => {
                    for (k, v) in map {
                        self.stack.push(Seg::Key(k));
                        self.visit(Some(v), rest);
                        self.stack.pop();
                    }
                }
                _ => {}
            },
            Step::Glob(pattern) => {
                if let Some(map) = value.and_then(Value::as_object) {
                    for (k, v) in map {
                        if glob_match(pattern, k) {
                            self.stack.push(Seg::Key(k));
                            self.visit(Some(v), rest);
                            self.stack.pop();
                        }
                    }
                }
            }
        }
    }
}

/// A location for messages: `spec.containers[0]["a/b"]`.
fn render(stack: &[Seg]) -> String {
    let mut path = String::new();
    for seg in stack {
        match seg {
            Seg::Key(k) => push_key(&mut path, k),
            Seg::Index(i) => path.push_str(&format!("[{i}]")),
        }
    }
    path
}

/// Append `.key` (or `["key"]` for keys that are not plain identifiers) to a display path.
fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push_str(&format!("[{key:?}]"));
    }
}

/// Parse a key or `*` at the start of `text` (no leading dot); returns the rest.
fn parse_dotted(text: &str) -> Result<(Step, &str), String> {
    let end = text.find(['.', '[']).unwrap_or(text.len());
    let key = &text[..end];
    if key == "*" {
        return Ok((Step::Any, &text[end..]));
    }
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "invalid key {key:?} (quote keys with other characters: [\"a.b/c\"])"
        ));
    }
    Ok((Step::Key(key.to_string()), &text[end..]))
}

/// Parse the steps of `text` (each starting with `.` or `[`).
fn parse_steps(mut text: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    while !text.is_empty() {
        if let Some(after) = text.strip_prefix('.') {
            let (step, rest) = parse_dotted(after)?;
            steps.push(step);
            text = rest;
        } else if let Some(after) = text.strip_prefix('[') {
            let (step, rest) = parse_bracket(after)?;
            steps.push(step);
            text = rest;
        } else {
            return Err(format!("expected '.' or '[' at {text:?}"));
        }
    }
    Ok(steps)
}

/// Parse the inside of `[…]` (after the `[`); returns the rest after the `]`.
fn parse_bracket(text: &str) -> Result<(Step, &str), String> {
    if let Some(rest) = text.strip_prefix("*]") {
        return Ok((Step::Any, rest));
    }
    if let Some(quote) = text.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let body = &text[1..];
        let end = body
            .find(quote)
            .ok_or_else(|| format!("unterminated quote in [{text}"))?;
        let key = &body[..end];
        let rest = body[end + 1..]
            .strip_prefix(']')
            .ok_or_else(|| format!("expected ']' after [{quote}{key}{quote}"))?;
        let step = if key.contains('*') {
            Step::Glob(key.to_string())
        } else {
            Step::Key(key.to_string())
        };
        return Ok((step, rest));
    }
    let end = text
        .find(']')
        .ok_or_else(|| format!("unterminated [ at [{text}"))?;
    let index = text[..end]
        .parse::<usize>()
        .map_err(|_| format!("expected [*], [N] or a quoted key, got [{}]", &text[..end]))?;
    Ok((Step::Index(index), &text[end + 1..]))
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if !pattern.contains('*') {
        return pattern == text;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}
