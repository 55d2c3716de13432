//! Table tests for [`super::namespace_for`] (expected values computed with kbatch's
//! Python code) and [`super::username_label`].

use super::*;

/// Expected values computed with kbatch's Python code (CPython 3.11).
#[test]
fn namespace_matches_kbatch() {
    let cases = [
        // The examples of kbatch's tests/test_proxy.py.
        ("test", "kbatch-test"),
        ("TEST", "kbatch-test--94ee059"),
        ("test-test", "kbatch-test-test"),
        ("test--test", "kbatch-test-test--a5fc82f"),
        (
            "taugspurger@microsoft.com",
            "kbatch-taugspurger-microsoft-com--69c4de7",
        ),
        (
            "test.user@example.org",
            "kbatch-test-user-example-org--bbb0df7",
        ),
        ("user_1", "kbatch-user-1--79b0aa0"),
        ("Ab", "kbatch-ab--025b557"),
        ("1", "kbatch-1"),
        ("a-", "kbatch-a--9baf440"),
        ("-a", "kbatch-a--c274891"),
        ("-", "kbatch---3973e02"),
        ("", "kbatch-"),
    ];
    for (user, want) in cases {
        assert_eq!(namespace_for(user), want, "{user:?}");
    }
}

#[test]
fn namespace_handles_unicode_like_python() {
    let cases = [
        ("Ünïcödé", "kbatch-n-c-d--39af95d"),
        ("jörg", "kbatch-j-rg--12c433a"),
        // Kelvin sign: lower() gives ASCII `k`, which survives.
        ("\u{212a}", "kbatch-k--2bc4fb8"),
        // `İ` lowers to `i` + combining dot above.
        ("İstanbul", "kbatch-i-stanbul--24ec8f7"),
        ("ΑΣ", "kbatch---d39c538"),
        ("straße", "kbatch-stra-e--787f477"),
        ("ǅ", "kbatch---c39c97d"),
        ("日本語", "kbatch---77710ae"),
    ];
    for (user, want) in cases {
        assert_eq!(namespace_for(user), want, "{user:?}");
    }
}

#[test]
fn namespace_truncates_after_substitution_then_strips() {
    let long = "a".repeat(50);
    assert_eq!(
        namespace_for(&long),
        format!("kbatch-{}--160b4e4", "a".repeat(40))
    );
    let dashes = format!("---{}", "b".repeat(45));
    assert_eq!(
        namespace_for(&dashes),
        format!("kbatch-{}--c45d73e", "b".repeat(39))
    );
    let at_cut = format!("{}@y", "x".repeat(39));
    assert_eq!(
        namespace_for(&at_cut),
        format!("kbatch-{}--7849f4c", "x".repeat(39))
    );
    // The longest possible namespace: 7 + 40 + 2 + 7.
    assert_eq!(namespace_for(&"Z".repeat(100)).len(), 56);
}

#[test]
fn label_keeps_plain_names_and_sanitizes_others() {
    let cases = [
        ("alice", "alice".to_string()),
        ("Bob_2.x", "Bob_2.x".to_string()),
        (
            "test.user@example.org",
            "test.user-example.org--bbb0df7".to_string(),
        ),
        (
            "Test.User@example.org",
            "Test.User-example.org--5ad1014".to_string(),
        ),
        ("a--b", "a-b--90827a2".to_string()),
        ("_x", "x--a01e47c".to_string()),
        ("x.", "x--c92f00b".to_string()),
        ("日本語", "u--77710ae".to_string()),
        ("@@@", "u--2ec847d".to_string()),
        ("", "u--e3b0c44".to_string()),
        (&"a".repeat(70), format!("{}--6bd5e50", "a".repeat(40))),
    ];
    for (user, want) in cases {
        let label = username_label(user);
        assert_eq!(label, want, "{user:?}");
        assert!(is_valid_label(&label), "{label:?}");
    }
}

#[test]
fn label_is_always_valid() {
    let users = [
        "-".repeat(80),
        "ä".repeat(80),
        format!("{}.", "x".repeat(63)),
        "x".repeat(63),
        "x".repeat(64),
        ".-_".into(),
    ];
    for user in &users {
        assert!(is_valid_label(&username_label(user)), "{user:?}");
    }
    assert_eq!(username_label(&"x".repeat(63)), "x".repeat(63));
}

/// Kubernetes' label value rule, written independently of the code under test.
fn is_valid_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    let inner_ok = bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b));
    let ends_ok = match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric(),
        _ => true,
    };
    value.len() <= 63 && inner_ok && ends_ok
}
