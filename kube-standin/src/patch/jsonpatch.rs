//! RFC 6902 JSON patch with the exact semantics of `github.com/evanphx/json-patch` v4.12 as
//! kube-apiserver 1.28 uses it: negative array indices count from the end, `replace` of a
//! missing object key adds it, `copy` from a missing key copies `null`, a missing `value` is
//! `null`, and `test` of a missing path against `null` succeeds.

use serde_json::{Map, Value};

/// Why an operation failed; kube-apiserver hides the detail behind one 422 message.
#[derive(Debug)]
pub(crate) enum OpError {
    /// The operation does not apply (missing path, bad index, test failed, unknown op…).
    Failed(String),
    /// Go would have panicked (nil dereference inside the library).
    Panic,
}

type OpResult<T> = Result<T, OpError>;

fn failed<T>(msg: impl Into<String>) -> OpResult<T> {
    Err(OpError::Failed(msg.into()))
}

/// RFC 6901 unescaping exactly like Go's `strings.NewReplacer("~1", "/", "~0", "~")`.
fn decode_key(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    let mut rest = k;
    while let Some(i) = rest.find('~') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(r) = after.strip_prefix("~1") {
            out.push('/');
            rest = r;
        } else if let Some(r) = after.strip_prefix("~0") {
            out.push('~');
            rest = r;
        } else {
            out.push('~');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Go's `strconv.Atoi` on an array index.
fn atoi(key: &str) -> OpResult<i64> {
    key.parse::<i64>()
        .or_else(|_| failed(format!("strconv.Atoi: parsing {key:?}: invalid syntax")))
}

/// Resolve a possibly negative index against `len`; `Err` when out of range.
fn resolve(idx: i64, len: usize) -> OpResult<usize> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let idx = if idx < 0 { idx + len } else { idx };
    if idx < 0 || idx >= len {
        return failed(format!("Unable to access invalid index: {idx}"));
    }
    usize::try_from(idx).or_else(|_| failed("invalid index"))
}

/// `container.get`: `Ok(None)` for a missing object key or a JSON null (Go's nil node).
fn get(con: &Value, key: &str) -> OpResult<Option<Value>> {
    let v = match con {
        Value::Object(m) => m.get(key),
        Value::Array(a) => Some(&a[resolve(atoi(key)?, a.len())?]),
        _ => return failed("not a container"),
    };
    Ok(v.filter(|v| !v.is_null()).cloned())
}

fn add(con: &mut Value, key: &str, val: Value) -> OpResult<()> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_string(), val);
        }
        Value::Array(a) if key == "-" => a.push(val),
        Value::Array(a) => {
            // An index equal to the length appends; negative ones count from the new end.
            let pos = resolve(atoi(key)?, a.len() + 1)?;
            a.insert(pos, val);
        }
        _ => return failed("not a container"),
    }
    Ok(())
}

fn set(con: &mut Value, key: &str, val: Value) -> OpResult<()> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_string(), val);
        }
        Value::Array(a) => {
            let pos = resolve(atoi(key)?, a.len())?;
            a[pos] = val;
        }
        _ => return failed("not a container"),
    }
    Ok(())
}

fn remove(con: &mut Value, key: &str) -> OpResult<Value> {
    match con {
        Value::Object(m) => match m.shift_remove(key) {
            Some(v) => Ok(v),
            None => failed(format!("Unable to remove nonexistent key: {key}")),
        },
        Value::Array(a) => {
            let pos = resolve(atoi(key)?, a.len())?;
            Ok(a.remove(pos))
        }
        _ => failed("not a container"),
    }
}

/// Go's `findObject`: the container holding the last path segment, and that segment.
fn find_object<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let split: Vec<&str> = path.split('/').collect();
    let (last, parts) = split.split_last()?;
    let parts = parts.get(1..)?;
    let mut cur = doc;
    for part in parts {
        let key = decode_key(part);
        cur = match cur {
            Value::Object(m) => m.get_mut(&key)?,
            Value::Array(a) => {
                let pos = resolve(atoi(&key).ok()?, a.len()).ok()?;
                &mut a[pos]
            }
            _ => return None,
        };
        if !(cur.is_object() || cur.is_array()) {
            return None;
        }
    }
    Some((cur, decode_key(last)))
}

/// A string member of an operation (`op`, `path`, `from`); `None` when absent or null.
fn member<'a>(op: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    op.get(name).and_then(Value::as_str)
}

fn path_of(op: &Map<String, Value>) -> OpResult<&str> {
    member(op, "path").map_or_else(|| failed("operation missing path field"), Ok)
}

fn value_of(op: &Map<String, Value>) -> Value {
    op.get("value").cloned().unwrap_or(Value::Null)
}

fn parent<'a>(doc: &'a mut Value, path: &str) -> OpResult<(&'a mut Value, String)> {
    find_object(doc, path).map_or_else(|| failed(format!("doc is missing path: {path:?}")), Ok)
}

fn op_add(doc: &mut Value, op: &Map<String, Value>) -> OpResult<()> {
    let (con, key) = parent(doc, path_of(op)?)?;
    add(con, &key, value_of(op))
}

fn op_remove(doc: &mut Value, op: &Map<String, Value>) -> OpResult<()> {
    let (con, key) = parent(doc, path_of(op)?)?;
    remove(con, &key).map(drop)
}

fn op_replace(doc: &mut Value, op: &Map<String, Value>) -> OpResult<()> {
    let path = path_of(op)?;
    if path.is_empty() {
        let v = value_of(op);
        if !(v.is_object() || v.is_array()) {
            return failed("replace operation value must be object or array");
        }
        *doc = v;
        return Ok(());
    }
    let (con, key) = parent(doc, path)?;
    get(con, &key)?;
    set(con, &key, value_of(op))
}

fn op_move(doc: &mut Value, op: &Map<String, Value>) -> OpResult<()> {
    let from = member(op, "from").map_or_else(|| failed("missing from field"), Ok)?;
    let (con, key) = parent(doc, from)?;
    let val = get(con, &key)?;
    remove(con, &key)?;
    let (con, key) = parent(doc, path_of(op)?)?;
    add(con, &key, val.unwrap_or(Value::Null))
}

fn op_copy(doc: &mut Value, op: &Map<String, Value>) -> OpResult<()> {
    let from = member(op, "from").map_or_else(|| failed("missing from field"), Ok)?;
    let (con, key) = parent(doc, from)?;
    let val = get(con, &key)?;
    let (con, key) = parent(doc, path_of(op)?)?;
    add(con, &key, val.unwrap_or(Value::Null))
}

fn op_test(doc: &mut Value, op: &Map<String, Value>) -> OpResult<()> {
    let path = path_of(op)?;
    let expected = op.get("value");
    let actual = if path.is_empty() {
        Some(doc.clone())
    } else {
        let (con, key) = parent(doc, path)?;
        get(con, &key)?
    };
    match (actual, expected) {
        // Go dereferences the missing `value` node here.
        (None, None) => Err(OpError::Panic),
        (Some(_), None) if path.is_empty() => Err(OpError::Panic),
        (None, Some(Value::Null)) => Ok(()),
        (Some(a), Some(e)) if &a == e => Ok(()),
        _ => failed(format!("testing value {path} failed")),
    }
}

/// Apply a decoded JSON patch (an array of operations, `null` elements allowed) to `doc`.
pub(crate) fn apply(doc: &mut Value, ops: &[Value]) -> OpResult<()> {
    let empty = Map::new();
    for op in ops {
        let op = op.as_object().unwrap_or(&empty);
        match member(op, "op").unwrap_or("unknown") {
            "add" => op_add(doc, op)?,
            "remove" => op_remove(doc, op)?,
            "replace" => op_replace(doc, op)?,
            "move" => op_move(doc, op)?,
            "test" => op_test(doc, op)?,
            "copy" => op_copy(doc, op)?,
            other => return failed(format!("Unexpected kind: {other}")),
        }
    }
    Ok(())
}
