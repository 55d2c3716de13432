//! Row cells of each server-side printer (`pkg/printers/internalversion/printers.go`, wide mode).
//!
//! Objects are read as the stand-in stores them (v1 JSON, already defaulted). Where the printers
//! read internal-API fields that the v1→internal conversion fills (`podIPs` from `podIP`,
//! `clusterIPs` from `clusterIP`), the fallback is done here. Cell JSON types follow the Go
//! values: `int64` cells are numbers even when the column says `string`.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::duration::{human_duration, since};
use super::selector::{format_label_selector, format_labels, selector_string};
use crate::resources::ResourceDef;

mod kinds;

pub(super) use kinds::flow_schema_order;

/// The printers the stand-in has; kinds without one get the default table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Printer {
    Pod,
    Job,
    CronJob,
    ConfigMap,
    Secret,
    Namespace,
    Node,
    Event,
    Service,
    ServiceAccount,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    ReplicationController,
    PodDisruptionBudget,
    RoleBinding,
    ClusterRoleBinding,
    PriorityClass,
    StorageClass,
    FlowSchema,
    PriorityLevelConfiguration,
}

impl Printer {
    /// The printer registered for `res`, `None` for the default table.
    pub(super) fn for_resource(res: &ResourceDef) -> Option<Printer> {
        Some(match (res.group, res.plural) {
            ("", "pods") => Printer::Pod,
            ("batch", "jobs") => Printer::Job,
            ("batch", "cronjobs") => Printer::CronJob,
            ("", "configmaps") => Printer::ConfigMap,
            ("", "secrets") => Printer::Secret,
            ("", "namespaces") => Printer::Namespace,
            ("", "nodes") => Printer::Node,
            ("", "events") => Printer::Event,
            ("", "services") => Printer::Service,
            ("", "serviceaccounts") => Printer::ServiceAccount,
            ("apps", "deployments") => Printer::Deployment,
            ("apps", "statefulsets") => Printer::StatefulSet,
            ("apps", "daemonsets") => Printer::DaemonSet,
            ("apps", "replicasets") => Printer::ReplicaSet,
            ("", "replicationcontrollers") => Printer::ReplicationController,
            ("policy", "poddisruptionbudgets") => Printer::PodDisruptionBudget,
            ("rbac.authorization.k8s.io", "rolebindings") => Printer::RoleBinding,
            ("rbac.authorization.k8s.io", "clusterrolebindings") => Printer::ClusterRoleBinding,
            ("scheduling.k8s.io", "priorityclasses") => Printer::PriorityClass,
            ("storage.k8s.io", "storageclasses") => Printer::StorageClass,
            ("flowcontrol.apiserver.k8s.io", "flowschemas") => Printer::FlowSchema,
            ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations") => {
                Printer::PriorityLevelConfiguration
            }
            _ => return None,
        })
    }
}

/// The cells of one row and its `conditions` (only pods that ran to completion have some).
pub(super) fn cells(
    printer: Option<Printer>,
    obj: &Value,
    now: DateTime<Utc>,
) -> (Vec<Value>, Option<Value>) {
    let cells = match printer {
        Some(Printer::Pod) => return pod(obj, now),
        Some(Printer::Job) => job(obj, now),
        Some(Printer::CronJob) => cronjob(obj, now),
        Some(Printer::ConfigMap) => configmap(obj, now),
        Some(Printer::Secret) => secret(obj, now),
        Some(Printer::Namespace) => namespace(obj, now),
        Some(Printer::Node) => kinds::node(obj, now),
        Some(Printer::Event) => event(obj, now),
        Some(Printer::Service) => service(obj, now),
        Some(Printer::ServiceAccount) => service_account(obj, now),
        Some(Printer::Deployment) => deployment(obj, now),
        Some(Printer::StatefulSet) => kinds::statefulset(obj, now),
        Some(Printer::DaemonSet) => kinds::daemonset(obj, now),
        Some(Printer::ReplicaSet) => kinds::replicaset(obj, now),
        Some(Printer::ReplicationController) => kinds::replication_controller(obj, now),
        Some(Printer::PodDisruptionBudget) => kinds::pdb(obj, now),
        Some(Printer::RoleBinding | Printer::ClusterRoleBinding) => kinds::binding(obj, now),
        Some(Printer::PriorityClass) => kinds::priority_class(obj, now),
        Some(Printer::StorageClass) => kinds::storage_class(obj, now),
        Some(Printer::FlowSchema) => kinds::flow_schema(obj, now),
        Some(Printer::PriorityLevelConfiguration) => kinds::priority_level(obj, now),
        None => default_cells(obj),
    };
    (cells, None)
}

// ---- small accessors ------------------------------------------------------------------------

fn at<'a>(obj: &'a Value, pointer: &str) -> Option<&'a Value> {
    obj.pointer(pointer).filter(|v| !v.is_null())
}

fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    at(obj, pointer).and_then(Value::as_str).unwrap_or("")
}

fn int_at(obj: &Value, pointer: &str) -> i64 {
    at(obj, pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn len_at(obj: &Value, pointer: &str) -> i64 {
    let n = match at(obj, pointer) {
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(m)) => m.len(),
        _ => 0,
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn items<'a>(obj: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> {
    at(obj, pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// An RFC 3339 timestamp (seconds or micro-seconds), `None` when unset or unparsable.
fn time_at(obj: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    let s = at(obj, pointer)?.as_str()?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn name(obj: &Value) -> Value {
    json!(str_at(obj, "/metadata/name"))
}

fn age(obj: &Value, now: DateTime<Utc>) -> Value {
    json!(since(time_at(obj, "/metadata/creationTimestamp"), now))
}

fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".to_string()
    } else {
        s.to_string()
    }
}

/// `layoutContainerCells`: container names and images, comma-separated.
fn containers_and_images(obj: &Value, pointer: &str) -> [Value; 2] {
    let (names, images): (Vec<&str>, Vec<&str>) = items(obj, pointer)
        .map(|c| (str_at(c, "/name"), str_at(c, "/image")))
        .unzip();
    [json!(names.join(",")), json!(images.join(","))]
}

// ---- pods -----------------------------------------------------------------------------------

/// Restart count and the latest `lastState.terminated.finishedAt` over some container statuses.
#[derive(Default)]
struct Restarts {
    count: i64,
    last: Option<DateTime<Utc>>,
}

impl Restarts {
    fn add(&mut self, status: &Value) {
        self.count += int_at(status, "/restartCount");
        if at(status, "/lastState/terminated").is_some() {
            let finished = time_at(status, "/lastState/terminated/finishedAt");
            if finished > self.last {
                self.last = finished;
            }
        }
    }
}

fn has_condition(obj: &Value, pointer: &str, kind: &str) -> bool {
    items(obj, pointer)
        .find(|c| str_at(c, "/type") == kind)
        .is_some_and(|c| str_at(c, "/status") == "True")
}

fn is_restartable_init(pod: &Value, name: &str) -> bool {
    items(pod, "/spec/initContainers")
        .any(|c| str_at(c, "/name") == name && str_at(c, "/restartPolicy") == "Always")
}

/// `printPod`: NAME, READY, STATUS, RESTARTS, AGE, IP, NODE, NOMINATED NODE, READINESS GATES.
fn pod(pod: &Value, now: DateTime<Utc>) -> (Vec<Value>, Option<Value>) {
    let phase = str_at(pod, "/status/phase");
    let mut reason = match str_at(pod, "/status/reason") {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    let gated = items(pod, "/status/conditions")
        .any(|c| str_at(c, "/type") == "PodScheduled" && str_at(c, "/reason") == "SchedulingGated");
    if gated {
        reason = "SchedulingGated".to_string();
    }
    let conditions = match phase {
        "Succeeded" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
        ),
        "Failed" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]),
        ),
        _ => None,
    };
    let sidecars = items(pod, "/spec/initContainers")
        .filter(|c| str_at(c, "/restartPolicy") == "Always")
        .count();
    let total = len_at(pod, "/spec/containers") + i64::try_from(sidecars).unwrap_or(0);
    let mut ready = 0;
    let (mut all, mut sidecar) = (Restarts::default(), Restarts::default());
    let initializing = init_containers(pod, &mut reason, &mut ready, &mut all, &mut sidecar);
    if !initializing || has_condition(pod, "/status/conditions", "Initialized") {
        all = sidecar;
        main_containers(pod, &mut reason, &mut ready, &mut all);
    }
    if at(pod, "/metadata/deletionTimestamp").is_some() {
        if str_at(pod, "/status/reason") == "NodeLost" {
            reason = "Unknown".to_string();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".to_string();
        }
    }
    let restarts = match all.last {
        Some(last) if all.count != 0 => {
            format!("{} ({} ago)", all.count, human_duration(now - last))
        }
        _ => all.count.to_string(),
    };
    let mut cells = vec![
        name(pod),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts),
        age(pod, now),
    ];
    cells.extend(pod_wide(pod));
    (cells, conditions)
}

/// The init-container pass of `printPod`; returns whether the pod is still initializing.
fn init_containers(
    pod: &Value,
    reason: &mut String,
    ready: &mut i64,
    all: &mut Restarts,
    sidecar: &mut Restarts,
) -> bool {
    let total = len_at(pod, "/spec/initContainers");
    for (i, c) in items(pod, "/status/initContainerStatuses").enumerate() {
        all.add(c);
        let restartable = is_restartable_init(pod, str_at(c, "/name"));
        if restartable {
            sidecar.add(c);
        }
        let terminated = at(c, "/state/terminated");
        let waiting_reason = str_at(c, "/state/waiting/reason");
        if terminated.is_some() && int_at(c, "/state/terminated/exitCode") == 0 {
            continue;
        }
        if restartable && at(c, "/started").and_then(Value::as_bool) == Some(true) {
            if at(c, "/ready").and_then(Value::as_bool) == Some(true) {
                *ready += 1;
            }
            continue;
        }
        *reason = if let Some(t) = terminated {
            match (str_at(t, "/reason"), int_at(t, "/signal")) {
                ("", 0) => format!("Init:ExitCode:{}", int_at(t, "/exitCode")),
                ("", signal) => format!("Init:Signal:{signal}"),
                (r, _) => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{total}")
        };
        return true;
    }
    false
}

/// The container pass of `printPod` (last status first, as kube iterates).
fn main_containers(pod: &Value, reason: &mut String, ready: &mut i64, all: &mut Restarts) {
    let statuses: Vec<&Value> = items(pod, "/status/containerStatuses").collect();
    let mut has_running = false;
    for c in statuses.iter().rev() {
        all.add(c);
        let waiting = str_at(c, "/state/waiting/reason");
        let terminated = at(c, "/state/terminated");
        if at(c, "/state/waiting").is_some() && !waiting.is_empty() {
            *reason = waiting.to_string();
        } else if let Some(t) = terminated {
            *reason = match (str_at(t, "/reason"), int_at(t, "/signal")) {
                ("", 0) => format!("ExitCode:{}", int_at(t, "/exitCode")),
                ("", signal) => format!("Signal:{signal}"),
                (r, _) => r.to_string(),
            };
        } else if at(c, "/ready").and_then(Value::as_bool) == Some(true)
            && at(c, "/state/running").is_some()
        {
            has_running = true;
            *ready += 1;
        }
    }
    if reason == "Completed" && has_running {
        *reason = if has_condition(pod, "/status/conditions", "Ready") {
            "Running".to_string()
        } else {
            "NotReady".to_string()
        };
    }
}

/// IP, NODE, NOMINATED NODE, READINESS GATES.
fn pod_wide(pod: &Value) -> [Value; 4] {
    let ip = match str_at(pod, "/status/podIPs/0/ip") {
        "" => str_at(pod, "/status/podIP"),
        ip => ip,
    };
    let gates: Vec<&Value> = items(pod, "/spec/readinessGates").collect();
    let readiness = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let passed = gates
            .iter()
            .filter(|g| has_condition(pod, "/status/conditions", str_at(g, "/conditionType")))
            .count();
        format!("{passed}/{}", gates.len())
    };
    [
        json!(or_none(ip)),
        json!(or_none(str_at(pod, "/spec/nodeName"))),
        json!(or_none(str_at(pod, "/status/nominatedNodeName"))),
        json!(readiness),
    ]
}

// ---- batch ----------------------------------------------------------------------------------

/// `printJob` (v1.28): NAME, COMPLETIONS, DURATION, AGE, CONTAINERS, IMAGES, SELECTOR.
fn job(job: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let succeeded = int_at(job, "/status/succeeded");
    let completions = match at(job, "/spec/completions").and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => match int_at(job, "/spec/parallelism") {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = time_at(job, "/status/startTime");
    let duration = match (start, time_at(job, "/status/completionTime")) {
        (None, _) => String::new(),
        (Some(s), None) => human_duration(now - s),
        (Some(s), Some(c)) => human_duration(c - s),
    };
    let [names, images] = containers_and_images(job, "/spec/template/spec/containers");
    vec![
        name(job),
        json!(completions),
        json!(duration),
        age(job, now),
        names,
        images,
        json!(format_label_selector(at(job, "/spec/selector"))),
    ]
}

/// `printCronJob` (v1.28): SUSPEND is the string `"True"`/`"False"`/`"<unset>"` and ACTIVE a
/// number, whatever their declared column types say.
fn cronjob(cj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let suspend = match at(cj, "/spec/suspend").and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let last = match time_at(cj, "/status/lastScheduleTime") {
        Some(t) => human_duration(now - t),
        None => "<none>".to_string(),
    };
    let template = "/spec/jobTemplate/spec";
    let [names, images] =
        containers_and_images(cj, &format!("{template}/template/spec/containers"));
    vec![
        name(cj),
        json!(str_at(cj, "/spec/schedule")),
        json!(suspend),
        json!(len_at(cj, "/status/active")),
        json!(last),
        age(cj, now),
        names,
        images,
        json!(format_label_selector(at(
            cj,
            &format!("{template}/selector")
        ))),
    ]
}

// ---- core kinds -----------------------------------------------------------------------------

fn configmap(cm: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let data = len_at(cm, "/data") + len_at(cm, "/binaryData");
    vec![name(cm), json!(data), age(cm, now)]
}

fn secret(s: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(s),
        json!(str_at(s, "/type")),
        json!(len_at(s, "/data")),
        age(s, now),
    ]
}

fn namespace(ns: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(ns), json!(str_at(ns, "/status/phase")), age(ns, now)]
}

fn service_account(sa: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(sa), json!(len_at(sa, "/secrets")), age(sa, now)]
}

/// `printEvent`: LAST SEEN, TYPE, REASON, OBJECT, SUBOBJECT, SOURCE, MESSAGE, FIRST SEEN,
/// COUNT (a number), NAME.
fn event(ev: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let first = match time_at(ev, "/firstTimestamp") {
        Some(t) => human_duration(now - t),
        None => since(time_at(ev, "/eventTime"), now),
    };
    let mut last = match time_at(ev, "/lastTimestamp") {
        Some(t) => human_duration(now - t),
        None => first.clone(),
    };
    let mut count = int_at(ev, "/count");
    if at(ev, "/series").is_some() {
        last = since(time_at(ev, "/series/lastObservedTime"), now);
        count = int_at(ev, "/series/count");
    } else if count == 0 {
        // Singleton events of the new API carry no count.
        count = 1;
    }
    let kind = str_at(ev, "/involvedObject/kind").to_lowercase();
    let target = match str_at(ev, "/involvedObject/name") {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    vec![
        json!(last),
        json!(str_at(ev, "/type")),
        json!(str_at(ev, "/reason")),
        json!(target),
        json!(str_at(ev, "/involvedObject/fieldPath")),
        json!(event_source(ev)),
        json!(str_at(ev, "/message").trim()),
        json!(first),
        json!(count),
        name(ev),
    ]
}

/// `formatEventSource`: `component[, host]`, falling back to the reporting controller/instance.
fn event_source(ev: &Value) -> String {
    let first_non_empty = |a: &'static str, b: &'static str| match str_at(ev, a) {
        "" => str_at(ev, b).to_string(),
        s => s.to_string(),
    };
    let component = first_non_empty("/source/component", "/reportingComponent");
    let instance = first_non_empty("/source/host", "/reportingInstance");
    if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    }
}

/// `printService`: NAME, TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S), AGE, SELECTOR.
fn service(svc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let cluster_ip = match str_at(svc, "/spec/clusterIPs/0") {
        "" => str_at(svc, "/spec/clusterIP"),
        ip => ip,
    };
    let ports: Vec<String> = items(svc, "/spec/ports")
        .map(|p| {
            let (port, proto) = (int_at(p, "/port"), str_at(p, "/protocol"));
            match int_at(p, "/nodePort") {
                n if n > 0 => format!("{port}:{n}/{proto}"),
                _ => format!("{port}/{proto}"),
            }
        })
        .collect();
    vec![
        name(svc),
        json!(str_at(svc, "/spec/type")),
        json!(or_none(cluster_ip)),
        json!(service_external_ip(svc)),
        json!(or_none(&ports.join(","))),
        age(svc, now),
        json!(format_labels(at(svc, "/spec/selector"))),
    ]
}

/// `getServiceExternalIP` in wide mode (load-balancer addresses are not clipped).
fn service_external_ip(svc: &Value) -> String {
    let external: Vec<&str> = items(svc, "/spec/externalIPs")
        .filter_map(Value::as_str)
        .collect();
    match str_at(svc, "/spec/type") {
        "ClusterIP" | "NodePort" => or_none(&external.join(",")),
        "LoadBalancer" => {
            let mut lb: Vec<&str> = items(svc, "/status/loadBalancer/ingress")
                .map(|i| match str_at(i, "/ip") {
                    "" => str_at(i, "/hostname"),
                    ip => ip,
                })
                .filter(|s| !s.is_empty())
                .collect();
            lb.sort_unstable();
            lb.dedup();
            lb.extend(external);
            if lb.is_empty() {
                "<pending>".to_string()
            } else {
                lb.join(",")
            }
        }
        "ExternalName" => str_at(svc, "/spec/externalName").to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// `printDeployment`: NAME, READY, UP-TO-DATE, AVAILABLE, AGE, CONTAINERS, IMAGES, SELECTOR.
fn deployment(d: &Value, now: DateTime<Utc>) -> Vec<Value> {
    // The internal type's replicas is defaulted to 1 when unset.
    let desired = at(d, "/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let ready = int_at(d, "/status/readyReplicas");
    let [names, images] = containers_and_images(d, "/spec/template/spec/containers");
    let selector = selector_string(at(d, "/spec/selector")).unwrap_or_else(|()| "<invalid>".into());
    vec![
        name(d),
        json!(format!("{ready}/{desired}")),
        json!(int_at(d, "/status/updatedReplicas")),
        json!(int_at(d, "/status/availableReplicas")),
        age(d, now),
        names,
        images,
        json!(selector),
    ]
}

/// The default table's cells: name and `creationTimestamp` in RFC 3339 (Go's zero time when unset).
fn default_cells(obj: &Value) -> Vec<Value> {
    let created = match time_at(obj, "/metadata/creationTimestamp") {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "0001-01-01T00:00:00Z".to_string(),
    };
    vec![name(obj), json!(created)]
}
