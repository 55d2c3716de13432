//! The REST verbs on stored resources — get, list, create, update, patch, delete,
//! deletecollection — with kube-apiserver's decoding, defaulting, admission, validation,
//! optimistic concurrency, dry-run, finalizers and propagation semantics.
//!
//! Each verb returns a [`Reply`] (status, object, warnings) that the server renders; streaming
//! verbs (watch, logs, exec) live in their own modules.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use http::StatusCode;
use kube_decode::yaml::Mode;
use serde_json::{json, Map, Value};

use crate::auth::UserInfo;
use crate::defaults;
use crate::managed;
use crate::patch::{self, PatchType};
use crate::proto;
use crate::request::{ApiRequest, Query};
use crate::resources::{self, ResourceDef};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::{success_status, ApiError, ApiResult, Cause};
use crate::store::{Store, Write, WriteError};
use crate::table::{self, IncludeObject};
use crate::validate;

/// A non-streaming answer.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: Value,
    /// `Warning` messages.
    pub warnings: Vec<String>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Reply {
            status: StatusCode::OK,
            body,
            warnings: Vec::new(),
        }
    }
}

/// What a verb needs besides the parsed request.
pub struct Call<'a> {
    /// The parsed request.
    pub req: &'a ApiRequest,
    /// The (possibly impersonated) user.
    pub user: &'a UserInfo,
    /// `User-Agent`, for the default field manager.
    pub user_agent: Option<&'a str>,
    /// `Accept`, for Table negotiation.
    pub accept: Option<&'a str>,
    /// `Content-Type` of the body.
    pub content_type: Option<&'a str>,
    /// The request body.
    pub body: &'a [u8],
    /// The authorizer, for RBAC escalation checks on writes of roles and bindings (`None`:
    /// internal writes, which are not checked).
    pub authz: Option<&'a crate::auth::Authz>,
}

/// The API over a store: verbs plus the cluster-wide allocators they need.
pub struct Api {
    /// The object store.
    pub store: Arc<Store>,
    next_ip: AtomicU32,
    next_node_port: AtomicU32,
}

/// The ClusterIP and NodePort allocators as one create sees them. A dry run is shown the
/// addresses a real create would get next without reserving them (kube's dry-run allocators
/// hand out a free address and release nothing).
struct ServiceAllocator<'a> {
    api: &'a Api,
    dry_run: bool,
    /// Node ports handed out to this dry run so far (each port of a Service gets its own).
    node_ports_taken: u32,
}

/// The service-node-port-range kube-apiserver defaults to: 30000-32767.
const NODE_PORT_BASE: u32 = 30000;
const NODE_PORT_COUNT: u32 = 2768;

impl defaults::Allocator for ServiceAllocator<'_> {
    fn cluster_ip(&mut self) -> String {
        let n = if self.dry_run {
            self.api.next_ip.load(Ordering::Relaxed)
        } else {
            self.api.next_ip.fetch_add(1, Ordering::Relaxed)
        };
        format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff)
    }

    fn node_port(&mut self) -> u32 {
        let n = if self.dry_run {
            self.node_ports_taken += 1;
            self.api.next_node_port.load(Ordering::Relaxed) + self.node_ports_taken - 1
        } else {
            self.api.next_node_port.fetch_add(1, Ordering::Relaxed)
        };
        NODE_PORT_BASE + n % NODE_PORT_COUNT
    }
}

/// The current time, truncated to seconds as kube timestamps are.
pub fn now() -> DateTime<Utc> {
    let n = Utc::now();
    DateTime::from_timestamp(n.timestamp(), 0).unwrap_or(n)
}

/// RFC 3339 with seconds and `Z`, as kube renders `metav1.Time`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Five characters from kube's name-generation alphabet (`generateName`, pod suffixes).
pub fn random_suffix(n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    // uuid v4 bytes come from the OS RNG; 16 of them cover any suffix length used here.
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in uuid::Uuid::new_v4().as_bytes() {
            if out.len() == n {
                break;
            }
            out.push(ALPHABET[*b as usize % ALPHABET.len()] as char);
        }
    }
    out
}

fn has_generation(res: &ResourceDef) -> bool {
    matches!(
        res.kind,
        "Job"
            | "CronJob"
            | "Deployment"
            | "DaemonSet"
            | "ReplicaSet"
            | "ReplicationController"
            | "StatefulSet"
            | "PodDisruptionBudget"
            | "FlowSchema"
            | "PriorityLevelConfiguration"
    )
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        _ => unreachable!("metadata was just made an object"),
    }
}

fn media_type(ct: Option<&str>) -> String {
    ct.unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// kube-apiserver's `rest.BeforeCreate`/`BeforeUpdate` namespace check (`ValidNamespace`): a
/// namespaced object naming a namespace other than the request's is refused, whether it came
/// as a create or update body or out of a patch (a server-side apply configuration naming
/// `default` sent to another namespace).
fn check_body_namespace(res: &ResourceDef, obj: &Value, ns: &str) -> ApiResult<()> {
    if !res.namespaced {
        return Ok(());
    }
    match obj["metadata"]["namespace"].as_str() {
        Some(b) if !b.is_empty() && b != ns => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        _ => Ok(()),
    }
}

/// A decoded create/update body.
#[derive(Debug)]
pub struct Decoded {
    /// The object (of duplicate keys, the last).
    pub object: Value,
    /// Duplicate fields, as sigs.k8s.io/json's strict decoding reports them (`metadata.name`).
    pub duplicates: Vec<String>,
}

/// Decode a create/update body (JSON, YAML or protobuf) and check its kind against `res`.
///
/// The type meta is found as kube-apiserver's `SimpleMetaFactory` finds it: with Go's
/// case-insensitive `encoding/json`, so `Kind` or `\u{212a}ind` (KELVIN SIGN) supply the kind
/// and the last such key wins; the object itself is then read case-sensitively, so such a key
/// is also an unknown field (reported by `fieldValidation`).
pub fn decode_body(
    res: &ResourceDef,
    content_type: Option<&str>,
    body: &[u8],
) -> ApiResult<Decoded> {
    let mt = media_type(content_type);
    let kind = res.kind;
    let unrecognized = |detail: &str| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): couldn't get version/kind; json parse error: {detail}"
        ))
    };
    let mut go_meta = None;
    let mut duplicates = Vec::new();
    let mut v: Value = match mt.as_str() {
        "" | "application/json" => {
            if body.iter().all(u8::is_ascii_whitespace) {
                return Err(unrecognized("unexpected end of JSON input (<empty>)"));
            }
            let node = kube_decode::json::parse(body).map_err(|_| {
                let head: String = String::from_utf8_lossy(&body[..body.len().min(30)]).into();
                unrecognized(&format!("unexpected end of JSON input ({head} ...)"))
            })?;
            let tm = kube_decode::json::type_meta(&node).map_err(|e| unrecognized(&e.0))?;
            go_meta = Some(tm);
            duplicates = kube_decode::json::duplicates(&node);
            node.to_value()
        }
        "application/yaml" => {
            // As kube-apiserver: sigs.k8s.io/yaml's YAMLToJSON (yaml.v2, YAML 1.1), whose error
            // `transformDecodeError` reports with a summary of the body.
            let v = kube_decode::yaml::to_json(body, Mode::Kube).map_err(|e| {
                ApiError::bad_request(format!(
                    "the object provided is unrecognized (must be of type {kind}): {e} ({})",
                    summarize_data(body)
                ))
            })?;
            // An empty YAML body is JSON `null`, which decodes into the object as nothing.
            if v.is_null() {
                json!({})
            } else {
                v
            }
        }
        "application/vnd.kubernetes.protobuf" => proto::decode(body)?,
        _ => return Err(ApiError::unsupported_body()),
    };
    if !v.is_object() {
        return Err(unrecognized("cannot unmarshal non-object"));
    }
    let (body_kind, body_av) = match go_meta {
        Some(tm) => (
            tm.kind.unwrap_or_default(),
            tm.api_version.unwrap_or_default(),
        ),
        None => (
            v["kind"].as_str().unwrap_or("").to_string(),
            v["apiVersion"].as_str().unwrap_or("").to_string(),
        ),
    };
    let expected_av = res.api_version();
    if let Some((g, ver)) = res.body_gv {
        // Subresource bodies (TokenRequest, Scale, Eviction) carry their own group-version.
        let av = if g.is_empty() {
            ver.to_string()
        } else {
            format!("{g}/{ver}")
        };
        if v["apiVersion"].is_null() {
            v["apiVersion"] = json!(av);
        }
    } else {
        if !body_kind.is_empty() && body_kind != kind {
            return Err(ApiError::bad_request(format!(
                "{body_kind} in version \"{}\" cannot be handled as a {kind}: converting ({}.{body_kind}) to (core.{kind}): unknown conversion",
                if body_av.is_empty() { res.version } else { body_av.rsplit('/').next().unwrap_or("") },
                res.version
            )));
        }
        if !body_av.is_empty() && body_av != expected_av {
            return Err(ApiError::bad_request(format!(
                "{kind} in version \"{}\" cannot be handled as a {kind}: no kind \"{kind}\" is registered for version \"{body_av}\" in scheme \"pkg/runtime/scheme.go:100\"",
                res.version
            )));
        }
        v["kind"] = json!(kind);
        v["apiVersion"] = json!(expected_av);
    }
    Ok(Decoded {
        object: v,
        duplicates,
    })
}

/// apiserver's `summarizeData(body, 30)`: a body not starting with `{` is shown in hex.
fn summarize_data(body: &[u8]) -> String {
    let head = &body[..body.len().min(30)];
    let more = if body.len() > 30 { " ..." } else { "" };
    match body.first() {
        None => "<empty>".into(),
        Some(b'{') => format!("{}{more}", String::from_utf8_lossy(head)),
        Some(_) => format!("{}{more}", hex(head)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A server-side apply body, as kube-apiserver's apply patcher reads it: sigs.k8s.io/yaml's
/// `Unmarshal` into a `map[string]interface{}` (YAML 1.1 via yaml.v2, then JSON).
fn decode_apply_body(body: &[u8]) -> ApiResult<Value> {
    let v = kube_decode::yaml::to_json(body, Mode::Kube).map_err(|e| {
        ApiError::bad_request(format!(
            "error decoding YAML: error converting YAML to JSON: {e}"
        ))
    })?;
    let go_type = match &v {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null | Value::Object(_) => return Ok(v),
    };
    Err(ApiError::bad_request(format!(
        "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {go_type} into Go value of type map[string]interface {{}}"
    )))
}

/// Check unknown and mistyped fields against the typed schema (k8s-openapi), as
/// `fieldValidation` asks: `Strict` → 400, `Warn` (the default) → warnings, `Ignore` → nothing.
/// Unknown fields are then dropped from `obj`, as the decoder drops them (a `Warn` create
/// answers and stores the object without them).
fn field_validation(
    res: &ResourceDef,
    obj: &mut Value,
    duplicates: &[String],
    query: &Query,
) -> ApiResult<Vec<String>> {
    let mode = query.get("fieldValidation").unwrap_or("Warn");
    let mut unknown = Vec::new();
    let typed = crate::typed::check(res, obj, &mut unknown);
    for path in &unknown {
        drop_path(obj, path);
    }
    let kind = res.kind;
    let version = res.version;
    if let Err(msg) = typed {
        // Byte fields are decoded by Go's base64, whose error text clients see verbatim.
        let msg = go_base64_error(res, obj).unwrap_or(msg);
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: {msg}"
        )));
    }
    let findings: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .chain(
            duplicates
                .iter()
                .map(|f| format!("duplicate field \"{f}\"")),
        )
        .collect();
    match mode {
        "Strict" if !findings.is_empty() => {
            let list = findings;
            Err(ApiError::bad_request(format!(
                "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
                list.join(", ")
            )))
        }
        "Ignore" | "Strict" => Ok(Vec::new()),
        "Warn" => Ok(findings),
        other => Err(ApiError::bad_request(format!(
            "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
        ))),
    }
}

/// Go's `base64.StdEncoding` error for the first undecodable `data` value of a Secret
/// (`illegal base64 data at input byte N`), in body order as Go's decoder meets them.
fn go_base64_error(res: &ResourceDef, obj: &Value) -> Option<String> {
    if (res.group, res.kind) != ("", "Secret") {
        return None;
    }
    obj["data"].as_object()?.values().find_map(|v| {
        let at = go_base64_corrupt_at(v.as_str()?.as_bytes())?;
        Some(format!("illegal base64 data at input byte {at}"))
    })
}

/// Where Go's padded, non-strict base64 decoder reports `CorruptInputError`, if anywhere
/// (encoding/base64 `decodeQuantum`: newlines are skipped, `=` only ends a quantum).
fn go_base64_corrupt_at(src: &[u8]) -> Option<usize> {
    let is_symbol = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let skip_newlines = |mut i: usize| {
        while i < src.len() && (src[i] == b'\n' || src[i] == b'\r') {
            i += 1;
        }
        i
    };
    let mut si = 0;
    loop {
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                return (j != 0).then_some(si - j);
            }
            let c = src[si];
            si += 1;
            if is_symbol(c) {
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' || j < 2 {
                return Some(si - 1);
            }
            if j == 2 {
                si = skip_newlines(si);
                if si == src.len() {
                    return Some(src.len());
                }
                if src[si] != b'=' {
                    return Some(si - 1);
                }
                si += 1;
            }
            si = skip_newlines(si);
            return (si < src.len()).then_some(si);
        }
    }
}

/// Removes the field at a `serde_ignored` path (`a.b.0.c`, `?` segments skipped).
fn drop_path(obj: &mut Value, path: &str) {
    let segments: Vec<&str> = path.split('.').filter(|s| *s != "?").collect();
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    let mut cur = obj;
    for seg in parents {
        let next = match cur {
            Value::Object(m) => m.get_mut(*seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(m) = cur.as_object_mut() {
        m.shift_remove(*last);
    }
}

impl Api {
    /// An API over `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Api {
            store,
            next_ip: AtomicU32::new(1),
            next_node_port: AtomicU32::new(0),
        }
    }

    fn namespace_of(&self, call: &Call<'_>) -> String {
        call.req.namespace.clone().unwrap_or_default()
    }

    /// GET of one object (or its `status`).
    pub fn get(&self, call: &Call<'_>) -> ApiResult<Reply> {
        let req = call.req;
        let name = req.name.as_deref().unwrap_or("");
        let ns = self.namespace_of(call);
        let mut obj = self
            .store
            .get(req.main, &ns, name)
            .ok_or_else(|| ApiError::not_found(req.main, name))?;
        proto::order_keys(&mut obj);
        if let Some(version) = table::table_version(call.accept) {
            let include = IncludeObject::from_query(req.query.get("includeObject"))?;
            return Ok(Reply::ok(table::object_table(
                req.main,
                &obj,
                include,
                version,
                now(),
            )));
        }
        Ok(Reply::ok(obj))
    }

    /// GET of a collection.
    pub fn list(&self, call: &Call<'_>) -> ApiResult<Reply> {
        let req = call.req;
        let q = &req.query;
        let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
        let fields = FieldSelector::parse(req.main, q.get("fieldSelector").unwrap_or(""))?;
        let limit = q.int("limit")?.filter(|l| *l > 0).map(|l| l as usize);
        check_list_rv(&self.store, q)?;
        let (items, rv) = self.store.list(req.main, req.namespace.as_deref());
        let start = match q.get("continue").filter(|c| !c.is_empty()) {
            Some(token) => Some(decode_continue(token, self.store.compacted_rv())?),
            None => None,
        };
        let all_ns = req.main.namespaced && req.namespace.is_none();
        let key = |o: &Value| {
            let name = o["metadata"]["name"].as_str().unwrap_or("").to_string();
            if all_ns {
                format!(
                    "{}/{name}",
                    o["metadata"]["namespace"].as_str().unwrap_or("")
                )
            } else {
                name
            }
        };
        let mut matching = items
            .into_iter()
            .filter(|o| start.as_ref().is_none_or(|s| key(o).as_str() >= s.as_str()))
            .filter(|o| labels.matches(o["metadata"]["labels"].as_object()) && fields.matches(o));
        let mut page: Vec<Value> = Vec::new();
        for o in matching.by_ref() {
            if limit.is_some_and(|l| page.len() >= l) {
                page.push(o);
                break;
            }
            page.push(o);
        }
        let mut meta = Map::new();
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        if let Some(l) = limit {
            if page.len() > l {
                page.truncate(l);
                let last = page.last().map(key).unwrap_or_default();
                meta.insert("continue".into(), json!(encode_continue(rv, &last)));
                let remaining = 1 + matching.count();
                if labels.is_empty() && q.get("fieldSelector").unwrap_or("").is_empty() {
                    meta.insert("remainingItemCount".into(), json!(remaining));
                }
            }
        }
        for o in page.iter_mut() {
            proto::order_keys(o);
        }
        if let Some(version) = table::table_version(call.accept) {
            let include = IncludeObject::from_query(q.get("includeObject"))?;
            return Ok(Reply::ok(table::list_table(
                req.main,
                &page,
                Value::Object(meta),
                include,
                version,
                now(),
            )));
        }
        // Items of a typed list carry no TypeMeta (Table rows above still need it).
        strip_type_meta(&mut page);
        Ok(Reply::ok(json!({
            "kind": req.main.list_kind(),
            "apiVersion": req.main.api_version(),
            "metadata": meta,
            "items": page,
        })))
    }

    fn check_namespace_writable(&self, res: &ResourceDef, ns: &str, name: &str) -> ApiResult<()> {
        if !res.namespaced {
            return Ok(());
        }
        let nsres = namespaces();
        let namespace = self
            .store
            .get(nsres, "", ns)
            .ok_or_else(|| ApiError::namespace_not_found(ns))?;
        if namespace["status"]["phase"] == "Terminating"
            || !namespace["metadata"]["deletionTimestamp"].is_null()
        {
            let mut d = Map::new();
            d.insert("name".into(), json!(name));
            d.insert("kind".into(), json!(res.plural));
            d.insert(
                "causes".into(),
                json!([{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]),
            );
            return Err(ApiError::forbidden_details(
                format!(
                    "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                    res.plural,
                ),
                d,
            ));
        }
        Ok(())
    }

    /// POST to a collection.
    pub fn create(&self, call: &Call<'_>) -> ApiResult<Reply> {
        let req = call.req;
        let res = req.main;
        let Decoded {
            object: mut obj,
            duplicates,
        } = decode_body(res, call.content_type, call.body)?;
        let warnings = field_validation(res, &mut obj, &duplicates, &req.query)?;
        let ns = self.namespace_of(call);
        let dry_run = req.query.dry_run()?;
        let created = self.create_object(res, &ns, obj.take(), call, dry_run)?;
        Ok(Reply {
            status: StatusCode::CREATED,
            body: created,
            warnings,
        })
    }

    /// Create `obj` in `ns` as `call`'s user: defaults, validation, admission, store.
    pub fn create_object(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        mut obj: Value,
        call: &Call<'_>,
        dry_run: bool,
    ) -> ApiResult<Value> {
        check_body_namespace(res, &obj, ns)?;
        let t = now();
        {
            let meta = meta_mut(&mut obj);
            if res.namespaced {
                meta.insert("namespace".into(), json!(ns));
            } else {
                meta.remove("namespace");
            }
            let name = meta
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if name.is_empty() {
                if let Some(prefix) = meta
                    .get("generateName")
                    .and_then(Value::as_str)
                    .filter(|p| !p.is_empty())
                {
                    let generated = format!("{prefix}{}", random_suffix(5));
                    meta.insert("name".into(), json!(generated));
                }
            }
            for k in [
                "resourceVersion",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "selfLink",
            ] {
                meta.remove(k);
            }
            meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
            meta.insert("creationTimestamp".into(), json!(timestamp(t)));
            if has_generation(res) {
                meta.insert("generation".into(), json!(1));
            } else {
                meta.remove("generation");
            }
        }
        // The node strategy keeps the status a kubelet registers with; the others reset it.
        if let Some(m) = obj.as_object_mut().filter(|_| res.kind != "Node") {
            m.remove("status");
        }
        defaults::apply(res, &mut obj);
        if let Some(authz) = call.authz {
            crate::rbac::check_escalation(authz, call.user, res, ns, &obj, None)?;
        }
        validate::validate(res, &obj)?;
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        self.check_namespace_writable(res, ns, &name)?;
        // Field management sees the object as decoded and defaulted, before the strategy's
        // PrepareForCreate (Job selector) and admission add their fields.
        let manager = managed::manager_name(call.req.query.get("fieldManager"), call.user_agent);
        managed::update_managed_fields(None, &mut obj, &manager, &res.api_version(), None, t);
        if res.kind == "Job" && res.group == "batch" {
            defaults::job_on_create(&mut obj);
        }
        if res.kind == "Pod" {
            self.check_service_account(ns, &obj)?;
        }
        let suffix = random_suffix(5);
        let mut alloc = ServiceAllocator {
            api: self,
            dry_run,
            node_ports_taken: 0,
        };
        defaults::admit_create(res, &mut obj, &suffix, &mut alloc);
        proto::order_keys(&mut obj);
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        if dry_run {
            if self.store.get(res, ns, &name).is_some() {
                return Err(ApiError::already_exists(res, &name));
            }
            return Ok(obj);
        }
        let stored = self
            .store
            .write(res, ns, &name, Write::Create(obj), None)
            .map_err(|e| store_error(e, res, &name))?;
        Ok(stored)
    }

    fn check_service_account(&self, ns: &str, pod: &Value) -> ApiResult<()> {
        let sa = pod["spec"]["serviceAccountName"]
            .as_str()
            .filter(|s| !s.is_empty());
        let Some(sa) = sa else { return Ok(()) };
        if sa == "default" {
            return Ok(());
        }
        let sares = resources::find("", "v1", "serviceaccounts")
            .ok_or_else(|| ApiError::internal("serviceaccounts not registered"))?;
        if self.store.get(sares, ns, sa).is_none() {
            let name = pod["metadata"]["name"].as_str().unwrap_or("");
            let mut d = Map::new();
            d.insert("name".into(), json!(name));
            d.insert("kind".into(), json!("pods"));
            return Err(ApiError::forbidden_details(
                format!("pods \"{name}\" is forbidden: error looking up service account {ns}/{sa}: serviceaccount \"{sa}\" not found"),
                d,
            ));
        }
        Ok(())
    }

    /// PUT of an object (or its `status`).
    pub fn update(&self, call: &Call<'_>) -> ApiResult<Reply> {
        let req = call.req;
        let res = req.main;
        let name = req.name.clone().unwrap_or_default();
        let ns = self.namespace_of(call);
        let Decoded {
            object: mut obj,
            duplicates,
        } = decode_body(res, call.content_type, call.body)?;
        let warnings = field_validation(res, &mut obj, &duplicates, &req.query)?;
        let body_name = obj["metadata"]["name"].as_str().unwrap_or("");
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        check_body_namespace(res, &obj, &ns)?;
        let old = self
            .store
            .get(res, &ns, &name)
            .ok_or_else(|| ApiError::not_found(res, &name))?;
        let expected = obj["metadata"]["resourceVersion"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if let Some(e) = &expected {
            if old["metadata"]["resourceVersion"].as_str() != Some(e.as_str()) {
                return Err(ApiError::conflict(res, &name));
            }
        }
        let dry_run = req.query.dry_run()?;
        let stored = self.replace(call, &old, obj, expected.as_deref(), dry_run)?;
        Ok(Reply {
            status: StatusCode::OK,
            body: stored,
            warnings,
        })
    }

    /// Store `new` in place of `old`: carry system fields over, reset status or spec according
    /// to the subresource, default, validate, manage fields, honour finalizers.
    fn replace(
        &self,
        call: &Call<'_>,
        old: &Value,
        mut new: Value,
        expected_rv: Option<&str>,
        dry_run: bool,
    ) -> ApiResult<Value> {
        let req = call.req;
        let res = req.main;
        let sub = req.subresource();
        let name = old["metadata"]["name"].as_str().unwrap_or("").to_string();
        let ns = old["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        check_body_namespace(res, &new, &ns)?;
        new["kind"] = json!(res.kind);
        new["apiVersion"] = json!(res.api_version());
        if sub == "status" {
            let status = new.get("status").cloned();
            new = old.clone();
            match status {
                Some(s) => new["status"] = s,
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        } else if let Some(status) = old.get("status") {
            new["status"] = status.clone();
        }
        {
            let old_meta = old["metadata"].as_object().cloned().unwrap_or_default();
            let meta = meta_mut(&mut new);
            for k in [
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ] {
                match old_meta.get(k) {
                    Some(v) => meta.insert(k.to_string(), v.clone()),
                    None => meta.remove(k),
                };
            }
            meta.remove("resourceVersion");
            if sub != "status" && res.kind != "Namespace" {
                // managedFields sent by the client are kept only when non-empty lists.
            }
        }
        if let Some(m) = new["metadata"].as_object_mut() {
            if m.get("managedFields").is_none_or(Value::is_null) {
                if let Some(mf) = old["metadata"].get("managedFields") {
                    m.insert("managedFields".into(), mf.clone());
                }
            }
        }
        defaults::apply(res, &mut new);
        if res.kind == "Namespace" {
            new["spec"] = old["spec"].clone();
            if let Some(s) = old.get("status") {
                new["status"] = s.clone();
            }
        }
        if has_generation(res) && sub.is_empty() && old.get("spec") != new.get("spec") {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            new["metadata"]["generation"] = json!(g);
        }
        if let Some(authz) = call.authz {
            crate::rbac::check_escalation(authz, call.user, res, &ns, &new, Some(old))?;
        }
        validate::validate(res, &new)?;
        validate::role_ref_unchanged(res, old, &new)?;
        immutable(res, old, &new)?;
        let t = now();
        let manager = managed::manager_name(req.query.get("fieldManager"), call.user_agent);
        let subresource = (!sub.is_empty()).then_some(sub);
        managed::update_managed_fields(
            Some(old),
            &mut new,
            &manager,
            &res.api_version(),
            subresource,
            t,
        );
        if dry_run {
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
            proto::order_keys(&mut new);
            return Ok(new);
        }
        proto::order_keys(&mut new);
        let deleting = !new["metadata"]["deletionTimestamp"].is_null();
        let no_finalizers = new["metadata"]["finalizers"]
            .as_array()
            .is_none_or(Vec::is_empty);
        if deleting && no_finalizers && res.kind != "Namespace" {
            let gone = self
                .store
                .write(res, &ns, &name, Write::Update(new), expected_rv)
                .map_err(|e| store_error(e, res, &name))?;
            let _ = self.store.write(res, &ns, &name, Write::Delete, None);
            return Ok(gone);
        }
        self.store
            .write(res, &ns, &name, Write::Update(new), expected_rv)
            .map_err(|e| store_error(e, res, &name))
    }

    /// PATCH (JSON, merge, strategic merge, server-side apply).
    pub fn patch(&self, call: &Call<'_>) -> ApiResult<Reply> {
        let req = call.req;
        let res = req.main;
        let name = req.name.clone().unwrap_or_default();
        let ns = self.namespace_of(call);
        let pt = PatchType::from_content_type(call.content_type)?;
        let dry_run = req.query.dry_run()?;
        let live = self.store.get(res, &ns, &name);
        if pt == PatchType::Apply {
            return self.apply(call, live, dry_run);
        }
        let live = live.ok_or_else(|| ApiError::not_found(res, &name))?;
        let mut patched = patch::apply_patch(req.res, &live, pt, call.body)?;
        let expected = patched["metadata"]["resourceVersion"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if let Some(e) = &expected {
            if live["metadata"]["resourceVersion"].as_str() != Some(e.as_str()) {
                return Err(ApiError::conflict(res, &name));
            }
        }
        let warnings = field_validation(res, &mut patched, &[], &req.query)?;
        let expected_rv = live["metadata"]["resourceVersion"]
            .as_str()
            .map(str::to_string);
        let stored = self.replace(call, &live, patched, expected_rv.as_deref(), dry_run)?;
        Ok(Reply {
            status: StatusCode::OK,
            body: stored,
            warnings,
        })
    }

    fn apply(&self, call: &Call<'_>, live: Option<Value>, dry_run: bool) -> ApiResult<Reply> {
        let req = call.req;
        let res = req.main;
        let name = req.name.clone().unwrap_or_default();
        let ns = self.namespace_of(call);
        let Some(manager) = req.query.get("fieldManager").filter(|m| !m.is_empty()) else {
            return Err(ApiError::unprocessable(managed::MISSING_FIELD_MANAGER));
        };
        let applied = decode_apply_body(call.body)?;
        if !applied.is_object() {
            return Err(ApiError::bad_request(
                "the body of the apply request must be an object",
            ));
        }
        let force = req.query.bool("force")?;
        let merged =
            managed::server_side_apply(req.res, live.as_ref(), &applied, manager, force, now())?;
        match live {
            None => {
                let mut obj = merged;
                obj["metadata"]["name"] = json!(name);
                let mf = obj["metadata"].get("managedFields").cloned();
                let created =
                    self.create_object_keeping_fields(res, &ns, obj, call, dry_run, mf)?;
                Ok(Reply {
                    status: StatusCode::CREATED,
                    body: created,
                    warnings: Vec::new(),
                })
            }
            Some(live) => {
                let rv = live["metadata"]["resourceVersion"]
                    .as_str()
                    .map(str::to_string);
                let stored =
                    self.replace_keeping_fields(call, &live, merged, rv.as_deref(), dry_run)?;
                Ok(Reply::ok(stored))
            }
        }
    }

    fn create_object_keeping_fields(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        obj: Value,
        call: &Call<'_>,
        dry_run: bool,
        managed_fields: Option<Value>,
    ) -> ApiResult<Value> {
        let mut created = self.create_object(res, ns, obj, call, true)?;
        if let Some(mf) = managed_fields {
            created["metadata"]["managedFields"] = mf;
        }
        if dry_run {
            return Ok(created);
        }
        let name = created["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        self.store
            .write(res, ns, &name, Write::Create(created), None)
            .map_err(|e| store_error(e, res, &name))
    }

    fn replace_keeping_fields(
        &self,
        call: &Call<'_>,
        live: &Value,
        merged: Value,
        rv: Option<&str>,
        dry_run: bool,
    ) -> ApiResult<Value> {
        let mf = merged["metadata"].get("managedFields").cloned();
        let mut out = self.replace(call, live, merged, rv, true)?;
        if let Some(mf) = mf {
            out["metadata"]["managedFields"] = mf;
        }
        if dry_run {
            return Ok(out);
        }
        let res = call.req.main;
        let name = out["metadata"]["name"].as_str().unwrap_or("").to_string();
        let ns = out["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if let Some(m) = out["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
        self.store
            .write(res, &ns, &name, Write::Update(out), rv)
            .map_err(|e| store_error(e, res, &name))
    }

    /// DELETE of one object.
    pub fn delete(&self, call: &Call<'_>) -> ApiResult<Reply> {
        let req = call.req;
        let res = req.main;
        let name = req.name.clone().unwrap_or_default();
        let ns = self.namespace_of(call);
        let opts = DeleteOptions::parse(call.body, &req.query)?;
        self.delete_one(res, &ns, &name, &opts)
    }

    /// Delete one object with options; the answer kube-apiserver gives for it.
    pub fn delete_one(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<Reply> {
        let obj = self
            .store
            .get(res, ns, name)
            .ok_or_else(|| ApiError::not_found(res, name))?;
        if let Some(rv) = &opts.precondition_rv {
            let actual = obj["metadata"]["resourceVersion"].as_str().unwrap_or("");
            if rv != actual {
                let mut d = Map::new();
                d.insert("name".into(), json!(name));
                d.insert("kind".into(), json!(res.kind));
                return Err(ApiError {
                    code: 409,
                    reason: Some("Conflict"),
                    message: format!("Operation cannot be fulfilled on {} \"{name}\": the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({actual}). The object might have been modified", res.kind),
                    details: Some(d),
                    plain_text: false,
                    headers: Vec::new(),
                });
            }
        }
        if let Some(uid) = &opts.precondition_uid {
            let actual = obj["metadata"]["uid"].as_str().unwrap_or("");
            if uid != actual {
                return Err(ApiError::conflict(res, name));
            }
        }
        let mut warnings = Vec::new();
        let policy = match opts.propagation.as_deref() {
            Some(p) => p.to_string(),
            None if res.kind == "Job" && res.group == "batch" => {
                warnings.push("child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning".to_string());
                "Orphan".to_string()
            }
            None => "Background".to_string(),
        };
        let t = timestamp(now());
        let already_deleting = !obj["metadata"]["deletionTimestamp"].is_null();
        let has_finalizers = obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if res.kind == "Namespace" || policy == "Foreground" || has_finalizers {
            let mut o = obj.clone();
            if !already_deleting {
                o["metadata"]["deletionTimestamp"] = json!(t);
                // Namespaces are not gracefully deleted: no grace period is recorded.
                if res.kind != "Namespace" {
                    o["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                }
                // Setting deletionTimestamp bumps a generation-tracking object's generation.
                if let Some(g) = o["metadata"]["generation"].as_i64().filter(|g| *g > 0) {
                    o["metadata"]["generation"] = json!(g + 1);
                }
            }
            if res.kind == "Namespace" {
                o["status"]["phase"] = json!("Terminating");
            }
            if policy == "Foreground" {
                let fins = meta_mut(&mut o)
                    .entry("finalizers")
                    .or_insert_with(|| json!([]));
                if let Some(a) = fins.as_array_mut() {
                    if !a.iter().any(|f| f == "foregroundDeletion") {
                        a.push(json!("foregroundDeletion"));
                    }
                }
            }
            proto::order_keys(&mut o);
            if opts.dry_run {
                return Ok(Reply {
                    status: StatusCode::OK,
                    body: o,
                    warnings,
                });
            }
            let stored = self
                .store
                .write(res, ns, name, Write::Update(o), None)
                .map_err(|e| store_error(e, res, name))?;
            return Ok(Reply {
                status: StatusCode::OK,
                body: stored,
                warnings,
            });
        }
        if policy == "Orphan" && !opts.dry_run {
            // As the orphan finalizer does: mark the owner deleting first, so controllers
            // (the job controller) stop acting on it before its dependents are released.
            let mut marking = obj.clone();
            marking["metadata"]["deletionTimestamp"] = json!(t);
            marking["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            // The finalizer keeps the garbage collector from removing it meanwhile.
            meta_mut(&mut marking).insert("finalizers".into(), json!(["orphan"]));
            let marked = self
                .store
                .write(res, ns, name, Write::Update(marking), None)
                .map_err(|e| store_error(e, res, name))?;
            self.orphan_dependents(&obj);
            let _ = self.store.write(res, ns, name, Write::Delete, None);
            // kube-apiserver answers with the object as the orphan finalizer holds it.
            let mut body = marked;
            proto::order_keys(&mut body);
            return Ok(Reply {
                status: StatusCode::OK,
                body,
                warnings,
            });
        }
        let uid = obj["metadata"]["uid"].as_str().unwrap_or("").to_string();
        if opts.dry_run {
            return Ok(Reply {
                status: StatusCode::OK,
                body: success_status(res, name, &uid),
                warnings,
            });
        }
        let last = self
            .store
            .write(res, ns, name, Write::Delete, None)
            .map_err(|e| store_error(e, res, name))?;
        if res.kind == "Pod" {
            let mut o = last;
            o["metadata"]["deletionTimestamp"] = json!(t);
            o["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            proto::order_keys(&mut o);
            return Ok(Reply {
                status: StatusCode::OK,
                body: o,
                warnings,
            });
        }
        Ok(Reply {
            status: StatusCode::OK,
            body: success_status(res, name, &uid),
            warnings,
        })
    }

    /// Remove ownerReferences pointing at `owner` from every object.
    pub fn orphan_dependents(&self, owner: &Value) {
        let uid = owner["metadata"]["uid"].as_str().unwrap_or("");
        for ((group, plural, ns, name), mut o) in self.store.all() {
            let Some(refs) = o["metadata"]["ownerReferences"].as_array() else {
                continue;
            };
            if !refs.iter().any(|r| r["uid"] == uid) {
                continue;
            }
            let kept: Vec<Value> = refs.iter().filter(|r| r["uid"] != uid).cloned().collect();
            if let Some(m) = o["metadata"].as_object_mut() {
                if kept.is_empty() {
                    m.remove("ownerReferences");
                } else {
                    m.insert("ownerReferences".into(), json!(kept));
                }
            }
            if let Some(res) = stored_resource(group, plural) {
                let _ = self.store.write(res, &ns, &name, Write::Update(o), None);
            }
        }
    }

    /// DELETE of a collection: the `<Kind>List` of what was deleted.
    pub fn delete_collection(&self, call: &Call<'_>) -> ApiResult<Reply> {
        let req = call.req;
        let res = req.main;
        let labels = LabelSelector::parse(req.query.get("labelSelector").unwrap_or(""))?;
        let fields = FieldSelector::parse(res, req.query.get("fieldSelector").unwrap_or(""))?;
        let opts = DeleteOptions::parse(call.body, &req.query)?;
        let (items, _) = self.store.list(res, req.namespace.as_deref());
        let mut deleted = Vec::new();
        let mut warnings = Vec::new();
        for o in items
            .into_iter()
            .filter(|o| labels.matches(o["metadata"]["labels"].as_object()) && fields.matches(o))
        {
            let name = o["metadata"]["name"].as_str().unwrap_or("").to_string();
            let ns = o["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string();
            match self.delete_one(res, &ns, &name, &opts) {
                Ok(r) => {
                    warnings.extend(r.warnings);
                    let mut o = if r.body["kind"] == "Status" {
                        o
                    } else {
                        r.body
                    };
                    proto::order_keys(&mut o);
                    deleted.push(o);
                }
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        warnings.dedup();
        strip_type_meta(&mut deleted);
        Ok(Reply {
            status: StatusCode::OK,
            body: json!({
                "kind": res.list_kind(),
                "apiVersion": res.api_version(),
                "metadata": {"resourceVersion": self.store.current_rv().to_string()},
                "items": deleted,
            }),
            warnings,
        })
    }
}

impl Api {
    /// `deployments/scale`: GET, PUT and PATCH of an `autoscaling/v1` Scale view of
    /// `spec.replicas`.
    pub fn scale(&self, call: &Call<'_>) -> ApiResult<Reply> {
        let req = call.req;
        let res = req.main;
        let name = req.name.clone().unwrap_or_default();
        let ns = self.namespace_of(call);
        let live = self
            .store
            .get(res, &ns, &name)
            .ok_or_else(|| ApiError::not_found(res, &name))?;
        let current = scale_of(&live);
        let wanted = match req.verb {
            crate::request::Verb::Get => return Ok(Reply::ok(current)),
            crate::request::Verb::Update => {
                let body: Value = serde_json::from_slice(call.body)
                    .map_err(|e| ApiError::bad_request(format!("couldn't decode Scale: {e}")))?;
                body
            }
            crate::request::Verb::Patch => {
                let pt = PatchType::from_content_type(call.content_type)?;
                patch::apply_patch(req.res, &current, pt, call.body)?
            }
            _ => return Err(ApiError::method_not_allowed()),
        };
        if let Some(rv) = wanted["metadata"]["resourceVersion"]
            .as_str()
            .filter(|s| !s.is_empty())
        {
            if live["metadata"]["resourceVersion"].as_str() != Some(rv) {
                return Err(ApiError::conflict(res, &name));
            }
        }
        let Some(replicas) = wanted["spec"]["replicas"].as_i64().filter(|r| *r >= 0) else {
            return Err(ApiError::unprocessable(format!(
                "Scale.autoscaling \"{name}\" is invalid: spec.replicas: Invalid value: {}: must be greater than or equal to 0",
                wanted["spec"]["replicas"]
            )));
        };
        let mut updated = live.clone();
        updated["spec"]["replicas"] = json!(replicas);
        let g = live["metadata"]["generation"].as_i64().unwrap_or(1);
        if live["spec"]["replicas"] != json!(replicas) {
            updated["metadata"]["generation"] = json!(g + 1);
        }
        let manager = managed::manager_name(req.query.get("fieldManager"), call.user_agent);
        managed::update_managed_fields(
            Some(&live),
            &mut updated,
            &manager,
            &res.api_version(),
            Some("scale"),
            now(),
        );
        if req.query.dry_run()? {
            return Ok(Reply::ok(scale_of(&updated)));
        }
        let rv = live["metadata"]["resourceVersion"]
            .as_str()
            .map(str::to_string);
        let stored = self
            .store
            .write(res, &ns, &name, Write::Update(updated), rv.as_deref())
            .map_err(|e| store_error(e, res, &name))?;
        Ok(Reply::ok(scale_of(&stored)))
    }
}

/// The Scale view of a Deployment (a ReplicationController's selector is the label map itself).
fn scale_of(obj: &Value) -> Value {
    let m = &obj["metadata"];
    let labels = if obj["kind"] == "ReplicationController" {
        &obj["spec"]["selector"]
    } else {
        &obj["spec"]["selector"]["matchLabels"]
    };
    let selector: Vec<String> = labels
        .as_object()
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
            "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]},
        "spec": {"replicas": obj["spec"]["replicas"]},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector.join(",")}
    })
}

/// Drops `kind` and `apiVersion` from the items of a typed list, as kube-apiserver does.
fn strip_type_meta(items: &mut [Value]) {
    for o in items.iter_mut().filter_map(Value::as_object_mut) {
        o.shift_remove("kind");
        o.shift_remove("apiVersion");
    }
}

/// The stored resource for a store key's group and plural.
pub fn stored_resource(group: &str, plural: &str) -> Option<&'static ResourceDef> {
    resources::RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural && r.subresource.is_empty())
}

fn namespaces() -> &'static ResourceDef {
    static NS: std::sync::OnceLock<&'static ResourceDef> = std::sync::OnceLock::new();
    NS.get_or_init(|| {
        resources::find("", "v1", "namespaces").expect("namespaces must be in the registry")
    })
}

fn store_error(e: WriteError, res: &ResourceDef, name: &str) -> ApiError {
    match e {
        WriteError::Exists => ApiError::already_exists(res, name),
        WriteError::Missing => ApiError::not_found(res, name),
        WriteError::Conflict => ApiError::conflict(res, name),
    }
}

fn immutable(res: &ResourceDef, old: &Value, new: &Value) -> ApiResult<()> {
    let name = new["metadata"]["name"].as_str().unwrap_or("");
    let changed = |path: &[&str]| {
        let get = |v: &Value| path.iter().fold(v.clone(), |cur, p| cur[*p].clone());
        get(old) != get(new)
    };
    let cause = |field: &str, msg: &str| {
        ApiError::invalid(
            res,
            name,
            vec![Cause::new("FieldValueInvalid", msg.to_string(), field)],
        )
    };
    match (res.group, res.kind) {
        ("batch", "Job") if changed(&["spec", "template"]) => {
            Err(cause("spec.template", "Invalid value: field is immutable"))
        }
        ("batch", "Job") if changed(&["spec", "selector"]) => {
            Err(cause("spec.selector", "Invalid value: field is immutable"))
        }
        ("", "Pod") => {
            let strip = |v: &Value| {
                let mut s = v["spec"].clone();
                if let Some(cs) = s["containers"].as_array_mut() {
                    for c in cs {
                        if let Some(m) = c.as_object_mut() {
                            m.remove("image");
                        }
                    }
                }
                if let Some(m) = s.as_object_mut() {
                    for k in [
                        "activeDeadlineSeconds",
                        "tolerations",
                        "terminationGracePeriodSeconds",
                    ] {
                        m.remove(k);
                    }
                }
                s
            };
            if strip(old) != strip(new) {
                return Err(ApiError::invalid(
                    res,
                    name,
                    vec![Cause::new(
                        "FieldValueForbidden",
                        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
                        "spec",
                    )],
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// DeleteOptions from a body (JSON or protobuf) and query parameters.
#[derive(Debug, Default, Clone)]
pub struct DeleteOptions {
    /// `Foreground`, `Background` or `Orphan`.
    pub propagation: Option<String>,
    /// `preconditions.resourceVersion`.
    pub precondition_rv: Option<String>,
    /// `preconditions.uid`.
    pub precondition_uid: Option<String>,
    /// `dryRun: ["All"]`.
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Parse options; the query overrides nothing the body set, as kube merges them.
    pub fn parse(body: &[u8], query: &Query) -> ApiResult<Self> {
        let mut o = DeleteOptions::default();
        if !body.iter().all(u8::is_ascii_whitespace) {
            let v: Value = if body.starts_with(b"k8s\0") {
                proto::decode(body)?
            } else {
                serde_json::from_slice(body).map_err(|e| {
                    ApiError::bad_request(format!("couldn't decode DeleteOptions: {e}"))
                })?
            };
            o.propagation = v["propagationPolicy"].as_str().map(str::to_string);
            if v["orphanDependents"] == json!(true) {
                o.propagation = Some("Orphan".into());
            }
            o.precondition_rv = v["preconditions"]["resourceVersion"]
                .as_str()
                .map(str::to_string);
            o.precondition_uid = v["preconditions"]["uid"].as_str().map(str::to_string);
            o.dry_run = v["dryRun"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "All"));
        }
        if let Some(p) = query.get("propagationPolicy") {
            o.propagation = Some(p.to_string());
        }
        if query
            .get("orphanDependents")
            .and_then(crate::request::parse_bool)
            == Some(true)
        {
            o.propagation = Some("Orphan".into());
        }
        if let Some(p) = &o.propagation {
            if !matches!(p.as_str(), "Foreground" | "Background" | "Orphan") {
                return Err(ApiError::unprocessable(format!(
                    "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                )));
            }
        }
        o.dry_run |= query.dry_run()?;
        Ok(o)
    }
}

/// Validate `resourceVersion` / `resourceVersionMatch` on a list.
fn check_list_rv(store: &Store, q: &Query) -> ApiResult<()> {
    let Some(rv) = q.get("resourceVersion").filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let n: u64 = rv.parse().map_err(|_| {
        ApiError::internal_plain(format!("resourceVersion: Invalid value: \"{rv}\": strconv.ParseUint: parsing \"{rv}\": invalid syntax"))
    })?;
    if q.get("resourceVersionMatch") == Some("Exact") && n < store.compacted_rv() {
        // Exactly the text of watch/02 #5 (no requested/current numbers).
        return Err(ApiError::gone(
            "The resourceVersion for the provided list is too old.",
        ));
    }
    if n > store.current_rv() {
        return Err(ApiError::too_large_resource_version());
    }
    Ok(())
}

fn encode_continue(rv: u64, last_key: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{last_key}\u{0}")});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

fn decode_continue(token: &str, compacted: u64) -> ApiResult<String> {
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(token))
        .map_err(|e| ApiError::bad_request(format!("invalid continue token: {e}")))?;
    let v: Value = serde_json::from_slice(&raw).map_err(|e| {
        ApiError::bad_request(format!(
            "invalid continue token: continue key is not valid: {e}"
        ))
    })?;
    let rv = v["rv"].as_u64().unwrap_or(0);
    if rv < compacted {
        return Err(ApiError::gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."));
    }
    let start = v["start"].as_str().unwrap_or("");
    Ok(start.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dry-run create of a Service is shown the ClusterIP (and node ports) a real create
    /// gets, without reserving them; a real create reserves them.
    #[test]
    fn dry_run_service_is_allocated_but_not_reserved() {
        let api = Api::new(Arc::new(Store::new()));
        let svc = resources::find("", "v1", "services").expect("services");
        let create = |dry_run: bool| {
            let mut obj = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 443}]}});
            defaults::apply(svc, &mut obj);
            let mut alloc = ServiceAllocator {
                api: &api,
                dry_run,
                node_ports_taken: 0,
            };
            defaults::admit_create(svc, &mut obj, "abcde", &mut alloc);
            obj
        };
        let dry = create(true);
        assert_eq!(dry["spec"]["clusterIP"], "10.96.0.1");
        assert_eq!(dry["spec"]["clusterIPs"], json!(["10.96.0.1"]));
        assert_eq!(dry["spec"]["ports"][0]["nodePort"], 30000);
        assert_eq!(dry["spec"]["ports"][1]["nodePort"], 30001);
        assert_eq!(dry["spec"]["externalTrafficPolicy"], "Cluster");
        let again = create(true);
        assert_eq!(
            again["spec"]["clusterIP"], "10.96.0.1",
            "dry run reserved it"
        );
        let real = create(false);
        assert_eq!(real["spec"]["clusterIP"], "10.96.0.1");
        assert_eq!(real["spec"]["ports"][1]["nodePort"], 30001);
        let next = create(true);
        assert_eq!(next["spec"]["clusterIP"], "10.96.0.2");
        assert_eq!(next["spec"]["ports"][0]["nodePort"], 30002);
    }

    #[test]
    fn continue_token_round_trips() {
        let t = encode_continue(42, "cm1");
        assert_eq!(decode_continue(&t, 1).expect("decode"), "cm1\u{0}");
        assert_eq!(
            decode_continue(&t, 100).map_err(|e| e.code).err(),
            Some(410)
        );
        assert_eq!(
            decode_continue("!!!", 1).map_err(|e| e.code).err(),
            Some(400)
        );
    }

    #[test]
    fn body_kind_checks() {
        let cm = resources::find("", "v1", "configmaps").expect("cm");
        let e = decode_body(
            cm,
            Some("application/json"),
            br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}"#,
        )
        .expect_err("mismatch");
        assert_eq!(e.message, "Secret in version \"v1\" cannot be handled as a ConfigMap: converting (v1.Secret) to (core.ConfigMap): unknown conversion");
        let e = decode_body(cm, Some("text/plain"), b"{}").expect_err("415");
        assert_eq!(e.code, 415);
        let v = decode_body(cm, None, br#"{"apiVersion":"v1","metadata":{"name":"x"}}"#)
            .expect("inferred")
            .object;
        assert_eq!(v["kind"], "ConfigMap");
        // The kind is found as Go's encoding/json finds it: case-insensitively, last key wins.
        let pod = resources::find("", "v1", "pods").expect("pods");
        for body in [
            r#"{"apiVersion":"v1","kind":"Secret","Kind":"Pod","metadata":{"name":"x"}}"#,
            "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"\u{212a}ind\":\"Pod\"}",
            r#"{"apiVersion":"v1","KIND":"Pod"}"#,
        ] {
            let d = decode_body(pod, None, body.as_bytes()).expect(body);
            assert_eq!(d.object["kind"], "Pod", "{body}");
        }
        let e = decode_body(
            pod,
            None,
            br#"{"apiVersion":"v1","Kind":"Pod","kind":"Secret"}"#,
        )
        .expect_err("last one wins");
        assert!(e.message.starts_with("Secret in version"), "{}", e.message);
        let d = decode_body(
            cm,
            None,
            br#"{"metadata":{"name":"x","name":"y"},"data":{"a":"1","a":"2"}}"#,
        )
        .expect("duplicates are not fatal here");
        assert_eq!(d.duplicates, vec!["metadata.name", "data.a"]);
        assert_eq!(d.object["metadata"]["name"], "y");
        let e = decode_body(cm, Some("application/json"), b"").expect_err("empty");
        assert_eq!(e.message, "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: unexpected end of JSON input (<empty>)");
    }

    #[test]
    fn yaml_bodies_read_as_kube_apiserver_reads_them() {
        let pods = resources::find("", "v1", "pods").expect("pods");
        let body = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: &l {app: web}\n  annotations: *l\nspec:\n  hostNetwork: yes\n  containers:\n  - name: c\n    image: busybox\n    securityContext: {privileged: on, runAsUser: 0777}\n";
        let v = decode_body(pods, Some("application/yaml"), body)
            .expect("yaml pod")
            .object;
        assert_eq!(v["spec"]["hostNetwork"], json!(true));
        assert_eq!(
            v["spec"]["containers"][0]["securityContext"],
            json!({"privileged": true, "runAsUser": 511})
        );
        assert_eq!(v["metadata"]["annotations"], json!({"app": "web"}));
        // Only the first document counts.
        let v = decode_body(
            pods,
            Some("application/yaml"),
            b"metadata: {name: a}\n---\nmetadata: {name: b}\n",
        )
        .expect("multi-doc")
        .object;
        assert_eq!(v["metadata"]["name"], "a");
        let e = decode_body(pods, Some("application/yaml"), b"a: b: c").expect_err("syntax");
        assert_eq!(e.code, 400);
        assert_eq!(e.message, "the object provided is unrecognized (must be of type Pod): yaml: line 1: mapping values are not allowed in this context (613a20623a2063)");
        let e = decode_body(pods, Some("application/yaml"), b"spec: {x: .nan}").expect_err("nan");
        assert!(
            e.message.contains(": json: unsupported value: NaN ("),
            "{}",
            e.message
        );
    }

    #[test]
    fn apply_bodies_read_yaml_1_1() {
        let v =
            decode_apply_body(b"spec:\n  hostNetwork: on\n  a: &x [1]\n  b: *x\n").expect("apply");
        assert_eq!(
            v,
            json!({"spec": {"hostNetwork": true, "a": [1], "b": [1]}})
        );
        let e = decode_apply_body(b"- 1").expect_err("array");
        assert_eq!(e.message, "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}");
        let e = decode_apply_body(b"a: *nope").expect_err("alias");
        assert_eq!(e.message, "error decoding YAML: error converting YAML to JSON: yaml: unknown anchor 'nope' referenced");
    }

    #[test]
    fn base64_errors_use_go_offsets() {
        // Offsets as Go's encoding/base64 (StdEncoding) reports them.
        for (input, want) in [
            ("YWxpY2U=", None),
            ("YWJj", None),
            ("", None),
            ("YW\nJj", None),
            ("!!notbase64", Some(0)),
            ("YWJ", Some(0)),
            ("YWJjZA", Some(4)),
            ("YQ=x", Some(2)),
            ("YQ=", Some(3)),
            ("=AAA", Some(0)),
            ("YWI=YQ==", Some(4)),
            ("YWJj*", Some(4)),
        ] {
            assert_eq!(go_base64_corrupt_at(input.as_bytes()), want, "{input:?}");
        }
        let secret = resources::find("", "v1", "secrets").expect("secrets");
        let obj = json!({"data": {"ok": "YQ==", "bad": "a!"}});
        assert_eq!(
            go_base64_error(secret, &obj).as_deref(),
            Some("illegal base64 data at input byte 1")
        );
    }
}
