//! yaml.v2's scalar resolution (`resolve.go` and `decoder.scalar` in gopkg.in/yaml.v2 v2.4.0,
//! YAML 1.1): a plain or tagged scalar becomes null, a bool, an int, a uint, a float or a string.

use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;

use super::gofmt::go_lossy_utf8;

pub(super) const PREFIX: &str = "tag:yaml.org,2002:";
const STR: &str = "tag:yaml.org,2002:str";
const BOOL: &str = "tag:yaml.org,2002:bool";
const INT: &str = "tag:yaml.org,2002:int";
const FLOAT: &str = "tag:yaml.org,2002:float";
const NULL: &str = "tag:yaml.org,2002:null";
const TIMESTAMP: &str = "tag:yaml.org,2002:timestamp";
const BINARY: &str = "tag:yaml.org,2002:binary";
pub(super) const MERGE: &str = "tag:yaml.org,2002:merge";

/// A scalar as yaml.v2 hands it to sigs.k8s.io/yaml (a Go `interface{}` value).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
}

/// Resolve one scalar node: `plain` is the plain style, `tag` the full tag if one was written.
/// The error is yaml.v2's text without the `yaml: ` prefix.
pub(super) fn scalar(value: &str, plain: bool, tag: Option<&str>) -> Result<Scalar, String> {
    let Some(tag) = tag.or(if plain { Some("") } else { None }) else {
        return Ok(Scalar::Str(value.to_string()));
    };
    if tag == BINARY {
        return binary(value);
    }
    if !matches!(tag, "" | STR | BOOL | INT | FLOAT | NULL | TIMESTAMP) {
        // Unknown tags (`!foo`, `!!set`, …) keep the text.
        return Ok(Scalar::Str(value.to_string()));
    }
    let (rtag, out) = resolve(tag, value);
    if tag.is_empty() || tag == rtag || tag == STR {
        return Ok(out);
    }
    match (tag, out) {
        #[allow(clippy::cast_precision_loss)]
        (FLOAT, Scalar::Int(i)) => Ok(Scalar::Float(i as f64)),
        _ => Err(format!(
            "cannot decode {} `{value}` as a {}",
            short(rtag),
            short(tag)
        )),
    }
}

fn short(tag: &str) -> String {
    match tag.strip_prefix(PREFIX) {
        Some(rest) => format!("!!{rest}"),
        None => tag.to_string(),
    }
}

fn binary(value: &str) -> Result<Scalar, String> {
    // Go's StdEncoding: padding required, trailing bits tolerated, CR and LF skipped.
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
            .with_decode_allow_trailing_bits(true),
    );
    let text: String = value
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n'))
        .collect();
    engine
        .decode(text)
        .map(|bytes| Scalar::Str(go_lossy_utf8(&bytes)))
        .map_err(|_| "!!binary value contains invalid base64 data".to_string())
}

/// yaml.v2's `resolve(tag, in)`: the resolved tag and value.
fn resolve(tag: &str, s: &str) -> (&'static str, Scalar) {
    let hint = match s.bytes().next() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => 0,
    };
    if hint != 0 && tag != STR && tag != BINARY {
        if let Some(found) = lookup(s) {
            return found;
        }
        match hint {
            b'.' => {
                if let Some(f) = parse_float(s) {
                    return (FLOAT, Scalar::Float(f));
                }
            }
            b'D' | b'S' => {
                if let Some(found) = number(tag, s) {
                    return found;
                }
            }
            _ => {}
        }
    }
    (STR, Scalar::Str(s.to_string()))
}

/// The fixed spellings of yaml.v2's `resolveMap`.
fn lookup(s: &str) -> Option<(&'static str, Scalar)> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            (BOOL, Scalar::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            (BOOL, Scalar::Bool(false))
        }
        "" | "~" | "null" | "Null" | "NULL" => (NULL, Scalar::Null),
        ".nan" | ".NaN" | ".NAN" => (FLOAT, Scalar::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            (FLOAT, Scalar::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => (FLOAT, Scalar::Float(f64::NEG_INFINITY)),
        "<<" => (MERGE, Scalar::Str("<<".into())),
        _ => return None,
    })
}

/// A scalar starting with a digit or a sign: timestamp, int, uint or float, in yaml.v2's order.
fn number(tag: &str, s: &str) -> Option<(&'static str, Scalar)> {
    if (tag.is_empty() || tag == TIMESTAMP) && is_timestamp(s) {
        // Decoded into interface{}, a timestamp keeps its text.
        return Some((TIMESTAMP, Scalar::Str(s.to_string())));
    }
    let plain = s.replace('_', "");
    if let Some(i) = parse_int(&plain) {
        return Some((INT, Scalar::Int(i)));
    }
    if let Some(u) = parse_uint(&plain) {
        return Some((INT, Scalar::Uint(u)));
    }
    if yaml_style_float(&plain) {
        if let Some(f) = parse_float(&plain) {
            return Some((FLOAT, Scalar::Float(f)));
        }
    }
    let bin = if let Some(rest) = plain.strip_prefix("0b") {
        Some(rest.to_string())
    } else {
        plain.strip_prefix("-0b").map(|rest| format!("-{rest}"))
    };
    let digits = bin?;
    if let Ok(i) = i64::from_str_radix(&digits, 2) {
        return Some((INT, Scalar::Int(i)));
    }
    u64::from_str_radix(&digits, 2)
        .ok()
        .filter(|_| !digits.starts_with('-'))
        .map(|u| (INT, Scalar::Uint(u)))
}

/// Go's `strconv.ParseInt(s, 0, 64)` (sign, then `0x`, `0o`, `0b` or a leading `0` for octal).
fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let mag = parse_magnitude(body)?;
    if neg {
        if mag <= 1u64 << 63 {
            Some(0i64.wrapping_sub_unsigned(mag))
        } else {
            None
        }
    } else {
        i64::try_from(mag).ok()
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)` (no sign).
fn parse_uint(s: &str) -> Option<u64> {
    if s.starts_with(['+', '-']) {
        return None;
    }
    parse_magnitude(s)
}

fn parse_magnitude(s: &str) -> Option<u64> {
    let lower = s.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &s[2..]),
        Some("0o") => (8, &s[2..]),
        Some("0b") => (2, &s[2..]),
        _ if s.len() > 1 && s.starts_with('0') => (8, &s[1..]),
        _ => (10, s),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// yaml.v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms yaml.v2 passes it; out of range is
/// an error there (Rust would give infinity).
fn parse_float(s: &str) -> Option<f64> {
    if s.bytes()
        .any(|c| c.is_ascii_alphabetic() && !matches!(c, b'e' | b'E'))
    {
        return None; // no `inf`, `nan` or hex floats reach here in yaml.v2
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// yaml.v2's `parseTimestamp`: `2006-1-2T15:4:5.999999999Z07:00` (or `t`), `2006-1-2
/// 15:4:5.999999999` and `2006-1-2`, read as Go's `time.Parse` reads those layouts.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let year: u32 = s[..4].parse().unwrap_or(0);
    let Some(month) = num(b, &mut i, 1, 12) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let max_day = days.get(month as usize - 1).copied().unwrap_or(31);
    if num(b, &mut i, 1, max_day).is_none() {
        return false;
    }
    let sep = match b.get(i) {
        None => return true,
        Some(&c @ (b'T' | b't' | b' ')) => c,
        Some(_) => return false,
    };
    i += 1;
    for (max, last) in [(23, false), (59, false), (59, true)] {
        if num(b, &mut i, 0, max).is_none() {
            return false;
        }
        if !last {
            if b.get(i) != Some(&b':') {
                return false;
            }
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'.' | b',')) && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let rest = &b[i..];
    if sep == b' ' {
        return rest.is_empty();
    }
    match rest {
        [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// One or two digits at `b[*i..]` within `min..=max` (Go's non-padded layout fields).
fn num(b: &[u8], i: &mut usize, min: u32, max: u32) -> Option<u32> {
    let mut v = 0u32;
    let start = *i;
    while *i < b.len() && *i - start < 2 && b[*i].is_ascii_digit() {
        v = v * 10 + u32::from(b[*i] - b'0');
        *i += 1;
    }
    (*i > start && (min..=max).contains(&v)).then_some(v)
}
