//! The strategic-merge-patch metadata (`patchStrategy` / `patchMergeKey` struct tags of
//! `k8s.io/api` v0.33) for the kinds the stand-in serves, as a hand-written tree.
//!
//! k8s-openapi's schemas do not carry these tags, so this table is the stand-in's substitute
//! for Go reflection. Only paths that lead to a list with `patchStrategy:"merge"` are listed:
//! every other field behaves as "no strategy" (maps merge key by key, lists are replaced),
//! which is what kube-apiserver does for a field without tags.

/// What a (sub)schema knows about its fields.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Schema {
    /// No field below carries a patch strategy.
    Opaque,
    /// A struct with the listed fields; unlisted fields are [`Schema::Opaque`] without strategy.
    Struct(&'static [Field]),
}

/// How a list field merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// No tag: lists are replaced wholesale, maps merge.
    None,
    /// `patchStrategy:"merge"` with this `patchMergeKey` (`""` for lists of primitives).
    Merge(&'static str),
}

/// One tagged field: its JSON name, strategy and the schema of its value (list element).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    name: &'static str,
    strategy: Strategy,
    schema: Schema,
}

const fn st(name: &'static str, fields: &'static [Field]) -> Field {
    Field {
        name,
        strategy: Strategy::None,
        schema: Schema::Struct(fields),
    }
}

const fn merge(name: &'static str, key: &'static str) -> Field {
    Field {
        name,
        strategy: Strategy::Merge(key),
        schema: Schema::Opaque,
    }
}

const fn merge_of(name: &'static str, key: &'static str, fields: &'static [Field]) -> Field {
    Field {
        name,
        strategy: Strategy::Merge(key),
        schema: Schema::Struct(fields),
    }
}

const OBJECT_META: &[Field] = &[merge("ownerReferences", "uid"), merge("finalizers", "")];
const CONTAINER: &[Field] = &[
    merge("ports", "containerPort"),
    merge("env", "name"),
    merge("volumeMounts", "mountPath"),
    merge("volumeDevices", "devicePath"),
];
const POD_SPEC: &[Field] = &[
    merge("volumes", "name"),
    merge_of("initContainers", "name", CONTAINER),
    merge_of("containers", "name", CONTAINER),
    merge_of("ephemeralContainers", "name", CONTAINER),
    merge("imagePullSecrets", "name"),
    merge("hostAliases", "ip"),
    merge("topologySpreadConstraints", "topologyKey"),
    merge("schedulingGates", "name"),
    merge("resourceClaims", "name"),
];
const POD_STATUS: &[Field] = &[
    merge("conditions", "type"),
    merge("hostIPs", "ip"),
    merge("podIPs", "ip"),
    merge("resourceClaimStatuses", "name"),
];
const POD_TEMPLATE: &[Field] = &[st("metadata", OBJECT_META), st("spec", POD_SPEC)];
const CONDITIONS: &[Field] = &[merge("conditions", "type")];
const WITH_TEMPLATE: &[Field] = &[st("template", POD_TEMPLATE)];
const JOB_TEMPLATE: &[Field] = &[st("metadata", OBJECT_META), st("spec", WITH_TEMPLATE)];
const CRONJOB_SPEC: &[Field] = &[st("jobTemplate", JOB_TEMPLATE)];
const SERVICE_SPEC: &[Field] = &[merge("ports", "port")];

const POD: &[Field] = &[
    st("metadata", OBJECT_META),
    st("spec", POD_SPEC),
    st("status", POD_STATUS),
];
const WORKLOAD: &[Field] = &[
    st("metadata", OBJECT_META),
    st("spec", WITH_TEMPLATE),
    st("status", CONDITIONS),
];
const CRONJOB: &[Field] = &[st("metadata", OBJECT_META), st("spec", CRONJOB_SPEC)];
const SERVICE: &[Field] = &[
    st("metadata", OBJECT_META),
    st("spec", SERVICE_SPEC),
    st("status", CONDITIONS),
];
const SERVICE_ACCOUNT: &[Field] = &[st("metadata", OBJECT_META), merge("secrets", "name")];
const NAMESPACE: &[Field] = &[st("metadata", OBJECT_META), st("status", CONDITIONS)];
const PLAIN: &[Field] = &[st("metadata", OBJECT_META)];

/// The schema of a whole object of `kind` (ConfigMap, Secret, Event, Scale… have only metadata).
pub(crate) fn for_kind(kind: &str) -> Schema {
    Schema::Struct(match kind {
        "Pod" => POD,
        "Job" | "Deployment" => WORKLOAD,
        "CronJob" => CRONJOB,
        "Service" => SERVICE,
        "ServiceAccount" => SERVICE_ACCOUNT,
        "Namespace" => NAMESPACE,
        _ => PLAIN,
    })
}

impl Schema {
    /// The schema and strategy of field `key` (a list field's schema is its element's).
    pub(crate) fn field(self, key: &str) -> (Schema, Strategy) {
        match self {
            Schema::Opaque => (Schema::Opaque, Strategy::None),
            Schema::Struct(fields) => fields
                .iter()
                .find(|f| f.name == key)
                .map_or((Schema::Opaque, Strategy::None), |f| (f.schema, f.strategy)),
        }
    }
}
