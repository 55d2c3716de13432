//! RFC 7386 JSON merge patch with the semantics of `github.com/evanphx/json-patch` v4.12
//! `MergePatch`: `null` deletes a key, nulls inside newly set values are pruned (also inside
//! objects nested in arrays), and lists are replaced wholesale.

use serde_json::{Map, Value};

/// Remove null members of objects, recursively (array elements are kept, their objects pruned).
fn prune_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(prune_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

fn merge_value(cur: Value, patch: Value) -> Value {
    match (cur, patch) {
        (Value::Object(mut c), Value::Object(p)) => {
            merge_docs(&mut c, p);
            Value::Object(c)
        }
        // Go returns a non-object patch as is when the current value is an object…
        (Value::Object(_), p) => p,
        // …and prunes it when the current value is not an object.
        (_, mut p) => {
            prune_nulls(&mut p);
            p
        }
    }
}

/// Merge `patch` into `doc` (both JSON objects).
pub(crate) fn merge_docs(doc: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (k, v) in patch {
        if v.is_null() {
            doc.shift_remove(&k);
            continue;
        }
        match doc.get_mut(&k) {
            Some(cur) if !cur.is_null() => *cur = merge_value(cur.take(), v),
            _ => {
                let mut v = v;
                prune_nulls(&mut v);
                doc.insert(k, v);
            }
        }
    }
}
