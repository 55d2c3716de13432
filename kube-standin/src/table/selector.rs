//! Label selectors and label maps rendered as kube's `labels.Selector.String()` and
//! `labels.FormatLabels` render them in table cells.

use serde_json::Value;

/// `metav1.LabelSelectorAsSelector(sel).String()`: `Ok("")` for an absent or empty selector,
/// `Err(())` for one kube would reject (unknown operator, wrong value count).
pub(super) fn selector_string(sel: Option<&Value>) -> Result<String, ()> {
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return Ok(String::new());
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in labels {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for expr in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = expr.get("key").and_then(Value::as_str).unwrap_or("");
        reqs.push((key.to_string(), requirement(key, expr)?));
    }
    // selector.Add sorts requirements by key.
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    let parts: Vec<String> = reqs.into_iter().map(|(_, s)| s).collect();
    Ok(parts.join(","))
}

/// One `matchExpressions` entry as `key in (a,b)`, `key notin (a)`, `key`, `!key`.
fn requirement(key: &str, expr: &Value) -> Result<String, ()> {
    let mut values: Vec<&str> = expr
        .get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    values.sort_unstable();
    let op = expr.get("operator").and_then(Value::as_str).unwrap_or("");
    match op {
        "In" | "NotIn" if values.is_empty() => Err(()),
        "In" => Ok(format!("{key} in ({})", values.join(","))),
        "NotIn" => Ok(format!("{key} notin ({})", values.join(","))),
        "Exists" | "DoesNotExist" if !values.is_empty() => Err(()),
        "Exists" => Ok(key.to_string()),
        "DoesNotExist" => Ok(format!("!{key}")),
        _ => Err(()),
    }
}

/// `metav1.FormatLabelSelector`: `"<none>"` when empty, `"<error>"` when invalid.
pub(super) fn format_label_selector(sel: Option<&Value>) -> String {
    match selector_string(sel) {
        Ok(s) if s.is_empty() => "<none>".to_string(),
        Ok(s) => s,
        Err(()) => "<error>".to_string(),
    }
}

/// `labels.FormatLabels`: `k=v` pairs sorted by key, `"<none>"` when empty.
pub(super) fn format_labels(labels: Option<&Value>) -> String {
    let mut pairs: Vec<String> = labels
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        "<none>".to_string()
    } else {
        pairs.join(",")
    }
}
