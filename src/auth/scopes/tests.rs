//! Table tests for [`super::has_access`]: every expectation was produced by JupyterHub
//! 5.2's own `check_scopes` (see the `.venv`).

use super::*;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const KBATCH: &str = "access:services!service=kbatch";

#[test]
fn matches_jupyterhub_check_scopes() {
    let cases: &[(&[&str], &[&str], bool)] = &[
        (&["access:services"], &[KBATCH], true),
        (&[KBATCH], &[KBATCH], true),
        (&["access:services!service=other"], &[KBATCH], false),
        (&[], &[KBATCH], false),
        (&["access:servers"], &[KBATCH], false),
        (&[KBATCH], &["access:services"], false),
        (&["read:users"], &[KBATCH, "read:users"], true),
        (
            &["access:servers!user=alice"],
            &["access:servers!server=alice/x"],
            true,
        ),
        (
            &["access:servers!user=bob"],
            &["access:servers!server=alice/x"],
            false,
        ),
        (
            &["access:servers!server=alice/x"],
            &["access:servers!user=alice"],
            false,
        ),
        (&["read:users!group=g"], &["read:users!user=alice"], false),
        (&["access:services!service=kbatch!x"], &[KBATCH], false),
        (&["access:services!"], &[KBATCH], true),
        (&[KBATCH, "access:services!service=other"], &[KBATCH], true),
        (&["access:services!user=kbatch"], &[KBATCH], false),
        (&[KBATCH], &[KBATCH, "access:services!service=b"], true),
        (
            &["access:services!service=b"],
            &[KBATCH, "access:services!service=b"],
            true,
        ),
        (&[KBATCH], &["access:services!service=kbatch!x"], false),
        (&["ACCESS:services"], &[KBATCH], false),
        // JupyterHub cannot parse this one; here it grants nothing.
        (&["access:services!service="], &[KBATCH], false),
    ];
    for (have, required, want) in cases {
        assert_eq!(
            has_access(&strings(have), &strings(required)),
            *want,
            "have {have:?}, required {required:?}"
        );
    }
}

#[test]
fn validate_rejects_empty_filter_values() {
    assert_eq!(validate(&strings(&[KBATCH, "access:services"])), Ok(()));
    assert_eq!(
        validate(&strings(&[KBATCH, "access:services!service="])),
        Err("access:services!service=".to_string())
    );
    assert_eq!(
        validate(&strings(&["access:services!service"])),
        Err("access:services!service".to_string())
    );
}

#[test]
fn forbidden_message_is_kbatchs() {
    let message = forbidden_message(
        &strings(&["read:users:name!user=bob", "it's"]),
        &strings(&[KBATCH]),
    );
    assert_eq!(
        message,
        "Not allowing request with scopes: ['read:users:name!user=bob', \"it's\"]. \
         Needs scope(s): {'access:services!service=kbatch'}"
    );
}
