//! YAML → JSON exactly as kube-apiserver converts a YAML request body (`sigs.k8s.io/yaml`
//! `YAMLToJSON` over yaml.v2, YAML 1.1 scalar rules), and a strict mode for the proxy that
//! refuses every construct two YAML readers could read differently.
//!
//! **Layout**: `tree` builds the first document's node tree from yaml-rust2 events (nesting
//! guard, strict refusals); `resolve` is yaml.v2's scalar resolution; `convert` expands
//! aliases, applies merges and turns keys and numbers into JSON as Go does; `gofmt` is Go's
//! number printing.

mod convert;
mod gofmt;
mod resolve;
#[cfg(test)]
mod tests;
mod tree;

use serde_json::Value;

/// Deepest nesting of sequences and mappings accepted (after alias expansion). Real objects
/// nest a few dozen levels; the bound keeps the recursive reader well inside a 2 MiB stack.
pub const MAX_DEPTH: usize = 256;

/// Most nodes produced through alias expansion (on top of yaml.v2's alias-ratio rule).
pub const MAX_ALIAS_NODES: usize = 1_000_000;

/// How to read the YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As kube-apiserver reads it: the first document only; anchors, aliases, `<<` merges and
    /// tags honoured; duplicate keys: the last wins; an empty body is JSON `null`.
    Kube,
    /// For the proxy: one document of plain data only. Anchors, aliases, merges, tags,
    /// duplicate keys (also keys equal only once printed as JSON strings), non-scalar keys and
    /// a second document are refused; an empty or null document is an error. What is accepted
    /// reads exactly as in [`Mode::Kube`].
    Strict,
}

/// Why a body could not be read; the message is kube-apiserver's where it has one
/// (`yaml: line 2: mapping values are not allowed in this context`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// The error text.
    pub message: String,
}

impl YamlError {
    fn new(message: impl Into<String>) -> Self {
        YamlError {
            message: message.into(),
        }
    }
}

/// Convert a YAML request body to the JSON value kube-apiserver would decode from it.
pub fn to_json(body: &[u8], mode: Mode) -> Result<Value, YamlError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let src = std::str::from_utf8(body)
        .map_err(|_| YamlError::new("yaml: invalid leading UTF-8 octet"))?;
    let strict = mode == Mode::Strict;
    let doc = tree::parse(src, strict)?;
    let value = match doc.root {
        None => Value::Null,
        Some(root) => convert::Converter::new(&doc, strict).value(root)?,
    };
    if strict && value.is_null() {
        return Err(YamlError::new("the request body is empty"));
    }
    Ok(value)
}
