//! Query strings (pure): parsed once, percent-decoded, order kept, ambiguity refused; rendered
//! back unchanged unless the proxy edited it. Field selectors are checked with kube's grammar
//! before the proxy ANDs a term to them.

use std::fmt;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Longest query string accepted (exec commands travel in the query; real ones are far shorter).
pub const MAX_QUERY: usize = 64 * 1024;

/// Parameters kube-apiserver decodes as a single value (it silently takes the first of several).
/// A second copy can only make the proxy and the API server disagree, so it is refused.
/// Repeatable ones (`dryRun`, `command`, `ports`) are not listed.
pub const SINGLE_VALUED: &[&str] = &[
    // ListOptions / GetOptions
    "labelSelector",
    "fieldSelector",
    "watch",
    "allowWatchBookmarks",
    "resourceVersion",
    "resourceVersionMatch",
    "timeoutSeconds",
    "limit",
    "continue",
    "sendInitialEvents",
    // DeleteOptions
    "gracePeriodSeconds",
    "orphanDependents",
    "propagationPolicy",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    // Create/Update/PatchOptions
    "fieldManager",
    "fieldValidation",
    "force",
    // PodLogOptions
    "container",
    "follow",
    "previous",
    "sinceSeconds",
    "sinceTime",
    "timestamps",
    "tailLines",
    "limitBytes",
    "insecureSkipTLSVerifyBackend",
    "stream",
    // PodExecOptions / PodAttachOptions
    "stdin",
    "stdout",
    "stderr",
    "tty",
    // generic
    "pretty",
    "timeout",
];

/// Why a query string was refused (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Over [`MAX_QUERY`].
    #[error("the query string is too long")]
    TooLong,
    /// `;` separators: Go drops such pairs, so the proxy and the API server would disagree.
    #[error("the query string contains ';', which the Kubernetes API server does not accept as a separator")]
    Semicolon,
    /// A `%` not followed by two hex digits.
    #[error("the query string contains an invalid percent-encoding: {0:?}")]
    BadEscape(String),
    /// A decoded key or value that is not UTF-8.
    #[error("the query string does not decode to UTF-8")]
    NotUtf8,
    /// A single-valued parameter given more than once.
    #[error(
        "query parameter {0:?} is given more than once; kbatch-proxy refuses ambiguous requests"
    )]
    Duplicate(String),
}

/// A parsed query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    raw: Option<String>,
    pairs: Vec<(String, String)>,
    edited: bool,
}

/// What Go's `url.QueryEscape` leaves alone: ASCII letters, digits and `-_.~`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn decode(part: &str) -> Result<String, QueryError> {
    let b = part.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'%'
            && !(i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit())
        {
            return Err(QueryError::BadEscape(part.to_string()));
        }
    }
    let plus = part.replace('+', " ");
    percent_decode_str(&plus)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| QueryError::NotUtf8)
}

impl Query {
    /// Parse the raw query (without `?`) as kube-apiserver would (`url.ParseQuery`), refusing
    /// what Go would drop or take only the first of.
    pub fn parse(raw: Option<&str>) -> Result<Query, QueryError> {
        let Some(raw) = raw else {
            return Ok(Query::default());
        };
        if raw.len() > MAX_QUERY {
            return Err(QueryError::TooLong);
        }
        if raw.contains(';') {
            return Err(QueryError::Semicolon);
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for piece in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            let (k, v) = (decode(k)?, decode(v)?);
            if SINGLE_VALUED.contains(&k.as_str()) && pairs.iter().any(|(pk, _)| *pk == k) {
                return Err(QueryError::Duplicate(k));
            }
            pairs.push((k, v));
        }
        Ok(Query {
            raw: Some(raw.to_string()),
            pairs,
            edited: false,
        })
    }

    /// The first value of `key`, decoded.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The decoded pairs, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Set `key` to `value`: the first occurrence is replaced in place, else it is appended.
    pub fn set(&mut self, key: &str, value: &str) {
        self.edited = true;
        match self.pairs.iter_mut().find(|(k, _)| k == key) {
            Some(pair) => pair.1 = value.to_string(),
            None => self.pairs.push((key.to_string(), value.to_string())),
        }
    }

    /// No parameters at all.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// `watch` as kube-apiserver reads it: present and not `0` or (any case) `false`; an empty
    /// value counts as true.
    pub fn watch(&self) -> bool {
        self.get("watch")
            .is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
    }

    /// The query to forward: `None` when there is nothing to send.
    pub fn to_forward(&self) -> Option<String> {
        let s = self.to_string();
        (!s.is_empty()).then_some(s)
    }
}

/// The raw string as received when the proxy did not edit it (never re-encoded), else the pairs
/// encoded like Go's `url.QueryEscape` (spaces as `%20`).
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.edited {
            return f.write_str(self.raw.as_deref().unwrap_or(""));
        }
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            write!(
                f,
                "{}={}",
                utf8_percent_encode(k, QUERY_VALUE),
                utf8_percent_encode(v, QUERY_VALUE)
            )?;
        }
        Ok(())
    }
}

/// Check a field selector with kube's grammar (`fields.ParseSelector`): `,`-separated terms
/// `field(=|==|!=)value`, values escaping `\`, `,` and `=` with a backslash. A selector that
/// passes cannot swallow a term appended after a `,` (no dangling backslash).
pub fn check_field_selector(selector: &str) -> Result<(), String> {
    for term in split_terms(selector) {
        if term.is_empty() {
            continue;
        }
        let Some((_, rhs)) = split_term(term) else {
            return Err(format!(
                "invalid selector: '{selector}'; can't understand '{term}'"
            ));
        };
        let mut escaped = false;
        for c in rhs.chars() {
            if escaped {
                if !matches!(c, '\\' | ',' | '=') {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{c}"
                    ));
                }
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == ',' || c == '=' {
                return Err(format!(
                    "invalid field selector: unescaped {c:?} in a value"
                ));
            }
        }
        if escaped {
            return Err("invalid field selector: invalid escape sequence: \\".to_string());
        }
    }
    Ok(())
}

/// `selector` AND `term`: `a=b` + `metadata.name=x` → `a=b,metadata.name=x`. The user's selector
/// is checked first, so the result means exactly "both".
pub fn and_field_selector(selector: Option<&str>, term: &str) -> Result<String, String> {
    match selector {
        None => Ok(term.to_string()),
        Some(s) if s.trim().is_empty() => Ok(term.to_string()),
        Some(s) => {
            check_field_selector(s)?;
            if split_terms(s).any(|t| t.trim() == term) {
                Ok(s.to_string())
            } else {
                Ok(format!("{s},{term}"))
            }
        }
    }
}

/// Field-selector fields that name a namespace: `metadata.namespace` (every kind) and the
/// involved object's of an Event (`involvedObject.namespace` in core/v1, `regarding.namespace`
/// in events.k8s.io/v1).
pub const NAMESPACE_FIELDS: &[&str] = &[
    "metadata.namespace",
    "involvedObject.namespace",
    "regarding.namespace",
];

/// `selector` with every [`NAMESPACE_FIELDS`] term whose value is `from` made to name `to`
/// instead (`involvedObject.namespace=default` → `involvedObject.namespace=kbatch-alice`);
/// `Ok(None)` when no term names `from`. The selector is checked first (kube's grammar).
pub fn rename_field_selector_namespace(
    selector: &str,
    from: &str,
    to: &str,
) -> Result<Option<String>, String> {
    check_field_selector(selector)?;
    let mut changed = false;
    let terms: Vec<String> = split_terms(selector)
        .map(|term| match split_term(term) {
            Some((field, rhs)) if NAMESPACE_FIELDS.contains(&field) && rhs == from => {
                changed = true;
                let op = &term[field.len()..term.len() - rhs.len()];
                format!("{field}{op}{to}")
            }
            _ => term.to_string(),
        })
        .collect();
    Ok(changed.then(|| terms.join(",")))
}

fn split_terms(s: &str) -> impl Iterator<Item = &str> {
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    if !s.is_empty() {
        terms.push(&s[start..]);
    }
    terms.into_iter()
}

fn split_term(term: &str) -> Option<(&str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in ["!=", "==", "="] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], rhs));
            }
        }
    }
    None
}
