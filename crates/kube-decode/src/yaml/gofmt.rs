//! How Go prints the numbers and values that reach JSON or an error message during YAML → JSON:
//! `encoding/json`'s float encoding, `strconv.FormatFloat(f, 'g', -1, 32)` for float map keys,
//! and a `%#v`-like rendering for the conversion error texts.

use serde_json::{Number, Value};

/// The JSON number Go's `encoding/json` writes for a finite `f` (shortest round-trip digits;
/// `e` notation below 1e-6 and from 1e21), read back as serde_json reads that text: an integral
/// float such as `1.0` is written `1` and so becomes an integer.
pub(super) fn json_number(f: f64) -> Option<Number> {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        return Number::from_f64(f);
    }
    // Rust's `Display` for f64 gives the same shortest digits without an exponent.
    serde_json::from_str::<Number>(&format!("{f}")).ok()
}

/// `strconv.FormatFloat(f, 'g', -1, 32)` with yaml.v2's names for the specials, which
/// sigs.k8s.io/yaml uses to turn a float mapping key into a JSON object key.
pub(super) fn float_key(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    // Precision 32: the key is printed as the nearest float32.
    #[allow(clippy::cast_possible_truncation)]
    let f = f as f32;
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if f != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// Go's `%+#v` of a decoded YAML value, close enough for the error texts sigs.k8s.io/yaml
/// builds from it (`unsupported map key of type: …, key: …, value: …`).
pub(super) fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_sharp_v).collect();
            format!("[]interface {{}}{{{}}}", inner.join(", "))
        }
        Value::Object(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k:?}:{}", go_sharp_v(v)))
                .collect();
            format!("map[interface {{}}]interface {{}}{{{}}}", inner.join(", "))
        }
    }
}

/// Go's `encoding/json` writes each byte that is not part of valid UTF-8 as U+FFFD (one per
/// byte, where Rust's lossy conversion would write one per maximal invalid sequence).
pub(super) fn go_lossy_utf8(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len());
                out.extend(std::iter::repeat_n('\u{FFFD}', bad));
                bytes = &rest[bad..];
            }
        }
    }
}
