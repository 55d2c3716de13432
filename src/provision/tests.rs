//! Tables for the namespace, manifest and RoleBinding objects and for ownership checks.

use super::*;
use ownership::{ownership, reconcile_patch, refusal, Ownership};

fn cfg() -> ProvisionConfig {
    ProvisionConfig {
        enabled: true,
        labels: [(
            "app.kubernetes.io/managed-by".to_string(),
            "kbatch".to_string(),
        )]
        .into_iter()
        .collect(),
        psa_level: Some("baseline".into()),
        manifests: Vec::new(),
        bind: None,
        cache_ttl: Duration::from_secs(60),
        adopt: false,
    }
}

fn user(name: &str) -> User {
    User {
        name: name.into(),
        groups: vec![],
        namespace: crate::identity::namespace_for(name),
    }
}

#[test]
fn namespace_object_has_labels_annotation_and_psa() {
    let ns = namespace_object(&cfg(), &user("Test.User@example.org"));
    assert_eq!(
        ns["metadata"]["name"],
        json!(crate::identity::namespace_for("Test.User@example.org"))
    );
    let labels = &ns["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "kbatch");
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "baseline");
    assert_eq!(labels["pod-security.kubernetes.io/warn"], "baseline");
    assert_eq!(
        labels[USERNAME_KEY],
        json!(username_label("Test.User@example.org"))
    );
    assert_eq!(
        ns["metadata"]["annotations"][USERNAME_KEY],
        "Test.User@example.org"
    );
    let none = ProvisionConfig {
        psa_level: None,
        ..cfg()
    };
    let ns = namespace_object(&none, &user("a"));
    assert!(ns["metadata"]["labels"]
        .get("pod-security.kubernetes.io/enforce")
        .is_none());
}

#[test]
fn manifests_parse_and_get_namespace_and_labels() {
    let text = "---\napiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: q\n  labels: {a: b}\nspec:\n  hard: {pods: \"5\"}\n---\n---\napiVersion: v1\nkind: LimitRange\nmetadata: {name: l}\n---\n";
    let ms = parse_manifests_str(text).expect("valid");
    assert_eq!(ms.len(), 2);
    let m = manifest_for(&cfg(), &ms[0], "kbatch-a");
    assert_eq!(m["metadata"]["namespace"], "kbatch-a");
    assert_eq!(m["metadata"]["labels"]["a"], "b");
    assert_eq!(
        m["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kbatch"
    );
    assert!(parse_manifests_str("kind: X\nmetadata: {name: a}\n").is_err());
    assert!(parse_manifests_str("a: [").is_err());
}

#[test]
fn role_binding_and_prefixes() {
    let rb = role_binding(&cfg(), "edit", "jupyterhub:alice", "kbatch-alice");
    assert_eq!(rb["roleRef"]["name"], "edit");
    assert_eq!(rb["subjects"][0]["kind"], "User");
    assert_eq!(rb["subjects"][0]["name"], "jupyterhub:alice");
    assert_eq!(rb["metadata"]["namespace"], "kbatch-alice");
    assert_eq!(api_prefix("v1"), "/api/v1");
    assert_eq!(
        api_prefix("networking.k8s.io/v1"),
        "/apis/networking.k8s.io/v1"
    );
}

fn live(annotations: Value, labels: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "kbatch-alice",
            "resourceVersion": "42",
            "labels": labels,
            "annotations": annotations,
        },
    })
}

#[test]
fn only_the_exact_username_annotation_makes_a_namespace_mine() {
    let mine = live(json!({USERNAME_KEY: "alice"}), json!({}));
    assert_eq!(ownership(&mine, "alice"), Ownership::Mine);
    // Names that map onto the same namespace, or a label-escaped spelling, are someone else.
    for other in ["Alice", "alice ", "bob", ""] {
        let ns = live(json!({USERNAME_KEY: other}), json!({}));
        assert_eq!(
            ownership(&ns, "alice"),
            Ownership::Other(other.to_string()),
            "{other:?}"
        );
    }
    let not_a_string = live(json!({USERNAME_KEY: 7}), json!({}));
    assert_eq!(
        ownership(&not_a_string, "alice"),
        Ownership::Other("7".into())
    );
    // The label alone claims nothing: the Python proxy set kbatch labels but no annotation.
    let labelled = live(json!({"other": "x"}), json!({USERNAME_KEY: "alice"}));
    assert_eq!(ownership(&labelled, "alice"), Ownership::Unclaimed);
    let bare = json!({"metadata": {"name": "kbatch-alice"}});
    assert_eq!(ownership(&bare, "alice"), Ownership::Unclaimed);
}

#[test]
fn reconcile_patch_restores_psa_and_kbatch_metadata_only() {
    let alice = user("alice");
    let want = namespace_object(&cfg(), &alice);
    let good = live(
        json!({USERNAME_KEY: "alice", "note": "kept"}),
        want["metadata"]["labels"].clone(),
    );
    assert_eq!(
        reconcile_patch(&cfg(), &alice, &good),
        None,
        "nothing to do"
    );
    let mut labels = want["metadata"]["labels"].clone();
    labels["pod-security.kubernetes.io/enforce"] = json!("privileged");
    labels["team"] = json!("x");
    labels
        .as_object_mut()
        .expect("labels object")
        .remove("app.kubernetes.io/managed-by");
    let drifted = live(json!({"note": "kept"}), labels);
    let patch = reconcile_patch(&cfg(), &alice, &drifted).expect("a patch");
    assert_eq!(
        patch,
        json!({"metadata": {
            "resourceVersion": "42",
            "labels": {
                "app.kubernetes.io/managed-by": "kbatch",
                "pod-security.kubernetes.io/enforce": "baseline",
            },
            "annotations": {USERNAME_KEY: "alice"},
        }})
    );
    // PSA level `none`: the operator's PSA labels are left as they are.
    let none = ProvisionConfig {
        psa_level: None,
        ..cfg()
    };
    let mut labels = namespace_object(&none, &alice)["metadata"]["labels"].clone();
    labels["pod-security.kubernetes.io/enforce"] = json!("privileged");
    let operator = live(json!({USERNAME_KEY: "alice"}), labels);
    assert_eq!(reconcile_patch(&none, &alice, &operator), None);
}

#[test]
fn refusals_say_what_the_operator_can_do_without_naming_the_owner() {
    let other = Ownership::Other("mallory".into());
    let m = refusal("kbatch-proxy", "proxy", &other, false);
    assert!(
        m.contains("namespace \"kbatch-proxy\" already exists and is not the namespace of hub user \"proxy\""),
        "{m}"
    );
    assert!(m.contains("annotation names another user"), "{m}");
    assert!(
        m.contains(
            "kubectl annotate --overwrite namespace kbatch-proxy kbatch.jupyter.org/username=proxy"
        ),
        "{m}"
    );
    assert!(!m.contains("mallory"), "{m}");
    assert!(!m.contains("adopt"), "adoption does not help here: {m}");
    let m = refusal("kbatch-old", "old", &Ownership::Unclaimed, false);
    assert!(
        m.contains("has no kbatch.jupyter.org/username annotation"),
        "{m}"
    );
    assert!(m.contains("--adopt-existing-namespaces"), "{m}");
    assert!(m.contains("KBATCH_ADOPT_EXISTING_NAMESPACES=true"), "{m}");
}

#[test]
fn adopt_flag_is_off_by_default() {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct A {
        #[command(flatten)]
        p: ProvisionArgs,
    }
    let parse = |args: &[&str]| A::try_parse_from(args).expect("parses").p;
    assert!(!parse(&["x"]).adopt_existing_namespaces, "off by default");
    assert!(parse(&["x", "--adopt-existing-namespaces"]).adopt_existing_namespaces);
}

#[test]
fn a_missing_user_namespace_is_recognised_in_the_api_servers_404() {
    let ns = "kbatch-sam";
    let by_details = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"namespaces \"kbatch-sam\" not found","reason":"NotFound","details":{"name":"kbatch-sam","kind":"namespaces"},"code":404}"#;
    assert!(namespace_missing(StatusCode::NOT_FOUND, by_details, ns));
    let by_message =
        br#"{"kind":"Status","message":"namespaces \"kbatch-sam\" not found","code":404}"#;
    assert!(namespace_missing(StatusCode::NOT_FOUND, by_message, ns));
    // Another namespace, another kind, another status, or no Status: not the user's namespace.
    assert!(!namespace_missing(
        StatusCode::NOT_FOUND,
        by_details,
        "kbatch-max"
    ));
    let object = br#"{"kind":"Status","message":"configmaps \"x\" not found","details":{"name":"x","kind":"configmaps"},"code":404}"#;
    assert!(!namespace_missing(StatusCode::NOT_FOUND, object, ns));
    assert!(!namespace_missing(StatusCode::FORBIDDEN, by_details, ns));
    assert!(!namespace_missing(
        StatusCode::NOT_FOUND,
        b"404 page not found\n",
        ns
    ));
}
