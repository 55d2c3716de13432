//! The controllers and the pod "runtime" that make the stand-in feel like a cluster: the
//! namespace controller (default ServiceAccount, `kube-root-ca.crt`, finalization), the
//! garbage collector (ownerReferences, foreground deletion, finalizers), the job controller
//! (a Job creates its Pod and tracks its status) and a kubelet stand-in that schedules pods,
//! runs their containers' programs, records log lines over time and sets phases.
//!
//! A container's program is its `command` + `args` run by the built-in shell of [`crate::exec`]
//! (`echo`, `printf`, `sleep`, `cat`, `sh -c "a; b && c || exit 3"`, …); any other program writes `kube-standin.kbatch.dev/log-lines` lines (default 3), one every
//! `kube-standin.kbatch.dev/log-interval-ms` (default 200), and exits with
//! `kube-standin.kbatch.dev/exit-code` (default 0) — annotations on the pod.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::api::{now, random_suffix, stored_resource, timestamp, Api};
use crate::resources::{self, ResourceDef};
use crate::store::{EventType, Write};

/// The node every pod is scheduled to.
pub const NODE_NAME: &str = "standin-node";

/// One container's log: lines with their times, and whether the container has finished.
#[derive(Default)]
pub struct ContainerLog {
    state: Mutex<LogState>,
    changed: Option<watch::Sender<u64>>,
}

#[derive(Default, Clone)]
struct LogState {
    lines: Vec<(DateTime<Utc>, Bytes)>,
    done: bool,
}

impl ContainerLog {
    fn new() -> Self {
        let (tx, _) = watch::channel(0);
        ContainerLog {
            state: Mutex::new(LogState::default()),
            changed: Some(tx),
        }
    }

    fn push(&self, line: Bytes) {
        let n = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.lines.push((Utc::now(), line));
            s.lines.len() as u64
        };
        if let Some(tx) = &self.changed {
            tx.send_replace(n);
        }
    }

    fn finish(&self) {
        {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.done = true;
        }
        if let Some(tx) = &self.changed {
            tx.send_modify(|n| *n += 1);
        }
    }

    /// Lines from index `from`, and whether the container has finished.
    pub fn read(&self, from: usize) -> (Vec<(DateTime<Utc>, Bytes)>, bool) {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        (
            s.lines.get(from..).map(<[_]>::to_vec).unwrap_or_default(),
            s.done,
        )
    }

    /// A receiver that changes whenever a line is added or the container finishes.
    pub fn subscribe(&self) -> Option<watch::Receiver<u64>> {
        self.changed.as_ref().map(watch::Sender::subscribe)
    }
}

/// Container logs by (namespace, pod, container).
#[derive(Default)]
pub struct Runtime {
    logs: Mutex<HashMap<(String, String, String), Arc<ContainerLog>>>,
    started: Mutex<HashSet<String>>,
}

impl Runtime {
    /// The log of a container, if it has started.
    pub fn log(&self, ns: &str, pod: &str, container: &str) -> Option<Arc<ContainerLog>> {
        self.logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(ns.to_string(), pod.to_string(), container.to_string()))
            .cloned()
    }

    fn create_log(&self, ns: &str, pod: &str, container: &str) -> Arc<ContainerLog> {
        let log = Arc::new(ContainerLog::new());
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).insert(
            (ns.to_string(), pod.to_string(), container.to_string()),
            log.clone(),
        );
        log
    }
}

fn res(group: &str, plural: &str) -> &'static ResourceDef {
    stored_resource(group, plural).expect("controllers only touch registered resources")
}

/// Start every controller; they run until the runtime shuts down.
pub fn spawn_all(api: Arc<Api>, runtime: Arc<Runtime>) {
    tokio::spawn(namespace_bootstrap(api.clone()));
    tokio::spawn(reconcile_loop(api.clone()));
    tokio::spawn(kubelet(api, runtime));
}

async fn namespace_bootstrap(api: Arc<Api>) {
    let mut rx = api.store.subscribe();
    loop {
        match rx.recv().await {
            Ok(e) if e.plural == "namespaces" && e.kind == EventType::Added => {
                let ns = e.name.clone();
                ensure_namespace_defaults(&api, &ns);
            }
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(_) => return,
        }
    }
}

/// Create the default ServiceAccount and the root CA ConfigMap in a namespace.
pub fn ensure_namespace_defaults(api: &Api, ns: &str) {
    let t = timestamp(now());
    let sa = json!({"kind": "ServiceAccount", "apiVersion": "v1",
        "metadata": {"name": "default", "namespace": ns, "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": t}});
    let _ = api.store.write(
        res("", "serviceaccounts"),
        ns,
        "default",
        Write::Create(sa),
        None,
    );
    let cm = json!({"kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"name": "kube-root-ca.crt", "namespace": ns, "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": t,
            "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
        "data": {"ca.crt": "<stand-in CA>"}});
    let _ = api.store.write(
        res("", "configmaps"),
        ns,
        "kube-root-ca.crt",
        Write::Create(cm),
        None,
    );
}

/// Garbage collection, foreground deletion, namespace finalization and the job controller,
/// re-run on every change (and on a slow tick for delays).
async fn reconcile_loop(api: Arc<Api>) {
    let mut rx = api.store.subscribe();
    loop {
        gc_pass(&api);
        namespace_pass(&api);
        job_pass(&api);
        tokio::select! {
            r = rx.recv() => if let Err(tokio::sync::broadcast::error::RecvError::Closed) = r { return },
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

fn gc_pass(api: &Api) {
    let all = api.store.all();
    let uids: HashSet<String> = all
        .iter()
        .filter_map(|(_, o)| o["metadata"]["uid"].as_str().map(str::to_string))
        .collect();
    let owners_of = |o: &Value| -> Vec<String> {
        o["metadata"]["ownerReferences"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["uid"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    for ((group, plural, ns, name), o) in &all {
        let r = res(group, plural);
        let owners = owners_of(o);
        if !owners.is_empty() && owners.iter().all(|u| !uids.contains(u)) {
            delete_background(api, r, ns, name, o);
            continue;
        }
        let deleting = !o["metadata"]["deletionTimestamp"].is_null();
        let fins: Vec<String> = o["metadata"]["finalizers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if deleting && fins.iter().any(|f| f == "foregroundDeletion") {
            let uid = o["metadata"]["uid"].as_str().unwrap_or("");
            let dependents: Vec<_> = all
                .iter()
                .filter(|(_, d)| owners_of(d).iter().any(|u| u == uid))
                .collect();
            if dependents.is_empty() {
                let mut updated = o.clone();
                let kept: Vec<&String> =
                    fins.iter().filter(|f| *f != "foregroundDeletion").collect();
                updated["metadata"]["finalizers"] = json!(kept);
                if kept.is_empty() {
                    let _ = api.store.write(r, ns, name, Write::Delete, None);
                } else {
                    let _ = api.store.write(r, ns, name, Write::Update(updated), None);
                }
            } else {
                for ((g, p, dns, dname), d) in dependents {
                    delete_background(api, res(g, p), dns, dname, d);
                }
            }
        } else if deleting && fins.is_empty() && r.kind != "Namespace" {
            let _ = api.store.write(r, ns, name, Write::Delete, None);
        }
    }
}

fn delete_background(api: &Api, r: &'static ResourceDef, ns: &str, name: &str, o: &Value) {
    let has_fins = o["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    if has_fins {
        if o["metadata"]["deletionTimestamp"].is_null() {
            let mut u = o.clone();
            u["metadata"]["deletionTimestamp"] = json!(timestamp(now()));
            u["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            let _ = api.store.write(r, ns, name, Write::Update(u), None);
        }
    } else {
        let _ = api.store.write(r, ns, name, Write::Delete, None);
    }
}

fn namespace_pass(api: &Api) {
    let nsres = res("", "namespaces");
    let (namespaces, _) = api.store.list(nsres, None);
    for n in namespaces
        .iter()
        .filter(|n| !n["metadata"]["deletionTimestamp"].is_null())
    {
        let ns = n["metadata"]["name"].as_str().unwrap_or("").to_string();
        let content: Vec<_> = api
            .store
            .all()
            .into_iter()
            .filter(|(k, _)| k.2 == ns && !k.2.is_empty())
            .collect();
        for ((g, p, _, name), o) in &content {
            delete_background(api, res(g, p), &ns, name, o);
        }
        if content.is_empty() {
            let _ = api.store.write(nsres, "", &ns, Write::Delete, None);
        }
    }
}

fn job_pass(api: &Api) {
    let jobs_res = res("batch", "jobs");
    let pods_res = res("", "pods");
    let (jobs, _) = api.store.list(jobs_res, None);
    if jobs.is_empty() {
        return;
    }
    let (pods, _) = api.store.list(pods_res, None);
    for job in jobs {
        if !job["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let uid = job["metadata"]["uid"].as_str().unwrap_or("");
        let owned: Vec<&Value> = pods
            .iter()
            .filter(|p| {
                p["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|r| r["uid"] == uid))
            })
            .collect();
        reconcile_job(api, &job, &owned);
    }
}

fn reconcile_job(api: &Api, job: &Value, pods: &[&Value]) {
    let phase = |p: &&&Value| p["status"]["phase"].as_str().unwrap_or("").to_string();
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
    let failed = pods.iter().filter(|p| phase(p) == "Failed").count() as i64;
    let active = pods
        .iter()
        .filter(|p| phase(p) == "Pending" || phase(p) == "Running")
        .count() as i64;
    let ready = pods.iter().filter(|p| phase(p) == "Running").count() as i64;
    let completions = job["spec"]["completions"].as_i64().unwrap_or(1);
    let backoff = job["spec"]["backoffLimit"].as_i64().unwrap_or(6);
    let suspended = job["spec"]["suspend"].as_bool().unwrap_or(false);
    let finished = job["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
    });
    if !finished && !suspended && active == 0 && succeeded < completions && failed <= backoff {
        create_job_pod(api, job);
        return;
    }
    let mut status = job["status"].clone();
    if !status.is_object() {
        status = json!({});
    }
    let t = timestamp(now());
    if !suspended && status["startTime"].is_null() {
        status["startTime"] = json!(t);
    }
    set_count(&mut status, "active", active);
    set_count(&mut status, "succeeded", succeeded);
    set_count(&mut status, "failed", failed);
    status["ready"] = json!(ready);
    status["uncountedTerminatedPods"] = json!({});
    if !finished && succeeded >= completions {
        status["completionTime"] = json!(t);
        status["conditions"] = json!([
            {"type": "Complete", "status": "True", "lastProbeTime": t, "lastTransitionTime": t}
        ]);
    } else if !finished && failed > backoff {
        status["conditions"] = json!([
            {"type": "Failed", "status": "True", "lastProbeTime": t, "lastTransitionTime": t,
             "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}
        ]);
    }
    if status != job["status"] {
        let mut updated = job.clone();
        updated["status"] = status;
        let name = job["metadata"]["name"].as_str().unwrap_or("");
        let ns = job["metadata"]["namespace"].as_str().unwrap_or("");
        let rv = job["metadata"]["resourceVersion"].as_str();
        let _ = api
            .store
            .write(res("batch", "jobs"), ns, name, Write::Update(updated), rv);
    }
}

fn set_count(status: &mut Value, key: &str, n: i64) {
    if n > 0 {
        status[key] = json!(n);
    } else if let Some(m) = status.as_object_mut() {
        m.remove(key);
    }
}

fn create_job_pod(api: &Api, job: &Value) {
    let name = job["metadata"]["name"].as_str().unwrap_or("");
    let ns = job["metadata"]["namespace"].as_str().unwrap_or("");
    let template = &job["spec"]["template"];
    let mut meta = template["metadata"].clone();
    if !meta.is_object() {
        meta = json!({});
    }
    meta["name"] = json!(format!("{name}-{}", random_suffix(5)));
    meta["generateName"] = json!(format!("{name}-"));
    meta["namespace"] = json!(ns);
    meta["ownerReferences"] = json!([{
        "apiVersion": "batch/v1", "kind": "Job", "name": name,
        "uid": job["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true
    }]);
    if let Some(m) = meta.as_object_mut() {
        m.remove("creationTimestamp");
    }
    let mut labels = meta["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    meta["labels"] = labels;
    let pod =
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"]});
    let podres = res("", "pods");
    let req = crate::request::ApiRequest {
        verb: crate::request::Verb::Create,
        res: podres,
        main: podres,
        namespace: Some(ns.to_string()),
        name: None,
        query: crate::request::Query::parse(Some("fieldManager=kube-controller-manager")),
    };
    let user = crate::auth::UserInfo::authenticated("system:kube-controller-manager", &[]);
    let call = crate::api::Call {
        req: &req,
        user: &user,
        user_agent: Some("kube-controller-manager/v1.33.5"),
        accept: None,
        content_type: None,
        body: b"",
        authz: None,
    };
    if let Err(e) = api.create_object(podres, ns, pod, &call, false) {
        tracing::warn!(job = name, namespace = ns, error = %e, "job controller could not create a pod");
    }
}

async fn kubelet(api: Arc<Api>, runtime: Arc<Runtime>) {
    let mut rx = api.store.subscribe();
    loop {
        let (pods, _) = api.store.list(res("", "pods"), None);
        for pod in pods {
            let uid = pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
            if pod["status"]["phase"] != "Pending"
                || !pod["metadata"]["deletionTimestamp"].is_null()
            {
                continue;
            }
            let fresh = runtime
                .started
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(uid);
            if fresh {
                tokio::spawn(run_pod(api.clone(), runtime.clone(), pod));
            }
        }
        match rx.recv().await {
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            _ => continue,
        }
    }
}

fn update_pod(api: &Api, ns: &str, name: &str, f: impl Fn(&mut Value)) -> bool {
    let podres = res("", "pods");
    for _ in 0..5 {
        let Some(mut pod) = api.store.get(podres, ns, name) else {
            return false;
        };
        let rv = pod["metadata"]["resourceVersion"]
            .as_str()
            .map(str::to_string);
        f(&mut pod);
        if api
            .store
            .write(podres, ns, name, Write::Update(pod), rv.as_deref())
            .is_ok()
        {
            return true;
        }
    }
    false
}

async fn run_pod(api: Arc<Api>, runtime: Arc<Runtime>, pod: Value) {
    let ns = pod["metadata"]["namespace"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let containers: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let t = timestamp(now());
    let ip = format!("10.244.0.{}", 2 + (name.len() % 250));
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c["name"], "state": {"running": {"startedAt": t}}, "lastState": {},
            "ready": true, "restartCount": 0, "image": c["image"], "imageID": format!("docker.io/library/{}@sha256:0000", c["image"].as_str().unwrap_or("")),
            "containerID": format!("containerd://{}", uuid::Uuid::new_v4().simple()), "started": true}))
        .collect();
    let started = update_pod(&api, &ns, &name, |p| {
        p["spec"]["nodeName"] = json!(NODE_NAME);
        p["status"] = json!({
            "phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": t},
                {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": t},
                {"type": "ContainersReady", "status": "True", "lastProbeTime": null, "lastTransitionTime": t},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": t}
            ],
            "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
            "podIP": ip, "podIPs": [{"ip": ip}], "startTime": t,
            "containerStatuses": statuses, "qosClass": p["status"]["qosClass"].clone(),
        });
    });
    if !started {
        return;
    }
    let annotations = pod["metadata"]["annotations"].clone();
    let mut tasks = Vec::new();
    for c in &containers {
        let cname = c["name"].as_str().unwrap_or("").to_string();
        let log = runtime.create_log(&ns, &name, &cname);
        let (c, annotations, pod_name) = (c.clone(), annotations.clone(), name.clone());
        tasks.push(tokio::spawn(async move {
            let code = run_container(&c, &annotations, &pod_name, &log).await;
            log.finish();
            (cname, code)
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        if let Ok(r) = t.await {
            results.push(r);
        }
    }
    let restart = pod["spec"]["restartPolicy"].as_str().unwrap_or("Always");
    if restart == "Always" {
        return;
    }
    let all_ok = results.iter().all(|(_, c)| *c == 0);
    let done = timestamp(now());
    update_pod(&api, &ns, &name, |p| {
        p["status"]["phase"] = json!(if all_ok { "Succeeded" } else { "Failed" });
        if let Some(conds) = p["status"]["conditions"].as_array_mut() {
            for c in conds
                .iter_mut()
                .filter(|c| c["type"] == "Ready" || c["type"] == "ContainersReady")
            {
                c["status"] = json!("False");
                c["reason"] = json!("PodCompleted");
                c["lastTransitionTime"] = json!(done);
            }
        }
        if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
            for c in cs {
                let code = results
                    .iter()
                    .find(|(n, _)| c["name"] == *n)
                    .map(|(_, c)| *c)
                    .unwrap_or(0);
                let started = c["state"]["running"]["startedAt"].clone();
                c["state"] = json!({"terminated": {"exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" },
                    "startedAt": started, "finishedAt": done, "containerID": c["containerID"]}});
                c["ready"] = json!(false);
                c["started"] = json!(false);
            }
        }
    });
}

/// Run container `c` of pod `pod_name`: its `command` + `args` in the built-in shell, or the
/// default program when the shell does not have it. Returns the exit status.
async fn run_container(c: &Value, annotations: &Value, pod_name: &str, log: &ContainerLog) -> i32 {
    let argv: Vec<String> = ["command", "args"]
        .iter()
        .filter_map(|k| c[*k].as_array())
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    if !argv.is_empty() {
        let mut pending: Vec<u8> = Vec::new();
        let status = crate::exec::run_program(&argv, pod_name, |chunk| {
            // Logs are kept line by line, as the kubelet's log files are.
            pending.extend_from_slice(&chunk);
            while let Some(i) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=i).collect();
                log.push(Bytes::from(line));
            }
        })
        .await;
        if !pending.is_empty() {
            log.push(Bytes::from(pending));
        }
        if let Some(code) = status {
            return code;
        }
    }
    let ann = |k: &str| {
        annotations[format!("kube-standin.kbatch.dev/{k}")]
            .as_str()
            .and_then(|v| v.parse::<u64>().ok())
    };
    let lines = ann("log-lines").unwrap_or(3);
    let interval = Duration::from_millis(ann("log-interval-ms").unwrap_or(200));
    for i in 1..=lines {
        log.push(Bytes::from(format!("line {i} of {lines}\n")));
        tokio::time::sleep(interval).await;
    }
    ann("exit-code").unwrap_or(0) as i32
}

/// Seed a new cluster: the namespaces every cluster has, with their defaults.
pub fn bootstrap(api: &Api) {
    let nsres = resources::find("", "v1", "namespaces").expect("namespaces must be registered");
    let t = timestamp(now());
    for ns in ["default", "kube-node-lease", "kube-public", "kube-system"] {
        let obj = json!({"kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": ns, "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": t,
                "labels": {"kubernetes.io/metadata.name": ns}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
        let _ = api.store.write(nsres, "", ns, Write::Create(obj), None);
        ensure_namespace_defaults(api, ns);
    }
    crate::rbac::seed(&api.store);
}

/// Register [`NODE_NAME`], the node the kubelet stand-in schedules every pod to, as a Ready
/// node whose kubelet reports `kubelet_version` (kind's single node, minus the control plane).
pub fn seed_node(api: &Api, kubelet_version: &str) {
    let nodes = resources::find("", "v1", "nodes").expect("nodes must be registered");
    let mut node = node_object(&timestamp(now()), kubelet_version);
    crate::proto::order_keys(&mut node);
    let _ = api
        .store
        .write(nodes, "", NODE_NAME, Write::Create(node), None);
}

/// The seeded Node as a kubelet registers and updates it (`t`: creation and heartbeat time).
fn node_object(t: &str, kubelet_version: &str) -> Value {
    // kubelets stopped reporting kube-proxy's version in 1.31 (DisableNodeKubeProxyVersion).
    let minor = kubelet_version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    let proxy_version = if minor < 31 { kubelet_version } else { "" };
    let capacity = json!({"cpu": "8", "ephemeral-storage": "102626232Ki", "hugepages-1Gi": "0",
        "hugepages-2Mi": "0", "memory": "16369768Ki", "pods": "110"});
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "lastHeartbeatTime": t, "lastTransitionTime": t,
            "reason": reason, "message": message})
    };
    json!({"kind": "Node", "apiVersion": "v1",
    "metadata": {"name": NODE_NAME, "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": t,
        "labels": {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux"},
        "annotations": {"node.alpha.kubernetes.io/ttl": "0",
            "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
    "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
    "status": {
        "capacity": capacity, "allocatable": capacity,
        "conditions": [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}, {"type": "Hostname", "address": NODE_NAME}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {"machineID": "5b1e0b4a8f2d4c6e9a7b3c1d2e4f6a8b", "systemUUID": "5b1e0b4a-8f2d-4c6e-9a7b-3c1d2e4f6a8b",
            "bootID": "0e6b7f3c-2a1d-4e5f-8b9c-1d2e3f4a5b6c", "kernelVersion": "6.1.0-28-amd64",
            "osImage": "Debian GNU/Linux 12 (bookworm)", "containerRuntimeVersion": "containerd://1.7.18",
            "kubeletVersion": kubelet_version, "kubeProxyVersion": proxy_version,
            "operatingSystem": "linux", "architecture": "amd64"}
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(c: Value, annotations: Value) -> (Vec<String>, i32) {
        let log = ContainerLog::new();
        let code = run_container(&c, &annotations, "p", &log).await;
        let (lines, _) = log.read(0);
        let text = lines
            .into_iter()
            .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
            .collect();
        (text, code)
    }

    #[test]
    fn seeded_node_is_ready_and_reports_the_kubelet_version() {
        for (version, proxy) in [("v1.28.7", "v1.28.7"), ("v1.33.5", "")] {
            let node = node_object("2026-01-01T00:00:00Z", version);
            let ready = node["status"]["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
                .map(|c| c["status"].clone());
            assert_eq!(ready, Some(json!("True")));
            assert_eq!(node["metadata"]["name"], NODE_NAME);
            assert_eq!(node["status"]["nodeInfo"]["kubeletVersion"], version);
            assert_eq!(node["status"]["nodeInfo"]["kubeProxyVersion"], proxy);
            // The pods' hostIP is the node's InternalIP.
            assert_eq!(node["status"]["addresses"][0]["address"], "172.18.0.2");
            let mut unknown = Vec::new();
            let nodes = resources::find("", "v1", "nodes").expect("nodes");
            crate::typed::check(nodes, &node, &mut unknown).expect("a valid Node");
            assert!(unknown.is_empty(), "{unknown:?}");
        }
    }

    #[tokio::test]
    async fn programs_run_in_the_builtin_shell_or_default() {
        let (lines, code) = run(
            json!({"command": ["sh", "-c", "echo 'a b'; printf 'x'; exit 3"]}),
            json!({}),
        )
        .await;
        assert_eq!(lines, vec!["a b\n", "x"]);
        assert_eq!(code, 3);
        let (lines, code) = run(json!({"command": ["echo"], "args": ["hi"]}), json!({})).await;
        assert_eq!((lines, code), (vec!["hi\n".to_string()], 0));
        let ann = json!({"kube-standin.kbatch.dev/log-lines": "2", "kube-standin.kbatch.dev/log-interval-ms": "1", "kube-standin.kbatch.dev/exit-code": "4"});
        let (lines, code) = run(json!({"command": ["python", "x.py"]}), ann).await;
        assert_eq!(lines, vec!["line 1 of 2\n", "line 2 of 2\n"]);
        assert_eq!(code, 4);
    }
}
