//! Property test of the body decision (no servers): generated JSON bodies for the pods endpoint
//! with case variants of `kind`/`apiVersion`/`spec`/`privileged`, duplicate keys and Unicode
//! folding characters (U+212A KELVIN SIGN, U+017F LONG S, and the dotless i, which Go does not
//! fold). A model of kube-apiserver's reading — Go's case-insensitive `encoding/json` for the
//! type meta (last folded key wins), case-sensitive last-wins decoding of the object — says
//! what the API server would store; the proxy's decoding, type-meta check and shipped policies
//! must either refuse the body, or judge exactly that object (a Pod whose containers are those
//! the API server would store) and refuse it when the API server would run a privileged
//! container.

use kbatch_proxy::decode::{check_type_meta, decode};
use kbatch_proxy::policy::{PolicySet, Subject, Target};
use proptest::prelude::*;
use serde_json::{json, Value};

/// A JSON fragment with its text kept (so duplicates survive).
#[derive(Debug, Clone)]
enum Gen {
    Str(String),
    Bool(bool),
    Obj(Vec<(String, Gen)>),
    Arr(Vec<Gen>),
}

impl Gen {
    fn text(&self) -> String {
        match self {
            Gen::Str(s) => serde_json::to_string(s).expect("string"),
            Gen::Bool(b) => b.to_string(),
            Gen::Arr(a) => format!(
                "[{}]",
                a.iter().map(Gen::text).collect::<Vec<_>>().join(",")
            ),
            Gen::Obj(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!(
                        "{}:{}",
                        serde_json::to_string(k).expect("key"),
                        v.text()
                    ))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    /// Case-sensitive, last-wins member lookup (sigs.k8s.io/json).
    fn get(&self, key: &str) -> Option<&Gen> {
        match self {
            Gen::Obj(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// The model's folding: ASCII case, KELVIN SIGN → k, LONG S → s; nothing else folds.
fn go_fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{212a}' => 'k',
            '\u{17f}' => 's',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The kind kube-apiserver's type lookup finds: the last top-level key that folds to `kind`.
fn go_kind(body: &Gen) -> Option<String> {
    let Gen::Obj(m) = body else { return None };
    m.iter()
        .rev()
        .find(|(k, _)| go_fold(k) == "kind")
        .and_then(|(_, v)| match v {
            Gen::Str(s) => Some(s.clone()),
            _ => None,
        })
}

/// Whether the API server would run a privileged container: the containers it decodes
/// (case-sensitive, last wins) with `securityContext.privileged: true`.
fn go_privileged(body: &Gen) -> bool {
    let Some(Gen::Arr(containers)) = body.get("spec").and_then(|s| s.get("containers")) else {
        return false;
    };
    containers.iter().any(|c| {
        matches!(
            c.get("securityContext").and_then(|s| s.get("privileged")),
            Some(Gen::Bool(true))
        )
    })
}

fn key(variants: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(variants).prop_map(str::to_owned)
}

const KIND_KEYS: &[&str] = &[
    "kind",
    "Kind",
    "KIND",
    "\u{212a}ind",
    "\u{212a}IND",
    "k\u{131}nd",
];
const AV_KEYS: &[&str] = &["apiVersion", "APIVERSION", "apiVer\u{17f}ion", "apiversion"];
const SPEC_KEYS: &[&str] = &["spec", "Spec", "SPEC", "\u{17f}pec"];
const PRIV_KEYS: &[&str] = &["privileged", "Privileged", "PRIVILEGED", "privileged"];
const SC_KEYS: &[&str] = &["securityContext", "SecurityContext", "securitycontext"];

fn container() -> impl Strategy<Value = Gen> {
    let sc = proptest::collection::vec((key(PRIV_KEYS), any::<bool>()), 0..3)
        .prop_map(|m| Gen::Obj(m.into_iter().map(|(k, b)| (k, Gen::Bool(b))).collect()));
    proptest::collection::vec((key(SC_KEYS), sc), 0..3).prop_map(|scs| {
        let mut m = vec![
            ("name".to_owned(), Gen::Str("main".into())),
            ("image".to_owned(), Gen::Str("busybox".into())),
        ];
        m.extend(scs);
        Gen::Obj(m)
    })
}

fn spec() -> impl Strategy<Value = Gen> {
    proptest::collection::vec(container(), 1..3)
        .prop_map(|cs| Gen::Obj(vec![("containers".into(), Gen::Arr(cs))]))
}

fn body() -> impl Strategy<Value = Gen> {
    let member = prop_oneof![
        (
            key(KIND_KEYS),
            proptest::sample::select(&["Pod", "Secret", "ConfigMap", "pod"][..])
        )
            .prop_map(|(k, v)| (k, Gen::Str(v.into()))),
        (
            key(AV_KEYS),
            proptest::sample::select(&["v1", "apps/v1"][..])
        )
            .prop_map(|(k, v)| (k, Gen::Str(v.into()))),
        (key(SPEC_KEYS), spec()),
    ];
    proptest::collection::vec(member, 1..6).prop_map(|mut m| {
        m.insert(
            0,
            (
                "metadata".into(),
                Gen::Obj(vec![("name".into(), Gen::Str("p".into()))]),
            ),
        );
        Gen::Obj(m)
    })
}

fn shipped() -> PolicySet {
    PolicySet::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"))
        .expect("shipped policies load")
}

const PODS: Target<'static> = Target {
    verb: "create",
    group: "",
    version: "v1",
    resource: "pods",
    subresource: None,
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn judged_as_the_api_server_decodes_or_refused(b in body()) {
        let text = b.text();
        let set = shipped();
        let groups = Vec::new();
        let who = Subject { user: "alice", namespace: "kbatch-alice", groups: &groups };
        let accepted = decode(Some("application/json"), text.as_bytes())
            .and_then(|v| check_type_meta(&v, &PODS).map(|()| v));
        let Ok(object) = accepted else {
            return Ok(());
        };
        // Accepted: the API server's type lookup finds a Pod (or nothing: the endpoint's).
        let kind = go_kind(&b);
        prop_assert!(kind.is_none() || kind.as_deref() == Some("Pod"), "{text}: Go reads kind {kind:?}");
        // The object judged is the one the API server decodes: same containers.
        let go_containers = match b.get("spec").and_then(|s| s.get("containers")) {
            Some(g) => serde_json::from_str::<Value>(&g.text()).expect("json"),
            None => Value::Null,
        };
        prop_assert_eq!(&object["spec"]["containers"], &go_containers, "{}", text);
        // And it is refused exactly when the API server would run a privileged container.
        let ev = set.evaluate(&PODS, &who, object);
        let refused = ev.denied.as_deref().is_some_and(|d| d.contains("privileged containers"));
        prop_assert_eq!(refused, go_privileged(&b), "{}: {:?}", text, ev.denied);
        // What is forwarded is what was judged.
        let forwarded: Value = serde_json::from_slice(&serde_json::to_vec(&ev.object).expect("json")).expect("json");
        prop_assert_eq!(&forwarded["spec"], &ev.object["spec"]);
    }
}

#[test]
fn the_model_reads_the_known_tricks_as_go_does() {
    let tricky = Gen::Obj(vec![
        ("kind".into(), Gen::Str("Secret".into())),
        ("\u{212a}ind".into(), Gen::Str("Pod".into())),
    ]);
    assert_eq!(go_kind(&tricky).as_deref(), Some("Pod"));
    let dotless = Gen::Obj(vec![("k\u{131}nd".into(), Gen::Str("Pod".into()))]);
    assert_eq!(go_kind(&dotless), None);
    let v = json!({"spec": {"containers": [{"securityContext": {"privileged": true}}]}});
    let g = Gen::Obj(vec![(
        "spec".into(),
        Gen::Obj(vec![(
            "containers".into(),
            Gen::Arr(vec![Gen::Obj(vec![(
                "securityContext".into(),
                Gen::Obj(vec![("privileged".into(), Gen::Bool(true))]),
            )])]),
        )]),
    )]);
    assert_eq!(serde_json::from_str::<Value>(&g.text()).expect("json"), v);
    assert!(go_privileged(&g));
}
