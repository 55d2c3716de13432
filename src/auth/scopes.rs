//! JupyterHub scope checks (pure): [`has_access`] mirrors `jupyterhub.services.auth.
//! check_scopes` (JupyterHub 5, `scopes._intersect_expanded_scopes` without a database),
//! so a token passes here exactly when it passes kbatch's check.

use std::collections::{BTreeMap, BTreeSet};

/// Filters of one base scope: everything, or named entities per filter key
/// (`access:services!service=kbatch` → `{"service": {"kbatch"}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Filters {
    All,
    Only(BTreeMap<String, BTreeSet<String>>),
}

type Parsed = BTreeMap<String, Filters>;

/// Whether `user_scopes` (the hub's `scopes` of the token) grant ANY of `required`.
///
/// Like JupyterHub: an unfiltered scope grants every filtered form of it
/// (`access:services` grants `access:services!service=kbatch`); a filtered scope grants
/// only the same filter (`…!service=other` does not, and `access:services!service=kbatch`
/// does not grant `access:services`); `…!user=alice` grants `…!server=alice/<any>`; group
/// filters are not resolved (no database), so `…!group=g` never grants `…!user=u`.
/// Scope names are case-sensitive. A malformed filter (`base!key=` with no value, which
/// JupyterHub refuses to parse) in `user_scopes` grants nothing.
pub fn has_access(user_scopes: &[String], required: &[String]) -> bool {
    let granted = intersect(&parse(required), &parse(user_scopes));
    required.iter().any(|scope| granted.contains(scope))
}

/// Checks that every scope parses the way JupyterHub accepts (`base`, or
/// `base!key=value` with a non-empty value); returns the first offender.
pub fn validate(scopes: &[String]) -> Result<(), String> {
    match scopes.iter().find(|scope| split_scope(scope).is_none()) {
        Some(bad) => Err(bad.clone()),
        None => Ok(()),
    }
}

/// `base`, and the `(key, value)` filter if any; `None` for an empty filter value.
/// `base!` counts as unfiltered, as in JupyterHub's `partition('!')`.
fn split_scope(scope: &str) -> Option<(&str, Option<(&str, &str)>)> {
    let (base, filter) = scope.split_once('!').unwrap_or((scope, ""));
    if filter.is_empty() {
        return Some((base, None));
    }
    let (key, value) = filter.split_once('=').unwrap_or((filter, ""));
    (!value.is_empty()).then_some((base, Some((key, value))))
}

/// `scopes.parse_scopes`: an unfiltered scope absorbs every filter of its base.
fn parse(scopes: &[String]) -> Parsed {
    let mut parsed = Parsed::new();
    for (base, filter) in scopes.iter().filter_map(|scope| split_scope(scope)) {
        let Some((key, value)) = filter else {
            parsed.insert(base.to_string(), Filters::All);
            continue;
        };
        let entry = parsed
            .entry(base.to_string())
            .or_insert_with(|| Filters::Only(BTreeMap::new()));
        if let Filters::Only(filters) = entry {
            filters
                .entry(key.to_string())
                .or_default()
                .insert(value.to_string());
        }
    }
    parsed
}

/// `scopes._intersect_expanded_scopes(a, b)` with `db=None`, unparsed to scope strings.
fn intersect(a: &Parsed, b: &Parsed) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (base, filters_a) in a {
        let Some(filters_b) = b.get(base) else {
            continue;
        };
        let common = match (filters_a, filters_b) {
            (Filters::All, other) | (other, Filters::All) => other.clone(),
            (Filters::Only(fa), Filters::Only(fb)) => Filters::Only(intersect_filters(fa, fb)),
        };
        unparse(base, &common, &mut out);
    }
    out
}

/// Entity-wise intersection plus JupyterHub's user → server hierarchy, both ways.
fn intersect_filters(
    fa: &BTreeMap<String, BTreeSet<String>>,
    fb: &BTreeMap<String, BTreeSet<String>>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut common: BTreeMap<String, BTreeSet<String>> = fa
        .iter()
        .filter_map(|(key, names)| {
            let other = fb.get(key)?;
            Some((key.clone(), names.intersection(other).cloned().collect()))
        })
        .collect();
    let initial = common.get("server").cloned().unwrap_or_default();
    let mut servers = initial.clone();
    for (x, y) in [(fa, fb), (fb, fa)] {
        let (Some(x_servers), Some(y_users)) = (x.get("server"), y.get("user")) else {
            continue;
        };
        if y.get("server") == Some(x_servers) {
            continue;
        }
        let owned: Vec<String> = x_servers
            .difference(&servers)
            .filter(|server| {
                let owner = server.split_once('/').map_or(server.as_str(), |(u, _)| u);
                y_users.contains(owner)
            })
            .cloned()
            .collect();
        servers.extend(owned);
    }
    if !servers.is_empty() && servers != initial {
        common.insert("server".to_string(), servers);
    }
    common
}

/// `scopes.unparse_scopes` for one base.
fn unparse(base: &str, filters: &Filters, out: &mut BTreeSet<String>) {
    match filters {
        Filters::All => {
            out.insert(base.to_string());
        }
        Filters::Only(filters) => {
            for (key, names) in filters {
                out.extend(names.iter().map(|name| format!("{base}!{key}={name}")));
            }
        }
    }
}

/// Python's `repr()` of a string (what kbatch's 403 message shows): single-quoted unless
/// the string holds a `'` and no `"`.
pub(crate) fn py_repr(value: &str) -> String {
    let quote = if value.contains('\'') && !value.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(value.len() + 2);
    out.push(quote);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// kbatch's 403 detail: `Not allowing request with scopes: ['…']. Needs scope(s): {'…'}`
/// (a Python list, then a Python set).
pub fn forbidden_message(user_scopes: &[String], required: &[String]) -> String {
    let list = |items: &[String]| {
        items
            .iter()
            .map(|s| py_repr(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "Not allowing request with scopes: [{}]. Needs scope(s): {{{}}}",
        list(user_scopes),
        list(required)
    )
}

#[cfg(test)]
mod tests;
