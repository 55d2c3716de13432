//! Builds the OpenAPI v3 documents (one per index key: `api`, `api/v1`, `apis`, `apis/<g>`,
//! `apis/<g>/<v>`, `version`) and the swagger 2.0 document from the resource registry and
//! k8s-openapi's schemars schemas, in kube-apiserver's shapes: `components.schemas` keyed
//! `io.k8s.api.batch.v1.Job`, `x-kubernetes-group-version-kind` on kinds and operations,
//! patch/list extensions on the well-known lists, and inline operation parameters (those common
//! to every operation of a path hoisted to the path, as kube-openapi does).

use std::collections::BTreeMap;

use k8s_openapi::api::{
    apps, authentication, authorization, autoscaling, batch, core, flowcontrol, policy, rbac,
    scheduling, storage,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::schemars::generate::{SchemaGenerator, SchemaSettings};
use k8s_openapi::schemars::JsonSchema;
use serde_json::{json, Map, Value};

use crate::resources::{self, ResourceDef, GROUPS};

const REF_PREFIX: &str = "#/components/schemas/";
const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";
const API_VERSION_DESC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// All v3 documents, sorted by index key.
pub fn v3_documents(info_version: &str) -> Vec<(String, Value)> {
    let mut docs = BTreeMap::new();
    docs.insert("api".to_string(), api_root_doc(info_version));
    docs.insert("apis".to_string(), apis_root_doc(info_version));
    docs.insert("version".to_string(), version_doc(info_version));
    docs.insert(
        "api/v1".to_string(),
        group_version_doc("", "v1", info_version),
    );
    for (g, versions) in GROUPS {
        docs.insert(format!("apis/{g}"), group_doc(g, info_version));
        for v in *versions {
            docs.insert(
                format!("apis/{g}/{v}"),
                group_version_doc(g, v, info_version),
            );
        }
    }
    docs.into_iter().collect()
}

fn generator() -> SchemaGenerator {
    SchemaSettings::openapi3()
        .with(|s| s.meta_schema = None)
        .into_generator()
}

fn sref(name: &str) -> Value {
    json!({ "$ref": format!("{REF_PREFIX}{name}") })
}

fn add<T: JsonSchema>(gen: &mut SchemaGenerator) -> String {
    gen.subschema_for::<T>();
    T::schema_name().into_owned()
}

/// Put the schema of `group`/`kind` into `gen`; its schema name, `None` for an unknown kind.
fn kind_schema(gen: &mut SchemaGenerator, group: &str, kind: &str) -> Option<String> {
    Some(match (group, kind) {
        ("", "ConfigMap") => add::<core::v1::ConfigMap>(gen),
        ("", "Event") => add::<core::v1::Event>(gen),
        ("", "Namespace") => add::<core::v1::Namespace>(gen),
        ("", "Node") => add::<core::v1::Node>(gen),
        ("", "Pod") => add::<core::v1::Pod>(gen),
        ("", "ReplicationController") => add::<core::v1::ReplicationController>(gen),
        ("", "Secret") => add::<core::v1::Secret>(gen),
        ("", "ServiceAccount") => add::<core::v1::ServiceAccount>(gen),
        ("", "Service") => add::<core::v1::Service>(gen),
        ("apps", "Deployment") => add::<apps::v1::Deployment>(gen),
        ("apps", "DaemonSet") => add::<apps::v1::DaemonSet>(gen),
        ("apps", "ReplicaSet") => add::<apps::v1::ReplicaSet>(gen),
        ("apps", "StatefulSet") => add::<apps::v1::StatefulSet>(gen),
        ("policy", "PodDisruptionBudget") => add::<policy::v1::PodDisruptionBudget>(gen),
        ("rbac.authorization.k8s.io", "ClusterRole") => add::<rbac::v1::ClusterRole>(gen),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            add::<rbac::v1::ClusterRoleBinding>(gen)
        }
        ("rbac.authorization.k8s.io", "Role") => add::<rbac::v1::Role>(gen),
        ("rbac.authorization.k8s.io", "RoleBinding") => add::<rbac::v1::RoleBinding>(gen),
        ("storage.k8s.io", "StorageClass") => add::<storage::v1::StorageClass>(gen),
        ("scheduling.k8s.io", "PriorityClass") => add::<scheduling::v1::PriorityClass>(gen),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema") => add::<flowcontrol::v1::FlowSchema>(gen),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration") => {
            add::<flowcontrol::v1::PriorityLevelConfiguration>(gen)
        }
        ("batch", "CronJob") => add::<batch::v1::CronJob>(gen),
        ("batch", "Job") => add::<batch::v1::Job>(gen),
        ("autoscaling", "Scale") => add::<autoscaling::v1::Scale>(gen),
        ("authentication.k8s.io", "SelfSubjectReview") => {
            add::<authentication::v1::SelfSubjectReview>(gen)
        }
        ("authentication.k8s.io", "TokenReview") => add::<authentication::v1::TokenReview>(gen),
        ("authentication.k8s.io", "TokenRequest") => add::<authentication::v1::TokenRequest>(gen),
        ("authorization.k8s.io", "LocalSubjectAccessReview") => {
            add::<authorization::v1::LocalSubjectAccessReview>(gen)
        }
        ("authorization.k8s.io", "SelfSubjectAccessReview") => {
            add::<authorization::v1::SelfSubjectAccessReview>(gen)
        }
        ("authorization.k8s.io", "SelfSubjectRulesReview") => {
            add::<authorization::v1::SelfSubjectRulesReview>(gen)
        }
        ("authorization.k8s.io", "SubjectAccessReview") => {
            add::<authorization::v1::SubjectAccessReview>(gen)
        }
        _ => return None,
    })
}

/// A (group, version, kind) triple.
type Gvk = (String, String, String);

/// The schemas of one document under construction: the generator plus what to annotate.
struct Schemas {
    gen: SchemaGenerator,
    /// Schema name → GVKs for `x-kubernetes-group-version-kind`.
    gvks: BTreeMap<String, Vec<Gvk>>,
    /// Hand-made schemas (lists, placeholders).
    extra: Map<String, Value>,
}

impl Schemas {
    fn new() -> Self {
        Schemas {
            gen: generator(),
            gvks: BTreeMap::new(),
            extra: Map::new(),
        }
    }

    /// Schema name for a kind (adding it, or a permissive placeholder for an unknown kind).
    fn kind(&mut self, group: &str, version: &str, kind: &str) -> String {
        let name = kind_schema(&mut self.gen, group, kind).unwrap_or_else(|| {
            let name = placeholder_name(group, version, kind);
            self.extra.insert(
                name.clone(),
                json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            );
            name
        });
        let gvk = (group.to_string(), version.to_string(), kind.to_string());
        let list = self.gvks.entry(name.clone()).or_default();
        if !list.contains(&gvk) {
            list.push(gvk);
        }
        name
    }

    /// Schema name of `<Kind>List` (hand-made, as k8s-openapi has no schema for lists).
    fn list(&mut self, group: &str, version: &str, kind: &str) -> String {
        let item = self.kind(group, version, kind);
        add::<meta::ListMeta>(&mut self.gen);
        let name = format!("{item}List");
        self.extra.insert(name.clone(), list_schema(&item, kind));
        self.gvks.insert(
            name.clone(),
            vec![(group.into(), version.into(), format!("{kind}List"))],
        );
        name
    }

    fn meta<T: JsonSchema>(&mut self) -> String {
        add::<T>(&mut self.gen)
    }

    fn finish(mut self) -> Value {
        let mut defs: BTreeMap<String, Value> =
            self.gen.take_definitions(true).into_iter().collect();
        defs.extend(self.extra);
        for (name, schema) in defs.iter_mut() {
            strip_required_metadata(schema);
            if let Some(gvks) = self.gvks.get(name) {
                set_gvk(schema, gvks);
            }
        }
        annotate_lists(&mut defs);
        let all_gvs = all_group_versions();
        for (name, kind) in [
            ("DeleteOptions", "DeleteOptions"),
            ("WatchEvent", "WatchEvent"),
        ] {
            if let Some(schema) = defs.get_mut(&format!("{META}{name}")) {
                let gvks: Vec<Gvk> = all_gvs
                    .iter()
                    .map(|(g, v)| (g.clone(), v.clone(), kind.to_string()))
                    .collect();
                set_gvk(schema, &gvks);
            }
        }
        if let Some(schema) = defs.get_mut(&format!("{META}Status")) {
            set_gvk(schema, &[(String::new(), "v1".into(), "Status".into())]);
        }
        Value::Object(defs.into_iter().collect())
    }
}

fn placeholder_name(group: &str, version: &str, kind: &str) -> String {
    let g = if group.is_empty() {
        "core"
    } else {
        group.split('.').next().unwrap_or(group)
    };
    format!("io.k8s.api.{g}.{version}.{kind}")
}

fn all_group_versions() -> Vec<(String, String)> {
    let mut out = vec![(String::new(), "v1".to_string())];
    for (g, vs) in GROUPS {
        out.extend(vs.iter().map(|v| (g.to_string(), v.to_string())));
    }
    out
}

fn list_schema(item: &str, kind: &str) -> Value {
    json!({
        "description": format!("{kind}List is a list of {kind} objects."),
        "type": "object",
        "properties": {
            "apiVersion": {"description": API_VERSION_DESC, "type": "string"},
            "items": {
                "description": format!("items is the list of {kind} objects."),
                "type": "array",
                "items": {"allOf": [sref(item)], "default": {}},
            },
            "kind": {"description": KIND_DESC, "type": "string"},
            "metadata": {
                "allOf": [sref(&format!("{META}ListMeta"))],
                "default": {},
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
            },
        },
        "required": ["items"],
    })
}

/// k8s-openapi marks `metadata` required (a Rust artefact); kube's schemas never do.
fn strip_required_metadata(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let empty = match obj.get_mut("required") {
        Some(Value::Array(req)) => {
            req.retain(|r| r != "metadata");
            req.is_empty()
        }
        _ => false,
    };
    if empty {
        obj.remove("required");
    }
}

fn set_gvk(schema: &mut Value, gvks: &[Gvk]) {
    if let Some(obj) = schema.as_object_mut() {
        let list: Vec<Value> = gvks
            .iter()
            .map(|(g, v, k)| json!({"group": g, "kind": k, "version": v}))
            .collect();
        obj.insert("x-kubernetes-group-version-kind".into(), Value::Array(list));
    }
}

/// Patch strategy / merge key and list type / map keys of the well-known lists, as kube's
/// schema marks them (strategic merge patch and server-side apply read these).
/// (schema, property, patch strategy, patch merge key, list type, list map keys).
type ListExtension = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const LIST_EXTENSIONS: &[ListExtension] = &[
    // (schema, property, patch strategy, patch merge key, list type, list map keys)
    (
        "core.v1.PodSpec",
        "containers",
        "merge",
        "name",
        "map",
        &["name"],
    ),
    (
        "core.v1.PodSpec",
        "initContainers",
        "merge",
        "name",
        "map",
        &["name"],
    ),
    (
        "core.v1.PodSpec",
        "ephemeralContainers",
        "merge",
        "name",
        "map",
        &["name"],
    ),
    (
        "core.v1.PodSpec",
        "imagePullSecrets",
        "merge",
        "name",
        "map",
        &["name"],
    ),
    (
        "core.v1.PodSpec",
        "volumes",
        "merge,retainKeys",
        "name",
        "map",
        &["name"],
    ),
    (
        "core.v1.PodSpec",
        "hostAliases",
        "merge",
        "ip",
        "map",
        &["ip"],
    ),
    (
        "core.v1.PodSpec",
        "resourceClaims",
        "merge,retainKeys",
        "name",
        "map",
        &["name"],
    ),
    (
        "core.v1.PodSpec",
        "schedulingGates",
        "merge",
        "name",
        "map",
        &["name"],
    ),
    (
        "core.v1.PodSpec",
        "topologySpreadConstraints",
        "merge",
        "topologyKey",
        "map",
        &["topologyKey", "whenUnsatisfiable"],
    ),
    ("core.v1.PodSpec", "tolerations", "", "", "atomic", &[]),
    ("core.v1.PodSpec", "readinessGates", "", "", "atomic", &[]),
    (
        "core.v1.Container",
        "env",
        "merge",
        "name",
        "map",
        &["name"],
    ),
    (
        "core.v1.Container",
        "ports",
        "merge",
        "containerPort",
        "map",
        &["containerPort", "protocol"],
    ),
    (
        "core.v1.Container",
        "volumeMounts",
        "merge",
        "mountPath",
        "map",
        &["mountPath"],
    ),
    (
        "core.v1.Container",
        "volumeDevices",
        "merge",
        "devicePath",
        "map",
        &["devicePath"],
    ),
    ("core.v1.Container", "envFrom", "", "", "atomic", &[]),
    ("core.v1.Container", "args", "", "", "atomic", &[]),
    ("core.v1.Container", "command", "", "", "atomic", &[]),
    ("core.v1.Container", "resizePolicy", "", "", "atomic", &[]),
    (
        "core.v1.EphemeralContainer",
        "env",
        "merge",
        "name",
        "map",
        &["name"],
    ),
    (
        "core.v1.EphemeralContainer",
        "volumeMounts",
        "merge",
        "mountPath",
        "map",
        &["mountPath"],
    ),
    (
        "core.v1.EphemeralContainer",
        "volumeDevices",
        "merge",
        "devicePath",
        "map",
        &["devicePath"],
    ),
    (
        "core.v1.ServiceSpec",
        "ports",
        "merge",
        "port",
        "map",
        &["port", "protocol"],
    ),
    (
        "core.v1.ServiceAccount",
        "secrets",
        "merge",
        "name",
        "map",
        &["name"],
    ),
    (
        "core.v1.PodStatus",
        "conditions",
        "merge",
        "type",
        "map",
        &["type"],
    ),
    (
        "core.v1.NamespaceStatus",
        "conditions",
        "merge",
        "type",
        "map",
        &["type"],
    ),
    (
        "apps.v1.DeploymentStatus",
        "conditions",
        "merge",
        "type",
        "map",
        &["type"],
    ),
    (
        "apps.v1.DeploymentSpec",
        "strategy",
        "retainKeys",
        "",
        "",
        &[],
    ),
    (
        "batch.v1.JobStatus",
        "conditions",
        "merge",
        "type",
        "atomic",
        &[],
    ),
    ("batch.v1.CronJobStatus", "active", "", "", "atomic", &[]),
    (
        "apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "finalizers",
        "merge",
        "",
        "set",
        &[],
    ),
    (
        "apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "ownerReferences",
        "merge",
        "uid",
        "map",
        &["uid"],
    ),
];

fn annotate_lists(defs: &mut BTreeMap<String, Value>) {
    for (schema, prop, strategy, key, list_type, map_keys) in LIST_EXTENSIONS {
        let name = if schema.starts_with("apimachinery.") {
            format!("io.k8s.{schema}")
        } else {
            format!("io.k8s.api.{schema}")
        };
        let Some(p) = defs
            .get_mut(&name)
            .and_then(|s| s.pointer_mut(&format!("/properties/{prop}")))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        if !map_keys.is_empty() {
            p.insert("x-kubernetes-list-map-keys".into(), json!(map_keys));
        }
        if !list_type.is_empty() {
            p.insert("x-kubernetes-list-type".into(), json!(list_type));
        }
        if !key.is_empty() {
            p.insert("x-kubernetes-patch-merge-key".into(), json!(key));
        }
        if !strategy.is_empty() {
            p.insert("x-kubernetes-patch-strategy".into(), json!(strategy));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters

fn param_schema(ty: &str) -> Value {
    json!({"type": ty, "uniqueItems": true})
}

/// A query parameter by name, with kube's description and type.
fn qp(name: &str) -> Value {
    let (ty, desc) = match name {
        "allowWatchBookmarks" => ("boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion. Clients should not assume bookmarks are returned at any specific interval, nor may they assume the server will send any BOOKMARK event during a session. If this is not a watch, this field is ignored."),
        "continue" => ("string", "The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue) and the server may reject a continue value it does not recognize."),
        "dryRun" => ("string", "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed"),
        "fieldManager" => ("string", "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint."),
        "fieldSelector" => ("string", "A selector to restrict the list of returned objects by their fields. Defaults to everything."),
        "fieldValidation" => ("string", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered."),
        "force" => ("boolean", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests."),
        "gracePeriodSeconds" => ("integer", "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately."),
        "ignoreStoreReadErrorWithClusterBreakingPotential" => ("boolean", "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error. A resource is considered corrupt if it can not be retrieved from the underlying storage successfully because of a) its data can not be transformed e.g. decryption failure, or b) it fails to decode into an object. NOTE: unsafe deletion ignores finalizer constraints, skips precondition checks, and removes the object from the storage. WARNING: This may potentially break the cluster if the workload associated with the resource being unsafe-deleted relies on normal deletion flow. Use only if you REALLY know what you are doing. The default value is false, and the user must opt in to enable it"),
        "labelSelector" => ("string", "A selector to restrict the list of returned objects by their labels. Defaults to everything."),
        "limit" => ("integer", "limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results."),
        "orphanDependents" => ("boolean", "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the \"orphan\" finalizer will be added to/removed from the object's finalizers list. Either this field or PropagationPolicy may be set, but not both."),
        "pretty" => ("string", "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."),
        "propagationPolicy" => ("string", "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground."),
        "resourceVersion" => ("string", "resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset"),
        "resourceVersionMatch" => ("string", "resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset"),
        "sendInitialEvents" => ("boolean", "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection. Once all such events have been sent, a synthetic \"Bookmark\" event  will be sent."),
        "timeoutSeconds" => ("integer", "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity."),
        "watch" => ("boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion."),
        "container" => ("string", "The container for which to stream logs. Defaults to only container if there is one container in the pod."),
        "follow" => ("boolean", "Follow the log stream of the pod. Defaults to false."),
        "insecureSkipTLSVerifyBackend" => ("boolean", "insecureSkipTLSVerifyBackend indicates that the apiserver should not confirm the validity of the serving certificate of the backend it is connecting to."),
        "limitBytes" => ("integer", "If set, the number of bytes to read from the server before terminating the log output."),
        "previous" => ("boolean", "Return previous terminated container logs. Defaults to false."),
        "sinceSeconds" => ("integer", "A relative time in seconds before the current time from which to show logs."),
        "stream" => ("string", "Specify which container log stream to return to the client. Acceptable values are \"All\", \"Stdout\" and \"Stderr\". If not specified, \"All\" is used, and both stdout and stderr are returned interleaved."),
        "tailLines" => ("integer", "If set, the number of lines from the end of the logs to show."),
        "timestamps" => ("boolean", "If true, add an RFC3339 or RFC3339Nano timestamp at the beginning of every line of log output. Defaults to false."),
        "command" => ("string", "Command is the remote command to execute. argv array. Not executed within a shell."),
        "stderr" => ("boolean", "Redirect the standard error stream of the pod for this call."),
        "stdin" => ("boolean", "Redirect the standard input stream of the pod for this call. Defaults to false."),
        "stdout" => ("boolean", "Redirect the standard output stream of the pod for this call."),
        "tty" => ("boolean", "TTY if true indicates that a tty will be allocated for the exec call. Defaults to false."),
        "ports" => ("integer", "List of ports to forward Required when using WebSockets"),
        _ => ("string", ""),
    };
    json!({"name": name, "in": "query", "description": desc, "schema": param_schema(ty)})
}

fn path_param(name: &str, desc: String) -> Value {
    json!({"name": name, "in": "path", "description": desc, "required": true, "schema": param_schema("string")})
}

const LIST_PARAMS: &[&str] = &[
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];
const WRITE_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation"];
const PATCH_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "force"];
const DELETE_PARAMS: &[&str] = &[
    "dryRun",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "orphanDependents",
    "propagationPolicy",
];
const DELETECOLLECTION_PARAMS: &[&str] = &[
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "labelSelector",
    "limit",
    "orphanDependents",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
];
const LOG_PARAMS: &[&str] = &[
    "container",
    "follow",
    "insecureSkipTLSVerifyBackend",
    "limitBytes",
    "previous",
    "sinceSeconds",
    "stream",
    "tailLines",
    "timestamps",
];

// ---------------------------------------------------------------------------------------------
// Operations and paths

const READ_TYPES: &[&str] = &[
    "application/json",
    "application/vnd.kubernetes.protobuf",
    "application/yaml",
];
const STREAM_TYPES: &[&str] = &[
    "application/json",
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf",
    "application/vnd.kubernetes.protobuf;stream=watch",
    "application/yaml",
];
const PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

fn content(types: &[&str], schema: &Value) -> Value {
    let m: Map<String, Value> = types
        .iter()
        .map(|t| (t.to_string(), json!({ "schema": schema })))
        .collect();
    Value::Object(m)
}

fn responses(codes: &[(&str, &str)], types: &[&str], schema: &Value) -> Value {
    let mut m = Map::new();
    for (code, desc) in codes {
        m.insert(
            code.to_string(),
            json!({"description": desc, "content": content(types, schema)}),
        );
    }
    m.insert("401".into(), json!({"description": "Unauthorized"}));
    Value::Object(m)
}

/// One operation before assembly.
struct Op {
    method: &'static str,
    id: String,
    desc: String,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Value,
    action: Option<&'static str>,
    gvk: Option<(String, String, String)>,
}

/// Operations of one document, grouped by path.
struct Paths {
    tag: String,
    paths: BTreeMap<String, Vec<Op>>,
}

impl Paths {
    fn add(&mut self, path: String, op: Op) {
        self.paths.entry(path).or_default().push(op);
    }

    fn into_json(self) -> Value {
        let tag = self.tag;
        let m: Map<String, Value> = self
            .paths
            .into_iter()
            .map(|(p, ops)| (p, path_item(&tag, ops)))
            .collect();
        Value::Object(m)
    }
}

fn param_key(p: &Value) -> String {
    format!(
        "{}/{}",
        p["in"].as_str().unwrap_or(""),
        p["name"].as_str().unwrap_or("")
    )
}

fn by_name(a: &Value, b: &Value) -> std::cmp::Ordering {
    a["name"].as_str().cmp(&b["name"].as_str())
}

/// Assemble a path item: methods in kube's order, parameters shared by every operation hoisted.
fn path_item(tag: &str, mut ops: Vec<Op>) -> Value {
    let first: Vec<String> = ops
        .first()
        .map(|o| o.params.iter().map(param_key).collect())
        .unwrap_or_default();
    let common: Vec<String> = first
        .into_iter()
        .filter(|k| {
            ops.iter()
                .all(|o| o.params.iter().any(|p| param_key(p) == *k))
        })
        .collect();
    let mut hoisted: Vec<Value> = Vec::new();
    for op in ops.iter_mut() {
        let (shared, own): (Vec<Value>, Vec<Value>) = op
            .params
            .drain(..)
            .partition(|p| common.contains(&param_key(p)));
        if hoisted.is_empty() {
            hoisted = shared;
        }
        op.params = own;
        op.params.sort_by(by_name);
    }
    hoisted.sort_by(by_name);
    let mut item = Map::new();
    for method in ["get", "put", "post", "delete", "options", "head", "patch"] {
        if let Some(op) = ops.iter().find(|o| o.method == method) {
            item.insert(method.into(), op_json(tag, op));
        }
    }
    if !hoisted.is_empty() {
        item.insert("parameters".into(), Value::Array(hoisted));
    }
    Value::Object(item)
}

fn op_json(tag: &str, op: &Op) -> Value {
    let mut m = Map::new();
    m.insert("tags".into(), json!([tag]));
    m.insert("description".into(), json!(op.desc));
    m.insert("operationId".into(), json!(op.id));
    if !op.params.is_empty() {
        m.insert("parameters".into(), Value::Array(op.params.clone()));
    }
    if let Some(b) = &op.body {
        m.insert("requestBody".into(), b.clone());
    }
    m.insert("responses".into(), op.responses.clone());
    if let Some(a) = op.action {
        m.insert("x-kubernetes-action".into(), json!(a));
    }
    if let Some((g, v, k)) = &op.gvk {
        m.insert(
            "x-kubernetes-group-version-kind".into(),
            json!({"group": g, "version": v, "kind": k}),
        );
    }
    Value::Object(m)
}

/// `Batch` for `batch`, `Core` for core, `RbacAuthorization` for `rbac.authorization.k8s.io`.
fn group_camel(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    group
        .trim_end_matches(".k8s.io")
        .split('.')
        .map(capitalize)
        .collect()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn tag_of(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("core_{version}")
    } else {
        format!(
            "{}_{version}",
            group.trim_end_matches(".k8s.io").replace('.', "_")
        )
    }
}

/// Context shared by the operations of one resource.
struct Res<'a> {
    r: &'a ResourceDef,
    /// `BatchV1`.
    gv: String,
    /// `/apis/batch/v1`.
    prefix: String,
    /// `/namespaces/{namespace}` or `""`.
    ns: &'static str,
    /// `Namespaced` or `""`.
    scope: &'static str,
}

impl Res<'_> {
    fn new(r: &ResourceDef) -> Res<'_> {
        let prefix = if r.group.is_empty() {
            format!("/api/{}", r.version)
        } else {
            format!("/apis/{}/{}", r.group, r.version)
        };
        Res {
            r,
            gv: format!("{}{}", group_camel(r.group), capitalize(r.version)),
            prefix,
            ns: if r.namespaced {
                "/namespaces/{namespace}"
            } else {
                ""
            },
            scope: if r.namespaced { "Namespaced" } else { "" },
        }
    }

    fn gvk(&self) -> Option<Gvk> {
        let (g, v) = self.r.body_gv.unwrap_or((self.r.group, self.r.version));
        Some((g.into(), v.into(), self.r.kind.into()))
    }

    /// Path params of the item path plus `pretty`.
    fn scope_params(&self, named: bool, pretty: bool) -> Vec<Value> {
        let mut out = Vec::new();
        if named {
            out.push(path_param(
                "name",
                format!("name of the {}", self.parent_kind()),
            ));
        }
        if self.r.namespaced {
            out.push(path_param(
                "namespace",
                "object name and auth scope, such as for teams and projects".into(),
            ));
        }
        if pretty {
            out.push(qp("pretty"));
        }
        out
    }

    fn parent_kind(&self) -> &'static str {
        resources::find(self.r.group, self.r.version, self.r.plural)
            .map(|p| p.kind)
            .unwrap_or(self.r.kind)
    }

    fn with(&self, mut base: Vec<Value>, names: &[&str]) -> Vec<Value> {
        base.extend(names.iter().map(|n| qp(n)));
        base
    }
}

fn write_body(schema: &Value) -> Value {
    json!({"content": content(&["*/*"], schema), "required": true})
}

fn main_resource_ops(res: &Res, schemas: &mut Schemas, paths: &mut Paths) {
    let r = res.r;
    let kind = r.kind;
    let item = sref(&schemas.kind(r.group, r.version, kind));
    let collection = format!("{}{}/{}", res.prefix, res.ns, r.plural);
    let named = format!("{collection}/{{name}}");
    let (gv, scope) = (&res.gv, res.scope);
    let gvk = res.gvk();
    if r.supports("list") {
        let list = sref(&schemas.list(r.group, r.version, kind));
        let list_op = |id: String, params: Vec<Value>| Op {
            method: "get",
            id,
            desc: format!("list or watch objects of kind {kind}"),
            params,
            body: None,
            responses: responses(&[("200", "OK")], STREAM_TYPES, &list),
            action: Some("list"),
            gvk: gvk.clone(),
        };
        let base = res.scope_params(false, true);
        paths.add(
            collection.clone(),
            list_op(
                format!("list{gv}{scope}{kind}"),
                res.with(base, LIST_PARAMS),
            ),
        );
        if r.namespaced {
            let all = vec![qp("pretty")];
            paths.add(
                format!("{}/{}", res.prefix, r.plural),
                list_op(
                    format!("list{gv}{kind}ForAllNamespaces"),
                    res.with(all, LIST_PARAMS),
                ),
            );
        }
    }
    if r.supports("watch") {
        watch_ops(res, schemas, paths);
    }
    if r.supports("create") {
        paths.add(
            collection.clone(),
            Op {
                method: "post",
                id: format!("create{gv}{scope}{kind}"),
                desc: format!("create {}", article(kind)),
                params: res.with(res.scope_params(false, true), WRITE_PARAMS),
                body: Some(write_body(&item)),
                responses: responses(
                    &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
                    READ_TYPES,
                    &item,
                ),
                action: Some("post"),
                gvk: gvk.clone(),
            },
        );
    }
    let status = sref(&schemas.meta::<meta::Status>());
    let delete_options = sref(&schemas.meta::<meta::DeleteOptions>());
    let delete_body = json!({"content": content(&["*/*"], &delete_options)});
    if r.supports("deletecollection") {
        paths.add(
            collection.clone(),
            Op {
                method: "delete",
                id: format!("deletecollection{gv}{scope}{kind}"),
                desc: format!("delete collection of {kind}"),
                params: res.with(res.scope_params(false, true), DELETECOLLECTION_PARAMS),
                body: Some(delete_body.clone()),
                responses: responses(&[("200", "OK")], READ_TYPES, &status),
                action: Some("deletecollection"),
                gvk: gvk.clone(),
            },
        );
    }
    if r.supports("get") {
        paths.add(
            named.clone(),
            read_op(
                res,
                &item,
                format!("read{gv}{scope}{kind}"),
                format!("read the specified {kind}"),
            ),
        );
    }
    if r.supports("update") {
        paths.add(
            named.clone(),
            replace_op(
                res,
                &item,
                format!("replace{gv}{scope}{kind}"),
                format!("replace the specified {kind}"),
            ),
        );
    }
    if r.supports("delete") {
        paths.add(
            named.clone(),
            Op {
                method: "delete",
                id: format!("delete{gv}{scope}{kind}"),
                desc: format!("delete {}", article(kind)),
                params: res.with(res.scope_params(true, true), DELETE_PARAMS),
                body: Some(delete_body),
                responses: responses(&[("200", "OK"), ("202", "Accepted")], READ_TYPES, &status),
                action: Some("delete"),
                gvk: gvk.clone(),
            },
        );
    }
    if r.supports("patch") {
        paths.add(
            named,
            patch_op(
                res,
                schemas,
                &item,
                format!("patch{gv}{scope}{kind}"),
                format!("partially update the specified {kind}"),
            ),
        );
    }
}

fn article(kind: &str) -> String {
    let vowel = kind.starts_with(['A', 'E', 'I', 'O', 'U']);
    format!("{} {kind}", if vowel { "an" } else { "a" })
}

fn read_op(res: &Res, schema: &Value, id: String, desc: String) -> Op {
    Op {
        method: "get",
        id,
        desc,
        params: res.scope_params(true, true),
        body: None,
        responses: responses(&[("200", "OK")], READ_TYPES, schema),
        action: Some("get"),
        gvk: res.gvk(),
    }
}

fn replace_op(res: &Res, schema: &Value, id: String, desc: String) -> Op {
    Op {
        method: "put",
        id,
        desc,
        params: res.with(res.scope_params(true, true), WRITE_PARAMS),
        body: Some(write_body(schema)),
        responses: responses(&[("200", "OK"), ("201", "Created")], READ_TYPES, schema),
        action: Some("put"),
        gvk: res.gvk(),
    }
}

fn patch_op(res: &Res, schemas: &mut Schemas, schema: &Value, id: String, desc: String) -> Op {
    let patch = sref(&schemas.meta::<meta::Patch>());
    Op {
        method: "patch",
        id,
        desc,
        params: res.with(res.scope_params(true, true), PATCH_PARAMS),
        body: Some(json!({"content": content(PATCH_TYPES, &patch), "required": true})),
        responses: responses(&[("200", "OK"), ("201", "Created")], READ_TYPES, schema),
        action: Some("patch"),
        gvk: res.gvk(),
    }
}

fn watch_ops(res: &Res, schemas: &mut Schemas, paths: &mut Paths) {
    let r = res.r;
    let (gv, scope, kind) = (&res.gv, res.scope, r.kind);
    let event = sref(&schemas.meta::<meta::WatchEvent<serde_json::Value>>());
    let watch = |id: String, desc: String, action, named: bool, ns: bool| {
        let mut base = Vec::new();
        if named {
            base.push(path_param("name", format!("name of the {kind}")));
        }
        if ns {
            base.push(path_param(
                "namespace",
                "object name and auth scope, such as for teams and projects".into(),
            ));
        }
        base.push(qp("pretty"));
        Op {
            method: "get",
            id,
            desc,
            params: res.with(base, LIST_PARAMS),
            body: None,
            responses: responses(&[("200", "OK")], STREAM_TYPES, &event),
            action: Some(action),
            gvk: res.gvk(),
        }
    };
    let list_desc = format!("watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead.");
    let one_desc = format!("watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.");
    let base = format!("{}/watch{}/{}", res.prefix, res.ns, r.plural);
    paths.add(
        base.clone(),
        watch(
            format!("watch{gv}{scope}{kind}List"),
            list_desc.clone(),
            "watchlist",
            false,
            r.namespaced,
        ),
    );
    paths.add(
        format!("{base}/{{name}}"),
        watch(
            format!("watch{gv}{scope}{kind}"),
            one_desc,
            "watch",
            true,
            r.namespaced,
        ),
    );
    if r.namespaced {
        paths.add(
            format!("{}/watch/{}", res.prefix, r.plural),
            watch(
                format!("watch{gv}{kind}ListForAllNamespaces"),
                list_desc,
                "watchlist",
                false,
                false,
            ),
        );
    }
}

/// `nodes/{name}/proxy` and `.../proxy/{path}`: a connect operation per proxied HTTP method
/// (`proxyMethods` of the node registry), as go-restful lists them.
fn proxy_ops(res: &Res, path: &str, paths: &mut Paths) {
    let parent = res.parent_kind();
    let (gv, scope) = (&res.gv, res.scope);
    let string = json!({"type": "string"});
    let query = json!({"name": "path", "in": "query",
        "description": format!("Path is the URL path to use for the current proxy request to {}.", parent.to_lowercase()),
        "schema": param_schema("string")});
    for (with_path, p) in [
        (false, path.to_string()),
        (true, format!("{path}/{{path}}")),
    ] {
        for (method, verb) in PROXY_METHODS {
            let mut params = res.scope_params(true, false);
            let suffix = if with_path {
                params.push(path_param("path", "path to the resource".into()));
                "WithPath"
            } else {
                params.push(query.clone());
                ""
            };
            paths.add(
                p.clone(),
                Op {
                    method,
                    id: format!("connect{gv}{verb}{scope}{parent}Proxy{suffix}"),
                    desc: format!(
                        "connect {} requests to proxy of {parent}",
                        method.to_uppercase()
                    ),
                    params,
                    body: None,
                    responses: responses(&[("200", "OK")], &["*/*"], &string),
                    action: Some("connect"),
                    gvk: res.gvk(),
                },
            );
        }
    }
}

/// The HTTP methods a proxy subresource connects, in go-restful's order.
const PROXY_METHODS: [(&str, &str); 7] = [
    ("get", "Get"),
    ("post", "Post"),
    ("put", "Put"),
    ("patch", "Patch"),
    ("delete", "Delete"),
    ("head", "Head"),
    ("options", "Options"),
];

/// Schema of a subresource's body: the parent kind, or the kind of `body_gv`.
fn sub_schema(res: &Res, schemas: &mut Schemas) -> Value {
    let r = res.r;
    let (g, v) = r.body_gv.unwrap_or((r.group, r.version));
    sref(&schemas.kind(g, v, r.kind))
}

fn subresource_ops(res: &Res, schemas: &mut Schemas, paths: &mut Paths) {
    let r = res.r;
    let parent = res.parent_kind();
    let (gv, scope) = (&res.gv, res.scope);
    let sub = capitalize(r.subresource);
    let path = format!(
        "{}{}/{}/{{name}}/{}",
        res.prefix, res.ns, r.plural, r.subresource
    );
    let suffix = format!("{gv}{scope}{parent}{sub}");
    let connect = r.kind.ends_with("Options");
    if r.subresource == "proxy" {
        proxy_ops(res, &path, paths);
        return;
    }
    if connect {
        let names: &[&str] = match r.subresource {
            "exec" => &["command", "container", "stderr", "stdin", "stdout", "tty"],
            "attach" => &["container", "stderr", "stdin", "stdout", "tty"],
            "portforward" => &["ports"],
            _ => &[],
        };
        let string = json!({"type": "string"});
        for (method, verb) in [("get", "Get"), ("post", "Post")] {
            if !r.supports(if method == "get" { "get" } else { "create" }) {
                continue;
            }
            paths.add(
                path.clone(),
                Op {
                    method,
                    id: format!("connect{gv}{verb}{scope}{parent}{sub}"),
                    desc: format!(
                        "connect {} requests to {} of {parent}",
                        method.to_uppercase(),
                        r.subresource
                    ),
                    params: res.with(res.scope_params(true, false), names),
                    body: None,
                    responses: responses(&[("200", "OK")], &["*/*"], &string),
                    action: Some("connect"),
                    gvk: res.gvk(),
                },
            );
        }
        return;
    }
    if r.subresource == "log" {
        paths.add(
            path,
            Op {
                method: "get",
                id: format!("read{suffix}"),
                desc: format!("read log of the specified {parent}"),
                params: res.with(res.scope_params(true, true), LOG_PARAMS),
                body: None,
                responses: responses(
                    &[("200", "OK")],
                    &["text/plain"],
                    &json!({"type": "string"}),
                ),
                action: Some("get"),
                gvk: res.gvk(),
            },
        );
        return;
    }
    let schema = sub_schema(res, schemas);
    let what = r.subresource;
    if r.supports("get") {
        paths.add(
            path.clone(),
            read_op(
                res,
                &schema,
                format!("read{suffix}"),
                format!("read {what} of the specified {parent}"),
            ),
        );
    }
    if r.supports("update") {
        paths.add(
            path.clone(),
            replace_op(
                res,
                &schema,
                format!("replace{suffix}"),
                format!("replace {what} of the specified {parent}"),
            ),
        );
    }
    if r.supports("patch") {
        paths.add(
            path.clone(),
            patch_op(
                res,
                schemas,
                &schema,
                format!("patch{suffix}"),
                format!("partially update {what} of the specified {parent}"),
            ),
        );
    }
    if r.supports("create") {
        paths.add(
            path,
            Op {
                method: "post",
                id: format!("create{suffix}"),
                desc: format!("create {what} of {}", article(parent)),
                params: res.with(res.scope_params(true, true), WRITE_PARAMS),
                body: Some(write_body(&schema)),
                responses: responses(
                    &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
                    READ_TYPES,
                    &schema,
                ),
                action: Some("post"),
                gvk: res.gvk(),
            },
        );
    }
}

fn doc(info_version: &str, paths: Value, schemas: Value) -> Value {
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": info_version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"}
            },
        },
    })
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/<g>/<v>`.
fn group_version_doc(group: &str, version: &str, info_version: &str) -> Value {
    let mut schemas = Schemas::new();
    let mut paths = Paths {
        tag: tag_of(group, version),
        paths: BTreeMap::new(),
    };
    let root = if group.is_empty() {
        format!("/api/{version}/")
    } else {
        format!("/apis/{group}/{version}/")
    };
    let list = sref(&schemas.meta::<meta::APIResourceList>());
    paths.add(
        root,
        Op {
            method: "get",
            id: format!(
                "get{}{}APIResources",
                group_camel(group),
                capitalize(version)
            ),
            desc: "get available resources".into(),
            params: Vec::new(),
            body: None,
            responses: responses(&[("200", "OK")], READ_TYPES, &list),
            action: None,
            gvk: None,
        },
    );
    for r in resources::of_group_version(group, version) {
        let res = Res::new(r);
        if r.subresource.is_empty() {
            main_resource_ops(&res, &mut schemas, &mut paths);
        } else {
            subresource_ops(&res, &mut schemas, &mut paths);
        }
    }
    doc(info_version, paths.into_json(), schemas.finish())
}

fn simple_doc<T: JsonSchema>(
    info_version: &str,
    path: &str,
    tag: &str,
    id: &str,
    desc: &str,
    types: &[&str],
) -> Value {
    let mut schemas = Schemas::new();
    let schema = sref(&schemas.meta::<T>());
    let mut paths = Paths {
        tag: tag.into(),
        paths: BTreeMap::new(),
    };
    paths.add(
        path.into(),
        Op {
            method: "get",
            id: id.into(),
            desc: desc.into(),
            params: Vec::new(),
            body: None,
            responses: responses(&[("200", "OK")], types, &schema),
            action: None,
            gvk: None,
        },
    );
    doc(info_version, paths.into_json(), schemas.finish())
}

fn api_root_doc(v: &str) -> Value {
    simple_doc::<meta::APIVersions>(
        v,
        "/api/",
        "core",
        "getCoreAPIVersions",
        "get available API versions",
        READ_TYPES,
    )
}

fn apis_root_doc(v: &str) -> Value {
    simple_doc::<meta::APIGroupList>(
        v,
        "/apis/",
        "apis",
        "getAPIVersions",
        "get available API versions",
        READ_TYPES,
    )
}

fn group_doc(group: &str, v: &str) -> Value {
    let tag = group.trim_end_matches(".k8s.io").replace('.', "_");
    let id = format!("get{}APIGroup", group_camel(group));
    simple_doc::<meta::APIGroup>(
        v,
        &format!("/apis/{group}/"),
        &tag,
        &id,
        "get information of a group",
        READ_TYPES,
    )
}

fn version_doc(v: &str) -> Value {
    simple_doc::<k8s_openapi::apimachinery::pkg::version::Info>(
        v,
        "/version/",
        "version",
        "getCodeVersion",
        "get the version information for this server",
        &["application/json"],
    )
}

// ---------------------------------------------------------------------------------------------
// Swagger 2.0

/// The `/openapi/v2` document: every v3 document merged and converted to swagger 2.0.
pub fn v2_document(info_version: &str) -> Value {
    let mut paths = BTreeMap::new();
    let mut defs = BTreeMap::new();
    for (_, d) in v3_documents(info_version) {
        if let Some(p) = d["paths"].as_object() {
            for (k, item) in p {
                paths.insert(k.clone(), v2_path_item(item));
            }
        }
        if let Some(s) = d.pointer("/components/schemas").and_then(Value::as_object) {
            defs.extend(s.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    let doc = json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": info_version},
        "paths": paths.into_iter().collect::<Map<String, Value>>(),
        "definitions": defs.into_iter().collect::<Map<String, Value>>(),
        "securityDefinitions": {
            "BearerToken": {"description": "Bearer Token authentication", "type": "apiKey", "name": "authorization", "in": "header"}
        },
        "security": [{"BearerToken": []}],
    });
    // Swagger 2.0 refers to schemas under #/definitions/.
    let text = doc.to_string().replace(REF_PREFIX, "#/definitions/");
    let mut doc = serde_json::from_str(&text).unwrap_or(doc);
    unwrap_all_of(&mut doc);
    doc
}

/// kube's swagger 2.0 puts `$ref` beside `description` instead of a one-element `allOf`, and
/// kube-openapi's v2 model parser (kubectl 1.27/1.28 explain) only follows a direct `$ref`.
fn unwrap_all_of(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let single_ref = match m.get("allOf") {
                Some(Value::Array(a)) if a.len() == 1 => a[0].get("$ref").cloned(),
                _ => None,
            };
            if let Some(r) = single_ref {
                m.remove("allOf");
                m.remove("default");
                m.insert("$ref".into(), r);
            }
            m.values_mut().for_each(unwrap_all_of);
        }
        Value::Array(a) => a.iter_mut().for_each(unwrap_all_of),
        _ => {}
    }
}

fn v2_param(p: &Value) -> Value {
    let mut m = Map::new();
    if let Some(s) = p.get("schema") {
        m.insert("uniqueItems".into(), json!(true));
        m.insert("type".into(), s["type"].clone());
    }
    for k in ["description", "name", "in", "required"] {
        if let Some(v) = p.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    Value::Object(m)
}

fn v2_path_item(item: &Value) -> Value {
    let mut out = Map::new();
    let Some(obj) = item.as_object() else {
        return Value::Object(out);
    };
    for (k, v) in obj {
        if k == "parameters" {
            let ps: Vec<Value> = v
                .as_array()
                .map(|a| a.iter().map(v2_param).collect())
                .unwrap_or_default();
            out.insert(k.clone(), Value::Array(ps));
        } else {
            out.insert(k.clone(), v2_operation(v));
        }
    }
    Value::Object(out)
}

fn v2_operation(op: &Value) -> Value {
    let mut m = Map::new();
    m.insert("description".into(), op["description"].clone());
    let consumes: Vec<String> = op
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_else(|| vec!["*/*".into()]);
    m.insert("consumes".into(), json!(consumes));
    let mut produces: Vec<String> = Vec::new();
    let mut responses = Map::new();
    if let Some(rs) = op["responses"].as_object() {
        for (code, r) in rs {
            let mut out = Map::new();
            out.insert("description".into(), r["description"].clone());
            if let Some(c) = r["content"].as_object() {
                for (t, s) in c {
                    if !produces.contains(t) {
                        produces.push(t.clone());
                    }
                    out.insert("schema".into(), s["schema"].clone());
                }
            }
            responses.insert(code.clone(), Value::Object(out));
        }
    }
    m.insert("produces".into(), json!(produces));
    m.insert("schemes".into(), json!(["https"]));
    m.insert("tags".into(), op["tags"].clone());
    m.insert("operationId".into(), op["operationId"].clone());
    let mut params: Vec<Value> = Vec::new();
    if let Some(body) = op.get("requestBody") {
        let schema = body
            .pointer("/content")
            .and_then(Value::as_object)
            .and_then(|c| c.values().next())
            .map(|c| c["schema"].clone())
            .unwrap_or(Value::Null);
        let required = body.get("required").cloned().unwrap_or(json!(false));
        params.push(json!({"name": "body", "in": "body", "required": required, "schema": schema}));
    }
    if let Some(ps) = op["parameters"].as_array() {
        params.extend(ps.iter().map(v2_param));
    }
    if !params.is_empty() {
        m.insert("parameters".into(), Value::Array(params));
    }
    m.insert("responses".into(), Value::Object(responses));
    if let Some(a) = op.get("x-kubernetes-action") {
        m.insert("x-kubernetes-action".into(), a.clone());
    }
    if let Some(g) = op.get("x-kubernetes-group-version-kind") {
        // Swagger 2.0 lists the GVK keys sorted (group, kind, version).
        let gvk = json!({"group": g["group"], "kind": g["kind"], "version": g["version"]});
        m.insert("x-kubernetes-group-version-kind".into(), gvk);
    }
    Value::Object(m)
}
