//! Hostile request bodies through kbatch-proxy (shipped policies on) to the API: kind
//! confusion (`kind`/`Kind`, U+212A KELVIN SIGN, U+017F LONG S, a kind the endpoint does not
//! take, lists), duplicate and case-folded keys, YAML anchors/aliases/merge keys/tags/multiple
//! documents/YAML 1.1 booleans, protobuf repeated and unknown fields, every patch type (JSON
//! patch tricks on `resourceVersion`, strategic-merge directives, server-side apply with
//! `force`), and the kbatch REST API. Each case is refused or judged as the API server would
//! decode it, and the API server ends up storing nothing dangerous (checked as its admin).

mod support;

use serde_json::{json, Value};
use support::cluster::Cluster;
use support::hub::{Hub, HubUser};
use support::proxy::Proxy;

/// What must hold after a case.
enum After {
    /// The object at this API path (as the admin sees it) does not exist.
    Absent(String),
    /// The object at this API path exists and carries nothing dangerous.
    Safe(String),
}

struct Case {
    name: &'static str,
    method: &'static str,
    /// Path on the proxy (`{ns}` is the user's namespace).
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    /// Text the answer must contain.
    says: &'static str,
    after: After,
}

struct Env {
    c: Cluster,
    proxy: Proxy,
    user: HubUser,
    agent: ureq::Agent,
    admin: ureq::Agent,
}

impl Env {
    fn start() -> Env {
        let c = Cluster::start();
        let dir = support::tools::repo_root().join("policies");
        let proxy = Proxy::start(
            &c,
            &Hub::shared().api_url(),
            &["--policies-dir", dir.to_str().expect("utf8")],
        );
        let user = Hub::shared().kbatch_user("hostile");
        let agent = support::envtest::tls_agent(&proxy.ca_pem).expect("agent");
        let admin = support::envtest::tls_agent(&c.ca_pem).expect("admin agent");
        Env {
            c,
            proxy,
            user,
            agent,
            admin,
        }
    }

    /// Send to the proxy as the user: (status, body).
    fn send(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        let url = format!("{}{path}", self.proxy.url);
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Authorization", format!("Bearer {}", self.user.token))
            .header("Content-Type", content_type)
            .header("Accept", "application/json")
            .body(body.to_vec())
            .expect("request");
        match self.agent.run(req) {
            Ok(mut r) => {
                let status = r.status().as_u16();
                let text = r.body_mut().read_to_string().unwrap_or_default();
                (status, text)
            }
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    /// GET as the API server's admin: the object, or `None` for 404.
    fn admin_get(&self, path: &str) -> Option<Value> {
        let url = format!("{}{path}", self.c.url);
        let mut r = self
            .admin
            .get(&url)
            .header("Authorization", format!("Bearer {}", self.c.admin_token))
            .call()
            .expect("admin GET");
        match r.status().as_u16() {
            404 => None,
            200 => Some(
                serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json"),
            ),
            s => panic!("admin GET {path}: {s}"),
        }
    }

    fn ns(&self) -> &str {
        &self.user.namespace
    }
}

/// Dangerous settings anywhere in `v`: privileged, host namespaces, hostPath, a chosen node.
fn dangerous(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                let bad = match k.as_str() {
                    "privileged" | "hostNetwork" | "hostPID" | "hostIPC" => x == &json!(true),
                    "hostPath" => !x.is_null(),
                    "nodeName" => x.as_str().is_some_and(|s| s == "evil-node"),
                    _ => false,
                };
                if bad {
                    out.push(format!("{p} = {x}"));
                }
                dangerous(x, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                dangerous(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn container(extra: Value) -> Value {
    let mut c = json!({"name": "main", "image": "busybox", "command": ["sleep", "600"]});
    if let (Some(m), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    c
}

fn privileged() -> Value {
    container(json!({"securityContext": {"privileged": true}}))
}

fn pod_spec(extra: Value, c: Value) -> Value {
    let mut s = json!({"restartPolicy": "Never", "containers": [c]});
    if let (Some(m), Some(e)) = (s.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    s
}

fn template(spec: Value) -> Value {
    json!({"metadata": {"labels": {"app": "x"}}, "spec": spec})
}

fn deployment(name: &str, mut spec: Value) -> Value {
    spec["restartPolicy"] = json!("Always");
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
           "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template(spec)}})
}

fn cronjob(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
           "spec": {"schedule": "0 0 1 1 *", "jobTemplate": {"spec": {"template": template(spec)}}}})
}

// --- protobuf, written by hand (field numbers from k8s.io/api generated.proto) ---

fn varint(mut x: u64, out: &mut Vec<u8>) {
    loop {
        let b = (x & 0x7f) as u8;
        x >>= 7;
        if x == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A length-delimited field.
fn ld(tag: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(u64::from(tag << 3 | 2), &mut out);
    varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

/// A varint field.
fn vi(tag: u32, x: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(u64::from(tag << 3), &mut out);
    varint(x, &mut out);
    out
}

/// `k8s\0` + Unknown{TypeMeta{apiVersion, kind}, raw}.
fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let tm = [ld(1, api_version.as_bytes()), ld(2, kind.as_bytes())].concat();
    [b"k8s\x00".to_vec(), ld(1, &tm), ld(2, raw)].concat()
}

fn pb_meta(name: &str) -> Vec<u8> {
    ld(1, &ld(1, name.as_bytes()))
}

/// PodSpec{containers: [Container{name, image, securityContext{privileged}}]}.
fn pb_spec(privileged: bool) -> Vec<u8> {
    let sc = vi(2, u64::from(privileged));
    let c = [ld(1, b"main"), ld(2, b"busybox"), ld(15, &sc)].concat();
    ld(2, &ld(2, &c))
}

fn cases(e: &Env) -> Vec<Case> {
    let ns = e.ns();
    let pods = format!("/api/v1/namespaces/{ns}/pods");
    let deps = format!("/apis/apps/v1/namespaces/{ns}/deployments");
    let cjs = format!("/apis/batch/v1/namespaces/{ns}/cronjobs");
    let pod_at = |n: &str| After::Absent(format!("{pods}/{n}"));
    let dep_at = |n: &str| After::Absent(format!("{deps}/{n}"));
    let cj_at = |n: &str| After::Absent(format!("{cjs}/{n}"));
    let json_case = |name, path: &str, body: String, status, says, after| Case {
        name,
        method: "POST",
        path: path.to_owned(),
        content_type: "application/json",
        body: body.into_bytes(),
        status,
        says,
        after,
    };
    let priv_spec = pod_spec(json!({}), privileged()).to_string();
    let safe_spec = pod_spec(json!({}), container(json!({}))).to_string();
    let mut v = vec![
        // Kind confusion, JSON.
        json_case("kind Secret then Kind Pod", &pods,
            format!(r#"{{"apiVersion":"v1","kind":"Secret","Kind":"Pod","metadata":{{"name":"kc1"}},"spec":{priv_spec}}}"#),
            400, "differ only in case", pod_at("kc1")),
        json_case("kind ConfigMap then KELVIN-ind Pod on a Deployment", &deps,
            format!("{{\"apiVersion\":\"apps/v1\",\"kind\":\"ConfigMap\",\"\u{212a}ind\":\"Deployment\",\"metadata\":{{\"name\":\"kc2\"}},\"spec\":{}}}",
                deployment("kc2", pod_spec(json!({"hostNetwork": true}), container(json!({}))))["spec"]),
            400, "differ only in case", dep_at("kc2")),
        json_case("only Kind", &pods,
            format!(r#"{{"apiVersion":"v1","Kind":"Pod","metadata":{{"name":"kc3"}},"spec":{priv_spec}}}"#),
            400, "spells \"kind\" as \"Kind\"", pod_at("kc3")),
        json_case("only KELVIN-ind", &pods,
            format!("{{\"apiVersion\":\"v1\",\"\u{212a}ind\":\"Pod\",\"metadata\":{{\"name\":\"kc4\"}},\"spec\":{priv_spec}}}"),
            400, "spells \"kind\"", pod_at("kc4")),
        json_case("LONG S in apiVersion", &pods,
            format!("{{\"apiVer\u{17f}ion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"kc5\"}},\"spec\":{priv_spec}}}"),
            400, "spells \"apiVersion\"", pod_at("kc5")),
        json_case("kind Secret posted to pods", &pods,
            format!(r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"kc6"}},"spec":{priv_spec}}}"#),
            400, "Secret in version \"v1\" cannot be handled as a Pod", pod_at("kc6")),
        json_case("no kind at all: judged as a Pod", &pods,
            format!(r#"{{"metadata":{{"name":"kc7"}},"spec":{priv_spec}}}"#),
            403, "privileged containers are not allowed", pod_at("kc7")),
        json_case("kind in lower case", &deps,
            deployment("kc8", pod_spec(json!({"hostPID": true}), container(json!({})))).to_string().replace("\"Deployment\"", "\"deployment\""),
            400, "cannot be handled as a Deployment", dep_at("kc8")),
        json_case("apiVersion of another group", &pods,
            format!(r#"{{"apiVersion":"apps/v1","kind":"Pod","metadata":{{"name":"kc9"}},"spec":{priv_spec}}}"#),
            400, "is registered for version \"apps/v1\"", pod_at("kc9")),
        json_case("APIVERSION after apiVersion", &pods,
            format!(r#"{{"apiVersion":"v1","APIVERSION":"v1","kind":"Pod","metadata":{{"name":"kc10"}},"spec":{priv_spec}}}"#),
            400, "differ only in case", pod_at("kc10")),
        json_case("a List of pods", &pods,
            json!({"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kc11"}, "spec": pod_spec(json!({}), privileged())}]}).to_string(),
            400, "a List cannot be created", pod_at("kc11")),
        json_case("a PodList", &pods,
            json!({"apiVersion": "v1", "kind": "PodList", "items": []}).to_string(),
            400, "a PodList cannot", pod_at("kc12")),
        json_case("a Job body on the cronjobs endpoint", &cjs,
            cronjob("kc13", pod_spec(json!({"hostPID": true}), container(json!({})))).to_string().replace("\"CronJob\"", "\"Job\""),
            400, "Job in version \"v1\" cannot be handled as a CronJob", cj_at("kc13")),
        json_case("a CronJob without kind: judged as a CronJob", &cjs,
            {
                let mut c = cronjob("kc14", pod_spec(json!({"hostPID": true}), container(json!({}))));
                c.as_object_mut().map(|m| m.remove("kind"));
                c.to_string()
            },
            403, "(hostPID) is not allowed", cj_at("kc14")),
        json_case("nodeName without kind", &pods,
            format!(r#"{{"metadata":{{"name":"kc15"}},"spec":{}}}"#, pod_spec(json!({"nodeName": "evil-node"}), container(json!({})))),
            403, "setting spec.nodeName is not allowed", pod_at("kc15")),
        // Duplicate and case-folded keys.
        json_case("spec twice: privileged, then safe", &pods,
            format!(r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"dk1"}},"spec":{priv_spec},"spec":{safe_spec}}}"#),
            400, "duplicate field \"spec\"", pod_at("dk1")),
        json_case("spec twice: safe, then privileged", &pods,
            format!(r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"dk2"}},"spec":{safe_spec},"spec":{priv_spec}}}"#),
            400, "duplicate field \"spec\"", pod_at("dk2")),
        json_case("privileged twice", &pods,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"dk3"},"spec":{"containers":[{"name":"main","image":"busybox","securityContext":{"privileged":false,"privileged":true}}]}}"#.into(),
            400, "duplicate field \"spec.containers[0].securityContext.privileged\"", pod_at("dk3")),
        json_case("hostNetwork and HostNetwork", &pods,
            format!(r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"dk4"}},"spec":{{"hostNetwork":false,"HostNetwork":true,"containers":[{}]}}}}"#, container(json!({}))),
            400, "spec.HostNetwork", pod_at("dk4")),
        json_case("metadata twice (name swap)", &pods,
            format!(r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"dk5"}},"metadata":{{"name":"dk5b"}},"spec":{priv_spec}}}"#),
            400, "duplicate field \"metadata\"", pod_at("dk5b")),
        json_case("containers and Containers", &deps,
            format!(r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"dk6"}},"spec":{{"selector":{{"matchLabels":{{"app":"x"}}}},"template":{{"metadata":{{"labels":{{"app":"x"}}}},"spec":{{"containers":[{}],"Containers":[{}]}}}}}}}}"#, container(json!({})), privileged()),
            400, "differ only in case", dep_at("dk6")),
    ];
    // YAML.
    let yaml_case = |name, path: &str, body: &str, status, says, after| Case {
        name,
        method: "POST",
        path: path.to_owned(),
        content_type: "application/yaml",
        body: body.as_bytes().to_vec(),
        status,
        says,
        after,
    };
    let yaml_pod = |name: &str, sc: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: main\n    image: busybox\n{sc}")
    };
    v.extend([
        yaml_case("YAML kind and Kind", &pods,
            &format!("Kind: Secret\n{}", yaml_pod("y1", "    securityContext:\n      privileged: true\n")),
            400, "differ only in case", pod_at("y1")),
        yaml_case("YAML 1.1 boolean yes", &pods,
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: y2\nspec:\n  hostNetwork: yes\n  containers:\n  - name: main\n    image: busybox\n",
            403, "(hostNetwork) is not allowed", pod_at("y2")),
        yaml_case("YAML 1.1 boolean on", &pods,
            &yaml_pod("y3", "    securityContext:\n      privileged: on\n"),
            403, "privileged containers are not allowed", pod_at("y3")),
        yaml_case("YAML anchor and alias", &pods,
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: y4\nspec:\n  containers:\n  - name: main\n    image: busybox\n    securityContext: &sc\n      privileged: true\n  - name: side\n    image: busybox\n    securityContext: *sc\n",
            400, "", pod_at("y4")),
        yaml_case("YAML merge key", &pods,
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: y5\nspec:\n  containers:\n  - <<: {securityContext: {privileged: true}}\n    name: main\n    image: busybox\n",
            400, "", pod_at("y5")),
        yaml_case("YAML tag", &pods,
            &yaml_pod("y6", "    securityContext:\n      privileged: !!bool true\n"),
            400, "", pod_at("y6")),
        yaml_case("YAML two documents", &pods,
            &format!("{}---\n{}", yaml_pod("y7", ""), yaml_pod("y7", "    securityContext:\n      privileged: true\n")),
            400, "", pod_at("y7")),
        yaml_case("YAML duplicate key", &pods,
            &yaml_pod("y8", "    securityContext:\n      privileged: false\n      privileged: true\n"),
            400, "", pod_at("y8")),
        yaml_case("YAML List", &pods,
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: y9}\n  spec: {containers: [{name: main, image: busybox, securityContext: {privileged: true}}]}\n",
            400, "a List cannot be created", pod_at("y9")),
    ]);
    // Protobuf.
    let pb_case = |name, body: Vec<u8>, status, says, after| Case {
        name,
        method: "POST",
        path: pods.clone(),
        content_type: "application/vnd.kubernetes.protobuf",
        body,
        status,
        says,
        after,
    };
    v.extend([
        pb_case(
            "protobuf privileged pod",
            envelope("v1", "Pod", &[pb_meta("pb1"), pb_spec(true)].concat()),
            403,
            "privileged containers are not allowed",
            pod_at("pb1"),
        ),
        pb_case(
            "protobuf spec twice (gogo merges them)",
            envelope(
                "v1",
                "Pod",
                &[pb_meta("pb2"), pb_spec(true), pb_spec(false)].concat(),
            ),
            400,
            "spec is sent 2 times",
            pod_at("pb2"),
        ),
        pb_case(
            "protobuf unknown field",
            envelope(
                "v1",
                "Pod",
                &[pb_meta("pb3"), pb_spec(false), vi(99, 1)].concat(),
            ),
            400,
            "field number 99",
            pod_at("pb3"),
        ),
        pb_case(
            "protobuf Secret envelope on pods",
            envelope("v1", "Secret", &pb_meta("pb4")),
            400,
            "cannot be handled as a Pod",
            pod_at("pb4"),
        ),
    ]);
    v
}

/// Patches of objects that exist (created safely through the proxy first).
fn patch_cases(e: &Env) -> Vec<Case> {
    let ns = e.ns();
    let cj = format!("/apis/batch/v1/namespaces/{ns}/cronjobs/victim-cj");
    let dep = format!("/apis/apps/v1/namespaces/{ns}/deployments/victim-dep");
    let pods = format!("/api/v1/namespaces/{ns}/pods");
    let patch = |name, path: &str, ct, body: Value, status, says| Case {
        name,
        method: "PATCH",
        path: path.to_owned(),
        content_type: ct,
        body: body.to_string().into_bytes(),
        status,
        says,
        after: After::Safe(path.to_owned()),
    };
    let tpl = "/spec/jobTemplate/spec/template/spec";
    vec![
        patch("merge patch adds hostNetwork", &cj, "application/merge-patch+json",
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"hostNetwork": true}}}}}}),
            403, "(hostNetwork) is not allowed"),
        patch("strategic $patch: replace of the containers", &dep, "application/strategic-merge-patch+json",
            json!({"spec": {"template": {"spec": {"containers": [{"$patch": "replace"}, privileged()]}}}}),
            403, "privileged containers are not allowed"),
        patch("strategic $setElementOrder with a privileged container", &dep, "application/strategic-merge-patch+json",
            json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "main"}], "containers": [{"name": "main", "securityContext": {"privileged": true}}]}}}}),
            403, "privileged containers are not allowed"),
        patch("strategic $retainKeys on the pod spec", &dep, "application/strategic-merge-patch+json",
            json!({"spec": {"template": {"spec": {"$retainKeys": ["containers", "hostPID"], "hostPID": true, "containers": [container(json!({}))]}}}}),
            403, "(hostPID) is not allowed"),
        patch("strategic $deleteFromPrimitiveList with a host port", &dep, "application/strategic-merge-patch+json",
            json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "ports": [{"containerPort": 80, "hostPort": 80}], "$deleteFromPrimitiveList/command": ["600"]}]}}}}),
            403, "host ports are not allowed"),
        patch("JSON patch adds hostNetwork", &cj, "application/json-patch+json",
            json!([{"op": "add", "path": format!("{tpl}/hostNetwork"), "value": true}]),
            403, "(hostNetwork) is not allowed"),
        patch("JSON patch removes resourceVersion", &cj, "application/json-patch+json",
            json!([{"op": "remove", "path": "/metadata/resourceVersion"}, {"op": "add", "path": format!("{tpl}/hostPID"), "value": true}]),
            400, "precondition"),
        patch("JSON patch replaces metadata", &cj, "application/json-patch+json",
            json!([{"op": "replace", "path": "/metadata", "value": {"name": "victim-cj"}}]),
            400, "precondition"),
        patch("JSON patch copies into resourceVersion", &cj, "application/json-patch+json",
            json!([{"op": "copy", "from": "/metadata/name", "path": "/metadata/resourceVersion"}]),
            400, "precondition"),
        patch("JSON patch replaces the whole document", &cj, "application/json-patch+json",
            json!([{"op": "replace", "path": "", "value": cronjob("victim-cj", pod_spec(json!({"hostPID": true}), container(json!({}))))}]),
            400, "precondition"),
        patch("merge patch sets metadata to null", &cj, "application/merge-patch+json",
            json!({"metadata": null, "spec": {"jobTemplate": {"spec": {"template": {"spec": {"hostIPC": true}}}}}}),
            400, "precondition"),
        patch("strategic patch deletes metadata", &dep, "application/strategic-merge-patch+json",
            json!({"metadata": {"$patch": "delete"}, "spec": {"template": {"spec": {"hostIPC": true}}}}),
            400, "precondition"),
        Case {
            name: "patch with a duplicate key",
            method: "PATCH",
            path: cj.clone(),
            content_type: "application/merge-patch+json",
            body: br#"{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"hostNetwork":false,"hostNetwork":true}}}}}}"#.to_vec(),
            status: 400,
            says: "duplicate field",
            after: After::Safe(cj.clone()),
        },
        Case {
            name: "server-side apply with force makes it privileged",
            method: "PATCH",
            path: format!("{dep}?fieldManager=attacker&force=true"),
            content_type: "application/apply-patch+yaml",
            body: serde_json::to_vec(&deployment("victim-dep", pod_spec(json!({}), privileged()))).expect("json"),
            status: 403,
            says: "privileged containers are not allowed",
            after: After::Safe(dep.clone()),
        },
        Case {
            name: "server-side apply creating a privileged pod",
            method: "PATCH",
            path: format!("{pods}/ssa1?fieldManager=attacker"),
            content_type: "application/apply-patch+yaml",
            body: b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: ssa1\nspec:\n  containers:\n  - name: main\n    image: busybox\n    securityContext:\n      privileged: yes\n".to_vec(),
            status: 403,
            says: "privileged containers are not allowed",
            after: After::Absent(format!("{pods}/ssa1")),
        },
        Case {
            name: "server-side apply with Kind",
            method: "PATCH",
            path: format!("{pods}/ssa2?fieldManager=attacker"),
            content_type: "application/apply-patch+yaml",
            body: b"apiVersion: v1\nKind: Pod\nmetadata:\n  name: ssa2\nspec:\n  containers:\n  - name: main\n    image: busybox\n".to_vec(),
            status: 400,
            says: "spells \"kind\" as \"Kind\"",
            after: After::Absent(format!("{pods}/ssa2")),
        },
        Case {
            name: "server-side apply with an alias",
            method: "PATCH",
            path: format!("{pods}/ssa3?fieldManager=attacker"),
            content_type: "application/apply-patch+yaml",
            body: b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: ssa3\nspec:\n  containers:\n  - &c {name: main, image: busybox, securityContext: {privileged: true}}\n".to_vec(),
            status: 400,
            says: "",
            after: After::Absent(format!("{pods}/ssa3")),
        },
    ]
}

/// The kbatch REST API takes a job as JSON (snake_case keys).
fn kbatch_cases(e: &Env) -> Vec<Case> {
    let jobs = format!("/apis/batch/v1/namespaces/{}/jobs", e.ns());
    let kb = |name, body: &str, status, says, job: &str| Case {
        name,
        method: "POST",
        path: "/jobs/".into(),
        content_type: "application/json",
        body: body.as_bytes().to_vec(),
        status,
        says,
        after: After::Absent(format!("{jobs}/{job}")),
    };
    let mut v = vec![
        kb(
            "kbatch job with kind ConfigMap",
            r#"{"job": {"kind": "ConfigMap", "metadata": {"name": "kb1"}, "spec": {"template": {"spec": {"restart_policy": "Never", "containers": [{"name": "a", "image": "i", "security_context": {"privileged": true}}]}}}}}"#,
            422,
            "kind must be Job",
            "kb1",
        ),
        kb(
            "kbatch job with privileged twice",
            r#"{"job": {"metadata": {"name": "kb3"}, "spec": {"template": {"spec": {"restart_policy": "Never", "containers": [{"name": "a", "image": "i", "security_context": {"privileged": false, "privileged": true}}]}}}}}"#,
            400,
            "duplicate field",
            "kb3",
        ),
        kb(
            "kbatch job with host_network",
            r#"{"job": {"metadata": {"name": "kb4"}, "spec": {"template": {"spec": {"restart_policy": "Never", "host_network": true, "containers": [{"name": "a", "image": "i"}]}}}}}"#,
            403,
            "(hostNetwork) is not allowed",
            "kb4",
        ),
    ];
    // The kbatch API reads a job into its typed model, which has no `Kind`: dropped, not
    // taken for the kind.
    let mut odd = kb(
        "kbatch job with Kind: Pod and a safe spec",
        r#"{"job": {"Kind": "Pod", "metadata": {"name": "kb2"}, "spec": {"template": {"spec": {"restart_policy": "Never", "containers": [{"name": "a", "image": "i"}]}}}}}"#,
        200,
        "\"kind\":\"Job\"",
        "kb2",
    );
    odd.after = After::Safe(format!("{jobs}/kb2"));
    v.push(odd);
    v
}

/// Run `cases`, adding what went wrong to `failures`; returns how many ran.
fn run(e: &Env, cases: Vec<Case>, failures: &mut Vec<String>) -> usize {
    let ns = e.ns().to_owned();
    let n = cases.len();
    for case in cases {
        let path = case.path.replace("{ns}", &ns);
        let (status, body) = e.send(case.method, &path, case.content_type, &case.body);
        // A Status's message, else the whole answer.
        let text = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| {
                v["message"]
                    .as_str()
                    .or(v["detail"].as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| body.clone());
        if status != case.status || !text.contains(case.says) {
            failures.push(format!(
                "{}: {} {path}: want {} containing {:?}, got {status}: {body}",
                case.name, case.method, case.status, case.says
            ));
        }
        match &case.after {
            After::Absent(p) => {
                if let Some(obj) = e.admin_get(p) {
                    failures.push(format!("{}: {p} was stored: {obj}", case.name));
                }
            }
            After::Safe(p) => {
                let obj = e
                    .admin_get(p)
                    .unwrap_or_else(|| panic!("{}: {p} is gone", case.name));
                let mut bad = Vec::new();
                dangerous(&obj, "", &mut bad);
                if !bad.is_empty() {
                    failures.push(format!("{}: {p} now has {bad:?}", case.name));
                }
            }
        }
    }
    n
}

#[test]
fn hostile_bodies_are_refused_or_judged_as_the_api_server_decodes_them() {
    let e = Env::start();
    let ns = e.ns().to_owned();
    // The victims of the patch cases, created safely through the proxy.
    let (s, b) = e.send(
        "POST",
        &format!("/apis/batch/v1/namespaces/{ns}/cronjobs"),
        "application/json",
        cronjob("victim-cj", pod_spec(json!({}), container(json!({}))))
            .to_string()
            .as_bytes(),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = e.send(
        "POST",
        &format!("/apis/apps/v1/namespaces/{ns}/deployments"),
        "application/json",
        deployment("victim-dep", pod_spec(json!({}), container(json!({}))))
            .to_string()
            .as_bytes(),
    );
    assert_eq!(s, 201, "{b}");
    let mut failures = Vec::new();
    let mut count = run(&e, cases(&e), &mut failures);
    count += run(&e, patch_cases(&e), &mut failures);
    count += run(&e, kbatch_cases(&e), &mut failures);
    assert!(
        failures.is_empty(),
        "{} failures in {count} cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(count >= 40, "{count} cases");
    eprintln!("{count} hostile cases refused or judged");
}

#[test]
fn the_hand_written_protobuf_is_what_the_cases_claim() {
    // Guards the encoder above: the API server's own reading of the bodies.
    let pod = envelope("v1", "Pod", &[pb_meta("pb1"), pb_spec(true)].concat());
    let v = k8s_protojson::decode(&pod).expect("decodes");
    assert_eq!(v["metadata"]["name"], "pb1");
    assert_eq!(
        v["spec"]["containers"][0]["securityContext"]["privileged"],
        true
    );
    // The stand-in, reading as gogo-protobuf does, takes a message sent twice without refusal.
    let twice = envelope(
        "v1",
        "Pod",
        &[pb_meta("pb2"), pb_spec(true), pb_spec(false)].concat(),
    );
    assert!(k8s_protojson::decode(&twice).is_ok());
}
