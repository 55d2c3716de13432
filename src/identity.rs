//! Hub user name → Kubernetes names (pure): the user's namespace, bit-exact with kbatch's
//! `namespace_for_username`, and a label value that identifies the user on objects.

use sha2::{Digest, Sha256};

/// Prefix of every user namespace (kbatch ≥ 0.5).
pub const NAMESPACE_PREFIX: &str = "kbatch-";

/// Longest label value Kubernetes accepts.
const LABEL_MAX: usize = 63;

/// How many characters of the sanitized name are kept (kbatch's `[:40]`).
const SAFE_MAX: usize = 40;

/// The namespace of hub user `username`, exactly as kbatch-proxy computes it:
///
/// ```text
/// safe = re.sub(r"[^a-z0-9]+", "-", username.lower())[:40].strip("-")
/// if safe != username: safe = f"{safe}--{sha256(username.encode()).hexdigest()[:7]}"
/// return f"kbatch-{safe}"
/// ```
///
/// `test` → `kbatch-test`; `TEST` → `kbatch-test--94ee059`. A name that is not already
/// safe always gets `--<hash>`, which an untransformed name cannot contain, so the two
/// forms never collide. Python's `lower()` and Rust's `to_lowercase()` agree (full
/// Unicode case mapping, so `K` (Kelvin) becomes `k` and `İ` becomes `i` + U+0307);
/// after the substitution only ASCII is left, so `[:40]` counts bytes. As in kbatch,
/// the empty name maps to `kbatch-` (the hub never has one).
pub fn namespace_for(username: &str) -> String {
    let lowered = username.to_lowercase();
    let replaced = replace_runs(&lowered, |c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let safe = truncate_ascii(&replaced, SAFE_MAX).trim_matches('-');
    if safe == username {
        format!("{NAMESPACE_PREFIX}{safe}")
    } else {
        format!("{NAMESPACE_PREFIX}{safe}--{}", short_hash(username))
    }
}

/// A valid Kubernetes label value (at most 63 characters of `[-_.a-zA-Z0-9]`, starting
/// and ending alphanumeric) that identifies hub user `username`, for job and pod labels.
///
/// A name that already is such a value and contains no `--` is used as is (`alice`,
/// `Bob_2`). Any other name is sanitized: runs of characters outside `[A-Za-z0-9_.]`
/// become one `-`, the first 40 characters are kept, non-alphanumerics are trimmed from
/// both ends, and `--<first 7 hex of sha256(username)>` is appended (`u--<hash>` when
/// nothing is left): `test.user@example.org` → `test.user-example.org--bbb0df7`. Only
/// sanitized values contain `--`, so distinct users get distinct labels unless 28 bits
/// of sha256 collide. Unlike kbatch's `escapism` label this never yields an invalid value
/// (kbatch's `Test.User@example.org` → `-54est-…` is rejected by the API server).
pub fn username_label(username: &str) -> String {
    if is_plain_label(username) {
        return username.to_string();
    }
    let replaced = replace_runs(username, |c| {
        c.is_ascii_alphanumeric() || c == '_' || c == '.'
    });
    let safe =
        truncate_ascii(&replaced, SAFE_MAX).trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let safe = if safe.is_empty() { "u" } else { safe };
    format!("{safe}--{}", short_hash(username))
}

/// Whether `value` is a valid label value without `--` (so it cannot look sanitized).
fn is_plain_label(value: &str) -> bool {
    let valid_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let alnum_ends = value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric());
    value.len() <= LABEL_MAX && valid_chars && alnum_ends && !value.contains("--")
}

/// Replaces every maximal run of characters not satisfying `keep` with one `-`
/// (Python's `re.sub(r"[^…]+", "-", s)`).
fn replace_runs(input: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(input.len());
    let mut in_run = false;
    for c in input.chars() {
        if keep(c) {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out
}

/// The first `max` characters of an ASCII-only string.
fn truncate_ascii(ascii: &str, max: usize) -> &str {
    // Only ASCII is kept by `replace_runs`, so byte and character offsets agree;
    // `get` still refuses to split a character should that ever change.
    ascii.get(..max).unwrap_or(ascii)
}

/// The first 7 hex digits of sha256(`username` as UTF-8).
fn short_hash(username: &str) -> String {
    let digest = Sha256::digest(username.as_bytes());
    let mut hex = hex::encode(digest);
    hex.truncate(7);
    hex
}

#[cfg(test)]
mod tests;
