//! Strategic merge patch, a port of `k8s.io/apimachinery/pkg/util/strategicpatch` as the
//! apiserver runs it (`StrategicMergeMapPatch`: parallel lists merged, unmatched nulls ignored).
//!
//! Lists tagged `patchStrategy:"merge"` merge element-wise by their merge key (primitives by
//! value); new elements are placed by kube's order-preserving merge, which puts a patch element
//! that is not in the live list before the live elements that follow it (so a lone new element
//! lands first). Directives: `$patch: replace|delete|merge` in maps and list elements,
//! `$retainKeys`, `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`.

use serde_json::{Map, Value};

use super::gojson::{go_s, go_type, go_v};
use super::schema::{Schema, Strategy};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_PREFIX: &str = "$deleteFromPrimitiveList";
const ORDER_PREFIX: &str = "$setElementOrder";
const MAP_TYPE: &str = "map[string]interface {}";
const SLICE_TYPE: &str = "[]interface {}";
static NULL: Value = Value::Null;

/// A strategic-merge failure, classified the way kube-apiserver maps it to a status code.
#[derive(Debug, PartialEq)]
pub(crate) enum SmpError {
    /// 400 with this message (malformed directive lists).
    BadRequest(&'static str),
    /// 422 with kube's generic message (lists of lists).
    Unprocessable,
    /// 500 without a reason, message as Go's error string.
    Internal(String),
    /// Go would have panicked inside the library.
    Panic,
}

type R<T> = Result<T, SmpError>;
type List = Vec<Value>;

fn internal<T>(msg: impl Into<String>) -> R<T> {
    Err(SmpError::Internal(msg.into()))
}

fn no_merge_key(m: &Map<String, Value>, key: &str) -> SmpError {
    let shown = go_v(&Value::Object(m.clone()));
    SmpError::Internal(format!(
        "map: {shown} does not contain declared merge key: {key}"
    ))
}

fn bad_arg_type(expected: &str, actual: &Value) -> SmpError {
    SmpError::Internal(format!(
        "expected a {expected}, but received a {}",
        go_type(actual)
    ))
}

fn bad_patch_type(t: &Value, m: &Map<String, Value>) -> SmpError {
    let shown = go_v(&Value::Object(m.clone()));
    SmpError::Internal(format!("unknown patch type: {} in map: {shown}", go_s(t)))
}

/// Go's dynamic element type, as `reflect.TypeOf` distinguishes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Nil,
    Bool,
    Int,
    Float,
    Str,
    Map,
    Slice,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Nil,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_i64() => Kind::Int,
        Value::Number(_) => Kind::Float,
        Value::String(_) => Kind::Str,
        Value::Array(_) => Kind::Slice,
        Value::Object(_) => Kind::Map,
    }
}

/// `sliceElementType`: the one element type of all given lists.
fn slice_element_type(slices: &[&[Value]]) -> R<Kind> {
    let mut prev = None;
    for v in slices.iter().flat_map(|s| s.iter()) {
        let k = kind(v);
        match prev {
            None if k == Kind::Nil => return Err(SmpError::Panic),
            None if k == Kind::Slice => return Err(SmpError::Unprocessable),
            None => prev = Some(k),
            Some(p) if p != k => {
                let all = Value::Array(slices.iter().map(|s| Value::Array(s.to_vec())).collect());
                return internal(format!(
                    "list element types are not identical: {}",
                    go_v(&all)
                ));
            }
            Some(_) => {}
        }
    }
    prev.map_or_else(|| internal("no elements in any of the given slices"), Ok)
}

fn extract_key(s: &str, prefix: &str) -> R<String> {
    match s.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest.to_string()),
        _ if prefix == DELETE_PREFIX => Err(SmpError::BadRequest(
            "invalid patch format of primitive list",
        )),
        _ => Err(SmpError::BadRequest(
            "invalid patch format of setElementOrder list",
        )),
    }
}

/// Drop every map carrying `$patch` (and the key or element holding it).
fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) if m.contains_key(DIRECTIVE) => None,
        Value::Object(m) => Some(Value::Object(
            m.into_iter()
                .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                .collect(),
        )),
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

fn discard_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

fn directive_in_map(directive: &Value, mut patch: Map<String, Value>) -> R<Map<String, Value>> {
    match directive.as_str() {
        Some("replace") => {
            patch.shift_remove(DIRECTIVE);
            Ok(patch)
        }
        Some("delete") => Ok(Map::new()),
        _ => Err(bad_patch_type(directive, &patch)),
    }
}

fn apply_retain_keys(original: &mut Map<String, Value>, patch: &mut Map<String, Value>) -> R<()> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let bad = SmpError::BadRequest("invalid patch format of retainKeys");
    let Value::Array(list) = retain else {
        return Err(bad);
    };
    let listed = |k: &str| list.iter().any(|v| v.as_str() == Some(k));
    let unlisted = patch.iter().any(|(k, v)| {
        !(v.is_null() || k.starts_with(DELETE_PREFIX) || k.starts_with(ORDER_PREFIX) || listed(k))
    });
    if unlisted {
        return Err(bad);
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// Merge `patch` into `original` (both JSON objects) following `schema`.
pub(crate) fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema,
) -> R<Map<String, Value>> {
    if let Some(d) = patch.get(DIRECTIVE).cloned() {
        return directive_in_map(&d, patch);
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_ordered_lists(&mut original, &mut patch, schema)?;
    for (k, pv) in patch {
        let (key, delete_list) = if k.starts_with(DELETE_PREFIX) {
            (extract_key(&k, DELETE_PREFIX)?, true)
        } else {
            (k, false)
        };
        merge_field(&mut original, key, pv, schema, delete_list)?;
    }
    Ok(original)
}

/// Replace `original[key]` by a patch value that is not merged into it.
fn set_patch_value(original: &mut Map<String, Value>, key: String, mut pv: Value) {
    discard_nulls(&mut pv);
    match remove_directives(pv) {
        Some(v) => {
            original.insert(key, v);
        }
        None => {
            original.shift_remove(&key);
        }
    }
}

fn merge_field(
    original: &mut Map<String, Value>,
    key: String,
    pv: Value,
    schema: Schema,
    delete_list: bool,
) -> R<()> {
    if pv.is_null() {
        original.shift_remove(&key);
        return Ok(());
    }
    let Some(ov) = original.get_mut(&key) else {
        if !delete_list {
            set_patch_value(original, key, pv);
        }
        return Ok(());
    };
    let (sub, strategy) = schema.field(&key);
    let merged = match (ov, pv) {
        (Value::Object(o), Value::Object(p)) => {
            Value::Object(merge_map(std::mem::take(o), p, sub)?)
        }
        (Value::Array(o), Value::Array(p)) => Value::Array(merge_slice_handler(
            std::mem::take(o),
            p,
            sub,
            strategy,
            delete_list,
        )?),
        (ov, pv) if kind(ov) != kind(&pv) => {
            if !delete_list {
                set_patch_value(original, key, pv);
            }
            return Ok(());
        }
        (_, pv) => pv,
    };
    original.insert(key, merged);
    Ok(())
}

fn merge_slice_handler(
    original: List,
    patch: List,
    schema: Schema,
    strategy: Strategy,
    delete_list: bool,
) -> R<List> {
    match strategy {
        Strategy::Merge(key) => merge_slice(original, patch, schema, key, delete_list, "string"),
        Strategy::None if delete_list => merge_slice(original, patch, schema, "", true, "struct"),
        Strategy::None => Ok(patch),
    }
}

/// `deduplicateScalars`, keeping Go's swap-with-last order.
fn dedup_scalars(mut s: List) -> List {
    let mut i = 0;
    while i + 1 < s.len() {
        let mut j = i + 1;
        while j < s.len() {
            if s[i] == s[j] {
                let last = s.len() - 1;
                s.swap(j, last);
                s.truncate(last);
            } else {
                j += 1;
            }
        }
        i += 1;
    }
    s
}

fn merge_slice(
    original: List,
    patch: List,
    schema: Schema,
    key: &str,
    delete_list: bool,
    elem_name: &str,
) -> R<List> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let t = slice_element_type(&[&original, &patch])?;
    let (original, patch, merged) = if t != Kind::Map {
        if delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        let both: List = original.iter().chain(patch.iter()).cloned().collect();
        (original, patch, dedup_scalars(both))
    } else {
        if key.is_empty() {
            return internal(format!(
                "cannot merge lists without merge key for {elem_name}"
            ));
        }
        let (original, patch) = split_special_elements(original, patch, key)?;
        let merged = merge_elements(original.clone(), &patch, key, schema)?;
        (original, patch, merged)
    };
    let (items, server_only) = partition(&merged, &patch, key)?;
    normalize_element_order(items, server_only, &patch, &original, key, t)
}

/// `mergeSliceWithSpecialElements`: apply `$patch` elements; returns (original, plain patch).
fn split_special_elements(mut original: List, patch: List, key: &str) -> R<(List, List)> {
    let mut plain = Vec::new();
    let mut replace = false;
    for v in patch {
        let Some(m) = v.as_object() else {
            plain.push(v);
            continue;
        };
        match m.get(DIRECTIVE) {
            None => plain.push(v),
            Some(d) => match d.as_str() {
                Some("delete") => {
                    let value = m.get(key).ok_or_else(|| no_merge_key(m, key))?;
                    while let Some(i) = find_map(&original, key, value)? {
                        original.remove(i);
                    }
                }
                Some("replace") => replace = true,
                Some("merge") => {
                    return internal("merging lists cannot yet be specified in the patch")
                }
                _ => return Err(bad_patch_type(d, m)),
            },
        }
    }
    Ok(if replace {
        (plain, Vec::new())
    } else {
        (original, plain)
    })
}

/// `findMapInSliceBasedOnKeyValue`: index of the first map whose `key` equals `value`.
fn find_map(list: &[Value], key: &str, value: &Value) -> R<Option<usize>> {
    for (i, v) in list.iter().enumerate() {
        let Some(m) = v.as_object() else {
            return internal(format!("value for key {i} is not a map"));
        };
        if m.get(key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// `mergeSliceWithoutSpecialElements`: merge matching elements, append the others.
fn merge_elements(mut original: List, patch: &[Value], key: &str, schema: Schema) -> R<List> {
    for v in patch {
        let Some(m) = v.as_object() else { continue };
        let value = m.get(key).ok_or_else(|| no_merge_key(m, key))?;
        match find_map(&original, key, value)? {
            Some(i) => {
                let o = match std::mem::take(&mut original[i]) {
                    Value::Object(o) => o,
                    _ => Map::new(),
                };
                original[i] = Value::Object(merge_map(o, m.clone(), schema)?);
            }
            None => original.push(v.clone()),
        }
    }
    Ok(original)
}

/// Split `merged` into (items present in `by`, server-only items).
fn partition(merged: &[Value], by: &[Value], key: &str) -> R<(List, List)> {
    // Go keys a map by primitive values: maps and lists are unhashable there.
    let unhashable = |x: &Value| x.is_object() || x.is_array();
    if key.is_empty() && (by.iter().any(unhashable) || merged.iter().any(unhashable)) {
        return Err(SmpError::Panic);
    }
    let mut present = Vec::new();
    let mut server_only = Vec::new();
    for v in merged {
        let found = if key.is_empty() {
            by.contains(v)
        } else {
            let m = v.as_object().ok_or_else(|| bad_arg_type(MAP_TYPE, v))?;
            let value = m.get(key).ok_or_else(|| no_merge_key(m, key))?;
            find_map(by, key, value)?.is_some()
        };
        if found {
            present.push(v.clone());
        } else {
            server_only.push(v.clone());
        }
    }
    Ok((present, server_only))
}

/// Go's `index`: position of `val` in `list`, by merge key for maps.
fn index(list: &[Value], val: &Value, key: &str, t: Kind) -> Option<usize> {
    let probe = |item: &'_ Value| -> Value {
        if t == Kind::Map {
            item.as_object()
                .and_then(|m| m.get(key))
                .unwrap_or(&NULL)
                .clone()
        } else {
            item.clone()
        }
    };
    let want = probe(val);
    list.iter().position(|v| probe(v) == want)
}

fn validate_merge_keys(key: &str, lists: &[&[Value]]) -> R<()> {
    for v in lists.iter().flat_map(|l| l.iter()) {
        let m = v.as_object().ok_or_else(|| bad_arg_type(MAP_TYPE, v))?;
        if !m.contains_key(key) {
            return Err(no_merge_key(m, key));
        }
    }
    Ok(())
}

/// `extractToDeleteItems`: (elements kept, elements carrying `$patch: delete`).
fn extract_to_delete(list: List) -> R<(List, List)> {
    let mut keep = Vec::new();
    let mut delete = Vec::new();
    for v in list {
        let m = v.as_object().ok_or_else(|| bad_arg_type(MAP_TYPE, &v))?;
        if m.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
            delete.push(v);
        } else {
            keep.push(v);
        }
    }
    Ok((keep, delete))
}

/// `normalizeSliceOrder`: stable-sort `to_sort` by position in `order` (Go's insertion sort).
fn normalize_slice_order(to_sort: List, order: &[Value], key: &str, t: Kind) -> R<List> {
    let (to_sort, to_delete) = if t == Kind::Map {
        validate_merge_keys(key, &[&to_sort, order])?;
        extract_to_delete(to_sort)?
    } else {
        (to_sort, Vec::new())
    };
    let mut keyed: Vec<(Option<usize>, Value)> = to_sort
        .into_iter()
        .map(|v| (index(order, &v, key, t), v))
        .collect();
    if keyed.iter().all(|(pos, _)| pos.is_some()) {
        // A consistent order: any stable sort gives Go's result.
        keyed.sort_by_key(|(pos, _)| *pos);
    } else {
        // Go's comparator says "less" whenever a position is unknown; replay its insertion sort.
        let less = |a: Option<usize>, b: Option<usize>| match (a, b) {
            (Some(i), Some(j)) => i < j,
            _ => true,
        };
        for i in 1..keyed.len() {
            let mut j = i;
            while j > 0 && less(keyed[j].0, keyed[j - 1].0) {
                keyed.swap(j, j - 1);
                j -= 1;
            }
        }
    }
    let mut to_sort: List = keyed.into_iter().map(|(_, v)| v).collect();
    to_sort.extend(to_delete);
    Ok(to_sort)
}

/// `mergeSortedSlice`: interleave server-only items into the patch items by live order.
fn merge_sorted(left: List, right: List, server_order: &[Value], key: &str, t: Kind) -> List {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => matches!(
                (index(server_order, l, key, t), index(server_order, r, key, t)),
                (Some(i), Some(j)) if i < j
            ),
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

fn normalize_element_order(
    patch_items: List,
    server_only: List,
    patch_order: &[Value],
    server_order: &[Value],
    key: &str,
    t: Kind,
) -> R<List> {
    let patch_items = normalize_slice_order(patch_items, patch_order, key, t)?;
    let server_only = normalize_slice_order(server_only, server_order, key, t)?;
    Ok(merge_sorted(server_only, patch_items, server_order, key, t))
}

fn merge_key_equal(left: &Value, right: &Value, key: &str) -> R<bool> {
    if key.is_empty() {
        return Ok(left == right);
    }
    let l = left
        .as_object()
        .ok_or_else(|| bad_arg_type(MAP_TYPE, left))?;
    let r = right
        .as_object()
        .ok_or_else(|| bad_arg_type(MAP_TYPE, right))?;
    let lv = l.get(key).ok_or_else(|| no_merge_key(l, key))?;
    let rv = r.get(key).ok_or_else(|| no_merge_key(r, key))?;
    Ok(lv == rv)
}

/// `validatePatchWithSetOrderList`: patch items must appear in `$setElementOrder`'s order.
fn validate_order(patch: &[Value], order: &[Value], key: &str) -> R<()> {
    if order.is_empty() || patch.is_empty() {
        return Ok(());
    }
    let items = if key.is_empty() {
        patch.to_vec()
    } else {
        extract_to_delete(patch.to_vec())?.0
    };
    let (mut pi, mut si) = (0, 0);
    while pi < items.len() && si < order.len() {
        if items[pi]
            .as_object()
            .is_some_and(|m| m.contains_key(DIRECTIVE))
        {
            pi += 1;
            continue;
        }
        if merge_key_equal(&items[pi], &order[si], key)? {
            pi += 1;
        }
        si += 1;
    }
    if pi < items.len() && si >= order.len() {
        let (p, o) = (
            go_v(&Value::Array(patch.to_vec())),
            go_v(&Value::Array(order.to_vec())),
        );
        return internal(format!(
            "The order in patch list:\n{p}\n doesn't match {ORDER_PREFIX} list:\n{o}\n"
        ));
    }
    Ok(())
}

fn as_list(v: &Value) -> R<List> {
    v.as_array()
        .cloned()
        .ok_or_else(|| bad_arg_type(SLICE_TYPE, v))
}

/// `mergePatchIntoOriginal`: merge each list that has a `$setElementOrder/<field>` and order it.
fn merge_ordered_lists(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Schema,
) -> R<()> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(ORDER_PREFIX))
        .cloned()
        .collect();
    for key in keys {
        let Some(order) = patch.shift_remove(&key) else {
            continue;
        };
        let order = as_list(&order)?;
        let field = extract_key(&key, ORDER_PREFIX)?;
        let live = original.get(&field).map(as_list).transpose()?;
        let patched = patch.get(&field).map(as_list).transpose()?;
        let (sub, strategy) = schema.field(&field);
        let merge_key = match strategy {
            Strategy::Merge(k) => k,
            Strategy::None => "",
        };
        validate_order(patched.as_deref().unwrap_or_default(), &order, merge_key)?;
        let merged = match (live.clone(), patched.clone()) {
            (Some(l), None) => l,
            (None, Some(p)) => match remove_directives(Value::Array(p)) {
                Some(Value::Array(v)) => v,
                _ => continue,
            },
            (Some(l), Some(p)) => merge_slice_handler(l, p, sub, strategy, false)?,
            (None, None) => continue,
        };
        let (items, server_only) = partition(&merged, &order, merge_key)?;
        let (live, patched) = (live.unwrap_or_default(), patched.unwrap_or_default());
        let t = slice_element_type(&[&live, &patched])?;
        let both = normalize_element_order(items, server_only, &order, &live, merge_key, t)?;
        original.insert(field.clone(), Value::Array(both));
        patch.shift_remove(&field);
    }
    Ok(())
}
