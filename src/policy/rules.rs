//! Deny rules (pure): a path, one condition and a message. A rule *fires* (the object is
//! refused, warned about or audited, by the policy's mode) when the condition holds at any
//! place the path names; a rule without a path always fires (the match alone decides).
//!
//! | condition | fires when the value … |
//! |---|---|
//! | `present: true` | is present (not missing, not `null`) |
//! | `absent: true` | is missing or `null` |
//! | `equals: V` | equals V (numbers compare by value) |
//! | `oneOf: [..]` | equals one of the list (a forbidden list) |
//! | `notOneOf: [..]` | is present and equals none of the list (an allowed list) |
//! | `matches: RE` | is a present scalar whose text matches the regex |
//! | `notMatches: RE` | is present and not a scalar whose text matches the regex |
//! | `min: N` / `max: N` | is present and below `min` / above `max`, or not a number |

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::kinds::Shape;
use super::path::RulePath;

/// A deny rule as written in a policy file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleSpec {
    /// Where to look; omitted → the rule always fires.
    #[serde(default)]
    pub path: Option<String>,
    /// Fires when present.
    #[serde(default)]
    pub present: Option<bool>,
    /// Fires when absent.
    #[serde(default)]
    pub absent: Option<bool>,
    /// Fires when equal.
    #[serde(default)]
    pub equals: Option<Value>,
    /// Fires when one of these.
    #[serde(default)]
    pub one_of: Option<Vec<Value>>,
    /// Fires when present and none of these.
    #[serde(default)]
    pub not_one_of: Option<Vec<Value>>,
    /// Fires when matching.
    #[serde(default)]
    pub matches: Option<String>,
    /// Fires when present and not matching.
    #[serde(default)]
    pub not_matches: Option<String>,
    /// Fires below.
    #[serde(default)]
    pub min: Option<f64>,
    /// Fires above.
    #[serde(default)]
    pub max: Option<f64>,
    /// What the user is told.
    pub message: String,
}

/// A condition, compiled.
#[derive(Debug, Clone)]
enum Condition {
    Always,
    Present,
    Absent,
    Equals(Value),
    OneOf(Vec<Value>),
    NotOneOf(Vec<Value>),
    Matches(Regex),
    NotMatches(Regex),
    Bounds(Option<f64>, Option<f64>),
}

/// A compiled deny rule.
#[derive(Debug, Clone)]
pub struct Rule {
    path: Option<RulePath>,
    condition: Condition,
    /// The message.
    pub message: String,
}

impl Rule {
    /// Compile `spec`: exactly one condition (min and max together count as one) when there
    /// is a path, none without.
    pub fn compile(spec: RuleSpec) -> Result<Rule, String> {
        let mut conditions = Vec::new();
        match spec.present {
            Some(true) => conditions.push(Condition::Present),
            Some(false) => return Err("present: false is not allowed; use absent: true".into()),
            None => {}
        }
        match spec.absent {
            Some(true) => conditions.push(Condition::Absent),
            Some(false) => return Err("absent: false is not allowed; use present: true".into()),
            None => {}
        }
        if let Some(v) = spec.equals {
            conditions.push(Condition::Equals(v));
        }
        if let Some(v) = spec.one_of {
            conditions.push(Condition::OneOf(v));
        }
        if let Some(v) = spec.not_one_of {
            conditions.push(Condition::NotOneOf(v));
        }
        let regex = |re: &str| Regex::new(re).map_err(|e| format!("invalid regex {re:?}: {e}"));
        if let Some(re) = &spec.matches {
            conditions.push(Condition::Matches(regex(re)?));
        }
        if let Some(re) = &spec.not_matches {
            conditions.push(Condition::NotMatches(regex(re)?));
        }
        if spec.min.is_some() || spec.max.is_some() {
            conditions.push(Condition::Bounds(spec.min, spec.max));
        }
        if spec.message.trim().is_empty() {
            return Err("a deny rule needs a message".into());
        }
        let path = match &spec.path {
            Some(p) => Some(RulePath::parse(p).map_err(|e| format!("path {p:?}: {e}"))?),
            None => None,
        };
        let condition = match (path.is_some(), conditions.len()) {
            (false, 0) => Condition::Always,
            (false, _) => return Err("a condition needs a path".into()),
            (true, 1) => conditions.remove(0),
            (true, 0) => {
                return Err(
                    "a rule with a path needs a condition (present, absent, equals, oneOf, notOneOf, matches, notMatches, min/max)".into(),
                )
            }
            (true, _) => return Err("a rule takes exactly one condition".into()),
        };
        Ok(Rule {
            path,
            condition,
            message: spec.message,
        })
    }

    /// The places in `object` where this rule fires, rendered as `path` or `path: value`;
    /// a rule without a path that fires gives one empty entry.
    pub fn violations(&self, object: &Value, shape: Shape) -> Vec<String> {
        let Some(path) = &self.path else {
            return vec![String::new()];
        };
        path.find(object, shape, &|v| self.condition.holds(v))
            .into_iter()
            .map(|place| match place.value {
                Some(v) => format!("{}: {}", place.path, short(v)),
                None => place.path,
            })
            .collect()
    }
}

impl Condition {
    /// Whether the condition holds for `value` (`None` = absent).
    fn holds(&self, value: Option<&Value>) -> bool {
        match (self, value) {
            (Condition::Always, _) => true,
            (Condition::Present, v) => v.is_some(),
            (Condition::Absent, v) => v.is_none(),
            (_, None) => false,
            (Condition::Equals(want), Some(v)) => loose_eq(want, v),
            (Condition::OneOf(list), Some(v)) => list.iter().any(|w| loose_eq(w, v)),
            (Condition::NotOneOf(list), Some(v)) => !list.iter().any(|w| loose_eq(w, v)),
            (Condition::Matches(re), Some(v)) => scalar_text(v).is_some_and(|t| re.is_match(&t)),
            (Condition::NotMatches(re), Some(v)) => {
                !scalar_text(v).is_some_and(|t| re.is_match(&t))
            }
            (Condition::Bounds(min, max), Some(v)) => match number(v) {
                Some(n) => min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m),
                None => true,
            },
        }
    }
}

/// Equality with numbers compared by value (`1` = `1.0`).
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The text of a scalar (strings as is, numbers and booleans printed).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number, or a string holding one.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// A value for a message, at most 60 characters.
fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= 60 {
        text
    } else {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    }
}
