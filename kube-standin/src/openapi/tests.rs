//! OpenAPI tests: index shape and caching headers (`k8s-reference/discovery/04-openapi.txt`,
//! `kubectl-conversations/13-explain.txt`), schema completeness, and what kubectl's
//! QueryParamVerifierV3 looks for.

use super::*;
use http::HeaderValue;
use serde_json::Value;

fn v() -> ServerVersion {
    ServerVersion::default()
}

fn get(path_query: &str, headers: &[(&'static str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut map = HeaderMap::new();
    for (k, val) in headers {
        map.append(*k, HeaderValue::from_str(val).expect("header value"));
    }
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_query, None),
    };
    let resp =
        crate::discovery::handle(&Method::GET, path, query, &map, &v()).expect("an openapi path");
    let (parts, body) = resp.into_parts();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let bytes = rt.block_on(body.collect()).expect("infallible").to_bytes();
    (parts.status, parts.headers, bytes.to_vec())
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

fn index() -> Value {
    let (status, _, b) = get("/openapi/v3", &[("accept", "application/json, */*")]);
    assert_eq!(status, StatusCode::OK);
    json_of(&b)
}

fn url_of(key: &str) -> String {
    index()["paths"][key]["serverRelativeURL"]
        .as_str()
        .expect("index entry")
        .to_string()
}

fn batch_v1() -> Value {
    let (status, _, b) = get(&url_of("apis/batch/v1"), &[("accept", "application/json")]);
    assert_eq!(status, StatusCode::OK);
    json_of(&b)
}

#[test]
fn index_lists_every_served_group_version_with_hashed_urls() {
    let (status, h, b) = get("/openapi/v3", &[("accept", "application/json, */*")]);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["content-type"], "text/plain; charset=utf-8");
    assert_eq!(h["cache-control"], "no-cache, private");
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["content-length"], b.len().to_string().as_str());
    assert!(h.contains_key("last-modified"));
    assert!(b.starts_with(b"{\"paths\":{\"api\":{\"serverRelativeURL\":\"/openapi/v3/api?hash="));
    assert_ne!(b.last(), Some(&b'\n'), "json.Marshal: no trailing newline");
    let idx = json_of(&b);
    let keys: Vec<&str> = idx["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "api",
            "api/v1",
            "apis",
            "apis/apps",
            "apis/apps/v1",
            "apis/authentication.k8s.io",
            "apis/authentication.k8s.io/v1",
            "apis/authorization.k8s.io",
            "apis/authorization.k8s.io/v1",
            "apis/batch",
            "apis/batch/v1",
            "apis/flowcontrol.apiserver.k8s.io",
            "apis/flowcontrol.apiserver.k8s.io/v1",
            "apis/policy",
            "apis/policy/v1",
            "apis/rbac.authorization.k8s.io",
            "apis/rbac.authorization.k8s.io/v1",
            "apis/scheduling.k8s.io",
            "apis/scheduling.k8s.io/v1",
            "apis/storage.k8s.io",
            "apis/storage.k8s.io/v1",
            "version",
        ]
    );
    let docs = docs(&v());
    for key in keys {
        let url = idx["paths"][key]["serverRelativeURL"]
            .as_str()
            .expect("url");
        let hash = url.rsplit_once("?hash=").expect("hash").1;
        assert_eq!(hash.len(), 128);
        assert!(hash
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        let doc = docs.v3_doc(key).expect("doc");
        assert_eq!(hash, etag_of(&doc.bytes));
        assert_eq!(url, format!("/openapi/v3/{key}?hash={hash}"));
    }
}

#[test]
fn index_revalidates_with_if_modified_since() {
    let (_, h, _) = get("/openapi/v3", &[]);
    let lm = h["last-modified"].to_str().expect("ascii").to_string();
    assert!(lm.ends_with(" GMT"));
    let (status, h, b) = get("/openapi/v3", &[("if-modified-since", &lm)]);
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(b.is_empty());
    assert_eq!(h["last-modified"], lm.as_str());
    assert!(h.get("content-type").is_none());
    let (status, _, _) = get(
        "/openapi/v3",
        &[("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT")],
    );
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn group_version_document_caching_by_hash() {
    let url = url_of("apis/batch/v1");
    let hash = url.rsplit_once("?hash=").expect("hash").1.to_string();
    let (status, h, b) = get(&url, &[("accept", "application/json")]);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["cache-control"], "public, immutable");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["etag"], format!("\"{hash}\"").as_str());
    assert!(h["expires"].to_str().expect("ascii").ends_with(" UTC"));
    assert_eq!(h["vary"], "Accept");
    assert_eq!(h["content-length"], b.len().to_string().as_str());

    let (status, h, _) = get("/openapi/v3/apis/batch/v1", &[]);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["cache-control"], "no-cache, private");
    assert!(h.get("expires").is_none());

    let (status, h, b) = get("/openapi/v3/apis/batch/v1?hash=0000", &[]);
    assert_eq!(status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(h["location"], url.as_str());
    assert_eq!(h["content-length"], "0");
    assert!(b.is_empty());

    let (status, _, _) = get(&url, &[("if-none-match", &format!("\"{hash}\""))]);
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let (status, _, b) = get("/openapi/v3/apis/nope/v1", &[]);
    assert_eq!(
        (status, b.as_slice()),
        (StatusCode::NOT_FOUND, &b"404 page not found\n"[..])
    );
}

/// Every `$ref` value in `v` (recursively).
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    out.extend(x.as_str().map(str::to_string));
                } else {
                    refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_ref_resolves_in_every_document() {
    let docs = docs(&v());
    for (key, doc) in &docs.v3 {
        let d = json_of(&doc.bytes);
        assert_eq!(d["openapi"], "3.0.0");
        assert_eq!(d["info"]["version"], "v1.33.5");
        let mut all = Vec::new();
        refs(&d, &mut all);
        assert!(!all.is_empty(), "{key}");
        for r in all {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{key}: {r}"));
            assert!(
                d["components"]["schemas"].get(name).is_some(),
                "{key}: unresolved {r}"
            );
        }
    }
}

#[test]
fn job_schema_is_real_with_gvk() {
    let d = batch_v1();
    let job = &d["components"]["schemas"]["io.k8s.api.batch.v1.Job"];
    assert_eq!(
        job["x-kubernetes-group-version-kind"],
        serde_json::json!([{"group": "batch", "kind": "Job", "version": "v1"}])
    );
    assert!(
        job.get("required").is_none(),
        "kube never requires metadata"
    );
    assert_eq!(
        job["properties"]["spec"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.api.batch.v1.JobSpec"
    );
    let spec = &d["components"]["schemas"]["io.k8s.api.batch.v1.JobSpec"];
    assert_eq!(
        spec["description"],
        "JobSpec describes how the job execution will look like."
    );
    assert_eq!(spec["properties"]["backoffLimit"]["type"], "integer");
    let list = &d["components"]["schemas"]["io.k8s.api.batch.v1.JobList"];
    assert_eq!(
        list["x-kubernetes-group-version-kind"][0]["kind"],
        "JobList"
    );
    let pod_spec = &d["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"];
    assert_eq!(
        pod_spec["properties"]["containers"]["x-kubernetes-patch-merge-key"],
        "name"
    );
    assert_eq!(
        pod_spec["properties"]["containers"]["x-kubernetes-patch-strategy"],
        "merge"
    );
    assert_eq!(
        pod_spec["properties"]["volumes"]["x-kubernetes-patch-strategy"],
        "merge,retainKeys"
    );
    let container = &d["components"]["schemas"]["io.k8s.api.core.v1.Container"];
    assert_eq!(
        container["properties"]["env"]["x-kubernetes-list-map-keys"],
        serde_json::json!(["name"])
    );
    assert_eq!(
        container["properties"]["ports"]["x-kubernetes-patch-merge-key"],
        "containerPort"
    );
    let delete_options =
        &d["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"];
    let gvks = delete_options["x-kubernetes-group-version-kind"]
        .as_array()
        .expect("gvks");
    assert!(gvks.contains(
        &serde_json::json!({"group": "batch", "kind": "DeleteOptions", "version": "v1"})
    ));
}

#[test]
fn document_starts_like_the_capture() {
    let docs = docs(&v());
    let bytes = &docs.v3_doc("apis/batch/v1").expect("doc").bytes;
    let prefix = "{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"Kubernetes\",\"version\":\"v1.33.5\"},\"paths\":{\"/apis/batch/v1/\":{\"get\":{\"tags\":[\"batch_v1\"],\"description\":\"get available resources\",\"operationId\":\"getBatchV1APIResources\",\"responses\":{\"200\":{\"description\":\"OK\",\"content\":{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList\"}},\"application/vnd.kubernetes.protobuf\":{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList\"}},\"application/yaml\":{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList\"}}}},\"401\":{\"description\":\"Unauthorized\"}}}},\"/apis/batch/v1/cronjobs\":{\"get\":{\"tags\":[\"batch_v1\"],\"description\":\"list or watch objects of kind CronJob\",\"operationId\":\"listBatchV1CronJobForAllNamespaces\",\"responses\":{\"200\":{\"description\":\"OK\",\"content\":{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.api.batch.v1.CronJobList\"}},\"application/json;stream=watch\":{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.api.batch.v1.CronJobList\"}},\"application/vnd.kubernetes.protobuf\":{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.api.batch.v1.CronJobList\"}},\"application/vnd.kubernetes.protobuf;stream=watch\":{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.api.batch.v1.CronJobList\"}},\"application/yaml\":{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.api.batch.v1.CronJobList\"}}}},\"401\":{\"description\":\"Unauthorized\"}},\"x-kubernetes-action\":\"list\",\"x-kubernetes-group-version-kind\":{\"group\":\"batch\",\"version\":\"v1\",\"kind\":\"CronJob\"}},\"parameters\":[{\"name\":\"allowWatchBookmarks\",\"in\":\"query\",\"description\":\"allowWatchBookmarks requests watch events with type \\\"BOOKMARK\\\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion. Clients should not assume bookmarks are returned at any specific interval, nor may they assume the server will send any BOOKMARK event during a session. If this is not a watch, this field is ignored.\",\"schema\":{\"type\":\"boolean\",\"uniqueItems\":";
    let got = std::str::from_utf8(bytes).expect("utf-8");
    assert!(
        got.starts_with(prefix),
        "{}",
        &got[..prefix.len().min(got.len())]
    );
}

/// What kubectl's `supportsQueryParamV3` does: find a PATCH operation with the GVK and look
/// for the parameter among that operation's own parameters.
fn patch_supports(doc: &Value, gvk: (&str, &str, &str), param: &str) -> Option<bool> {
    let mut found = None;
    for item in doc["paths"].as_object()?.values() {
        let Some(op) = item.get("patch") else {
            continue;
        };
        let g = &op["x-kubernetes-group-version-kind"];
        if (
            g["group"].as_str(),
            g["version"].as_str(),
            g["kind"].as_str(),
        ) != (Some(gvk.0), Some(gvk.1), Some(gvk.2))
        {
            continue;
        }
        let has = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == param && p["in"] == "query"));
        // Go map order is random: every matching PATCH must carry it.
        found = Some(found.unwrap_or(true) && has);
    }
    found
}

#[test]
fn every_patch_operation_carries_field_validation() {
    let docs = docs(&v());
    let cases = [
        ("apis/batch/v1", ("batch", "v1", "Job")),
        ("apis/batch/v1", ("batch", "v1", "CronJob")),
        ("api/v1", ("", "v1", "ConfigMap")),
        ("api/v1", ("", "v1", "Pod")),
        ("api/v1", ("", "v1", "Namespace")),
        ("apis/apps/v1", ("apps", "v1", "Deployment")),
        ("apis/apps/v1", ("autoscaling", "v1", "Scale")),
    ];
    for (key, gvk) in cases {
        let d = json_of(&docs.v3_doc(key).expect("doc").bytes);
        assert_eq!(
            patch_supports(&d, gvk, "fieldValidation"),
            Some(true),
            "{key} {gvk:?}"
        );
    }
    let d = batch_v1();
    let patch = &d["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs/{name}"]["patch"];
    assert_eq!(patch["operationId"], "patchBatchV1NamespacedJob");
    assert_eq!(patch["x-kubernetes-action"], "patch");
    let names: Vec<&str> = patch["parameters"]
        .as_array()
        .expect("params")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["dryRun", "fieldManager", "fieldValidation", "force"]
    );
    let shared: Vec<&str> = d["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs/{name}"]
        ["parameters"]
        .as_array()
        .expect("path params")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(shared, ["name", "namespace", "pretty"]);
    let post = &d["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs"]["post"];
    assert_eq!(post["operationId"], "createBatchV1NamespacedJob");
    assert!(post["parameters"]
        .as_array()
        .expect("params")
        .iter()
        .any(|p| p["name"] == "fieldValidation"));
}

#[test]
fn operations_cover_the_registry() {
    let docs = docs(&v());
    let d = json_of(&docs.v3_doc("api/v1").expect("doc").bytes);
    let ids: Vec<String> = d["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|item| item.as_object().into_iter().flatten())
        .filter_map(|(_, op)| {
            op.get("operationId")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    for id in [
        "readCoreV1NamespacedPodLog",
        "connectCoreV1PostNamespacedPodExec",
        "connectCoreV1GetNamespacedPodAttach",
        "createCoreV1NamespacedServiceAccountToken",
        "replaceCoreV1NamespaceFinalize",
        "listCoreV1PodForAllNamespaces",
        "watchCoreV1NamespacedConfigMapList",
        "deletecollectionCoreV1NamespacedSecret",
        "patchCoreV1NamespaceStatus",
        "listCoreV1Node",
        "replaceCoreV1NodeStatus",
        "connectCoreV1GetNodeProxy",
        "connectCoreV1OptionsNodeProxy",
        "connectCoreV1DeleteNodeProxyWithPath",
    ] {
        assert!(ids.iter().any(|i| i == id), "missing {id}");
    }
    // nodes/proxy: every proxied method, in the OpenAPI path item's order, the `path` param
    // hoisted (query on `.../proxy`, path segment on `.../proxy/{path}`).
    for (path, place) in [
        ("/api/v1/nodes/{name}/proxy", "query"),
        ("/api/v1/nodes/{name}/proxy/{path}", "path"),
    ] {
        let item = d["paths"][path].as_object().expect("a proxy path item");
        let keys: Vec<&str> = item.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "get",
                "put",
                "post",
                "delete",
                "options",
                "head",
                "patch",
                "parameters"
            ],
            "{path}"
        );
        assert!(
            item["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "path" && p["in"] == place)),
            "{path}"
        );
        assert_eq!(item["get"]["x-kubernetes-action"], "connect");
    }
    assert!(
        !ids.iter().any(|i| i == "deletecollectionCoreV1Namespace"),
        "namespaces have no deletecollection"
    );
}

#[test]
fn v2_is_json_or_protobuf_by_accept() {
    let (status, h, b) = get("/openapi/v2", &[("accept", "application/json")]);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["content-type"], "application/json");
    let d = json_of(&b);
    assert_eq!(d["swagger"], "2.0");
    let mut all = Vec::new();
    refs(&d, &mut all);
    for r in all {
        let name = r
            .strip_prefix("#/definitions/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(d["definitions"].get(name).is_some(), "unresolved {r}");
    }
    let patch = &d["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs/{name}"]["patch"];
    assert!(patch["parameters"]
        .as_array()
        .expect("params")
        .iter()
        .any(|p| p["name"] == "fieldValidation" && p["type"] == "string"));
    assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Job");

    // Swagger 2.0 puts $ref beside the description, no allOf (kube's shape, kubectl 1.27 needs it).
    let spec = &d["definitions"]["io.k8s.api.batch.v1.Job"]["properties"]["spec"];
    assert_eq!(spec["$ref"], "#/definitions/io.k8s.api.batch.v1.JobSpec");
    assert!(spec.get("allOf").is_none());

    let proto = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
    let (status, h, b) = get("/openapi/v2", &[("accept", proto)]);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        h["content-type"],
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    );
    assert!(
        b.starts_with(&[0x0a, 3, b'2', b'.', b'0']),
        "Document.swagger first"
    );

    let (status, h, b) = get("/openapi/v2", &[("accept", "text/html")]);
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert!(b.is_empty());
    assert_eq!(h["vary"], "Accept");
}

/// Serve `discovery::handle` (404 elsewhere) over plain HTTP for real kubectl binaries.
async fn serve(version: ServerVersion) -> std::net::SocketAddr {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let version = version.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let resp = crate::discovery::handle(
                        req.method(),
                        req.uri().path(),
                        req.uri().query(),
                        req.headers(),
                        &version,
                    )
                    .unwrap_or_else(|| encode::error_response(&ApiError::page_not_found(), false));
                    async move { Ok::<_, std::convert::Infallible>(resp) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, svc)
                    .await;
            });
        }
    });
    addr
}

const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

fn kubectl(
    minor: u32,
    addr: std::net::SocketAddr,
    dir: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    let config = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n    namespace: default\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n"
    );
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, config).expect("write kubeconfig");
    std::process::Command::new(format!("{KUBECTL_DIR}/kubectl.1.{minor}"))
        .args(args)
        .arg(format!("--cache-dir={}", dir.join("cache").display()))
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", dir)
        .output()
        .expect("run kubectl")
}

/// Real kubectl 1.27–1.33: `explain job.spec` and a validated `create -f --dry-run=client`.
#[test]
fn real_kubectl_explain_and_validate() {
    if !std::path::Path::new(KUBECTL_DIR)
        .join("kubectl.1.32")
        .exists()
    {
        return; // no kubectl binaries on this machine
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    for minor in 27..=33u32 {
        let version = ServerVersion::parse(&format!("1.{minor}.4")).expect("version");
        let addr = rt.block_on(serve(version));
        let dir =
            std::env::temp_dir().join(format!("standin-openapi-{}-{minor}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        {
            let out = kubectl(minor, addr, &dir, &["explain", "job.spec"]);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "1.{minor} explain: {stderr}");
            assert!(stdout.contains("KIND:       Job"), "1.{minor}: {stdout}");
            assert!(
                stdout.contains("FIELD: spec <JobSpec>"),
                "1.{minor}: {stdout}"
            );
            assert!(
                stdout.contains("backoffLimit\t<integer>"),
                "1.{minor}: {stdout}"
            );
        }
        let job = dir.join("job.yaml");
        std::fs::write(&job, "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox\n").expect("write job");
        let job_arg = job.display().to_string();
        let out = kubectl(
            minor,
            addr,
            &dir,
            &["create", "-f", &job_arg, "--dry-run=client", "-o", "name"],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "1.{minor} create: {stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "job.batch/j");
        let out = kubectl(minor, addr, &dir, &["api-resources", "--api-group=batch"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "1.{minor} api-resources: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("cronjobs") && stdout.contains("cj"),
            "1.{minor}: {stdout}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
