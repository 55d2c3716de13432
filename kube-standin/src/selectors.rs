//! Label and field selectors (`labelSelector=` / `fieldSelector=` on list, watch and
//! deletecollection), parsed, validated and matched as kube-apiserver does
//! (`k8s.io/apimachinery/pkg/labels/selector.go`, `pkg/fields/selector.go`, the per-kind
//! field label conversion functions and `GetAttrs`). Every parse error is a 400 `BadRequest`
//! whose message is kube's, byte for byte.

use serde_json::{Map, Value};

use crate::resources::ResourceDef;
use crate::status::ApiError;

#[cfg(test)]
mod tests;

/// A label selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Equals,
    DoubleEquals,
    NotEquals,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// One requirement of a label selector (`key op values`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

impl Requirement {
    fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let value = labels
            .and_then(|l| l.get(&self.key))
            .map(|v| v.as_str().unwrap_or_default());
        let has = |v: &str| self.values.iter().any(|x| x == v);
        match self.op {
            Op::In | Op::Equals | Op::DoubleEquals => value.is_some_and(has),
            Op::NotIn | Op::NotEquals => !value.is_some_and(has),
            Op::Exists => value.is_some(),
            Op::DoesNotExist => value.is_none(),
            Op::GreaterThan | Op::LessThan => self.compare_int(value),
        }
    }

    fn compare_int(&self, value: Option<&str>) -> bool {
        let (Some(v), Some(r)) = (value, self.values.first()) else {
            return false;
        };
        match (v.parse::<i64>(), r.parse::<i64>()) {
            (Ok(v), Ok(r)) => {
                (self.op == Op::GreaterThan && v > r) || (self.op == Op::LessThan && v < r)
            }
            _ => false,
        }
    }
}

/// A parsed label selector: the AND of its requirements (empty = everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses `s` as `labels.Parse` does; a bad selector is 400 BadRequest with kube's message
    /// (e.g. `unable to parse requirement: found '=', expected: identifier`).
    // ApiError by value is the crate-wide error contract
    #[allow(clippy::result_large_err)]
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut parser = label::Parser::new(s);
        let mut requirements = parser.parse().map_err(ApiError::bad_request)?;
        // kube sorts by key (stable) for a deterministic selector
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }

    /// Whether an object with these `metadata.labels` is selected (`None` = no labels).
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

mod label;
mod validation;

pub(crate) use validation::go_quote;

/// One term of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldTerm {
    field: String,
    value: String,
    negated: bool,
}

/// A parsed field selector, already checked against the fields `res` supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
    kind: &'static str,
    group: &'static str,
    namespaced: bool,
}

impl FieldSelector {
    /// Parses `s` as `fields.ParseSelector` does and converts every field label as the
    /// resource's `AddFieldLabelConversionFunc` (or `DefaultMetaV1FieldSelectorConversion`)
    /// would; any failure is 400 BadRequest with kube's message.
    // ApiError by value is the crate-wide error contract
    #[allow(clippy::result_large_err)]
    pub fn parse(res: &ResourceDef, s: &str) -> Result<Self, ApiError> {
        let mut parts = split_terms(s);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts.iter().filter(|p| !p.is_empty()) {
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let value = unescape_value(rhs).map_err(ApiError::bad_request)?;
            terms.push(FieldTerm {
                field: lhs.to_string(),
                value,
                negated: op == "!=",
            });
        }
        for term in &mut terms {
            term.field = convert_field_label(res, &term.field).map_err(ApiError::bad_request)?;
        }
        Ok(FieldSelector {
            terms,
            kind: res.kind,
            group: res.group,
            namespaced: res.namespaced,
        })
    }

    /// Whether `object` is selected (fields an object lacks compare as `""`).
    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|t| {
            let actual = selectable_field(self.group, self.kind, self.namespaced, object, &t.field);
            (actual.as_deref().unwrap_or("") == t.value) != t.negated
        })
    }

    /// The value required for `field` by an `=` term, if any (lets the store narrow a list by
    /// name/namespace).
    pub fn required(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| !t.negated && t.field == field)
            .map(|t| t.value.as_str())
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// Splits on unescaped commas, keeping escapes in the terms (`fields.splitTerms`).
fn split_terms(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut in_slash = false;
    for c in s.chars() {
        match c {
            _ if in_slash => {
                in_slash = false;
                current.push(c);
            }
            '\\' => {
                in_slash = true;
                current.push(c);
            }
            ',' => terms.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    terms.push(current);
    terms
}

/// Splits a term at the first operator (`!=`, `==`, `=`, checked in that order at each index).
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], op, value));
            }
        }
    }
    None
}

/// `fields.UnescapeValue`: `\\`, `\,`, `\=` are escapes; a bare `,` or `=` is an error.
fn unescape_value(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                ));
            }
            out.push(c);
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            // Go prints the rune with %v, i.e. its code point number
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                ))
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

/// The field labels a kind's conversion function accepts, `None` when kube registers none
/// for it (then only `metadata.name`/`metadata.namespace` with the default message).
fn conversion_labels(group: &str, kind: &str) -> Option<&'static [&'static str]> {
    Some(match (group, kind) {
        ("", "Pod") => &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
            "spec.host",
        ],
        ("", "Node") => &["metadata.name", "spec.unschedulable"],
        ("", "ReplicationController") => {
            &["metadata.name", "metadata.namespace", "status.replicas"]
        }
        ("", "Event") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
            "metadata.namespace",
            "metadata.name",
        ],
        ("", "Namespace") => &["status.phase", "metadata.name"],
        ("", "Secret") => &["type", "metadata.namespace", "metadata.name"],
        ("", "Service") => &[
            "metadata.namespace",
            "metadata.name",
            "spec.clusterIP",
            "spec.type",
        ],
        ("batch", "Job") => &["metadata.name", "metadata.namespace", "status.successful"],
        _ => return None,
    })
}

/// `scheme.ConvertFieldLabel` for the resource's kind: the label to match on, or kube's error.
fn convert_field_label(res: &ResourceDef, label: &str) -> Result<String, String> {
    match conversion_labels(res.group, res.kind) {
        Some(labels) if labels.contains(&label) => Ok(if label == "spec.host" {
            "spec.nodeName".to_string()
        } else {
            label.to_string()
        }),
        Some(_) if res.group == "batch" && res.kind == "Job" => Err(format!(
            "field label {} not supported for batchv1.Job",
            validation::go_quote(label)
        )),
        Some(_) => Err(format!("field label not supported: {label}")),
        None if label == "metadata.name" || label == "metadata.namespace" => Ok(label.to_string()),
        None => Err(format!(
            "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            validation::go_quote(label)
        )),
    }
}

fn str_at<'a>(object: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(object, |v, k| v.get(k))
        .and_then(Value::as_str)
}

/// The value of a selectable field as the kind's `GetAttrs` reports it (`None` = not in the
/// field set, which matches as `""`).
fn selectable_field(
    group: &str,
    kind: &str,
    namespaced: bool,
    object: &Value,
    field: &str,
) -> Option<String> {
    let s = |path: &[&str]| Some(str_at(object, path).unwrap_or_default().to_string());
    match field {
        "metadata.name" => return s(&["metadata", "name"]),
        "metadata.namespace" if namespaced => return s(&["metadata", "namespace"]),
        _ => {}
    }
    match (group, kind, field) {
        ("", "Pod", "spec.hostNetwork") => Some(
            object
                .pointer("/spec/hostNetwork")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                .to_string(),
        ),
        ("", "Pod", "status.podIP") => Some(
            object
                .pointer("/status/podIPs/0/ip")
                .or_else(|| object.pointer("/status/podIP"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
        ("", "Pod", f) if f.starts_with("spec.") || f.starts_with("status.") => {
            let path: Vec<&str> = f.split('.').collect();
            s(&path)
        }
        ("", "Event", "reportingComponent") => s(&["reportingComponent"]),
        ("", "Event", "source") => {
            let component = str_at(object, &["source", "component"]).unwrap_or_default();
            if component.is_empty() {
                s(&["reportingComponent"])
            } else {
                Some(component.to_string())
            }
        }
        ("", "Event", f) => {
            let path: Vec<&str> = f.split('.').collect();
            s(&path)
        }
        ("", "Namespace", "status.phase") => s(&["status", "phase"]),
        ("", "Secret", "type") => s(&["type"]),
        ("", "Service", "spec.clusterIP") => s(&["spec", "clusterIP"]),
        ("", "Service", "spec.type") => s(&["spec", "type"]),
        ("", "Node", "spec.unschedulable") => Some(
            object
                .pointer("/spec/unschedulable")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                .to_string(),
        ),
        ("batch", "Job", "status.successful") => Some(
            object
                .pointer("/status/succeeded")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .to_string(),
        ),
        ("", "ReplicationController", "status.replicas") => Some(
            object
                .pointer("/status/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                .to_string(),
        ),
        _ => None,
    }
}
