//! Server-side defaulting (the scheme's `SetDefaults_*`, applied before field management) and
//! the mutating admission that follows it (ServiceAccount token volume, default tolerations,
//! priority), per kind, as kube-apiserver v1.28 fills objects in (`crud/*.txt` captures).

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::resources::ResourceDef;

mod kinds;

fn obj_mut<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v.get(key).is_some_and(Value::is_object) {
        v[key] = json!({});
    }
    match v.get_mut(key) {
        Some(Value::Object(m)) => m,
        _ => unreachable!("just set to an object"),
    }
}

fn set_default(m: &mut Map<String, Value>, key: &str, value: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.to_string(), value);
    }
}

/// Apply the scheme defaults for `res` to a decoded object (create and update).
pub fn apply(res: &ResourceDef, obj: &mut Value) {
    match (res.group, res.kind) {
        ("", "Pod") => {
            if let Some(spec) = obj.get_mut("spec") {
                pod_spec(spec);
                if let Some(m) = spec.as_object_mut() {
                    set_default(m, "enableServiceLinks", json!(true));
                }
            }
        }
        ("", "Namespace") => {
            if let Some(name) = obj["metadata"]["name"].as_str().map(str::to_string) {
                obj_mut(&mut obj["metadata"], "labels")
                    .insert("kubernetes.io/metadata.name".into(), json!(name));
            }
        }
        ("", "Secret") => secret(obj),
        ("", "Service") => service(obj),
        ("batch", "Job") => {
            let spec = obj_mut(obj, "spec");
            job_spec(spec);
        }
        ("batch", "CronJob") => cronjob(obj),
        ("apps", "Deployment") => deployment(obj),
        _ => {
            kinds::apply(res, obj);
        }
    }
}

/// Defaults of a PodSpec (also inside templates).
pub fn pod_spec(spec: &mut Value) {
    let Some(m) = spec.as_object_mut() else {
        return;
    };
    set_default(m, "restartPolicy", json!("Always"));
    set_default(m, "terminationGracePeriodSeconds", json!(30));
    set_default(m, "dnsPolicy", json!("ClusterFirst"));
    set_default(m, "securityContext", json!({}));
    set_default(m, "schedulerName", json!("default-scheduler"));
    for key in ["initContainers", "containers"] {
        if let Some(Value::Array(cs)) = m.get_mut(key) {
            cs.iter_mut().for_each(container);
        }
    }
    if let Some(Value::Array(vols)) = m.get_mut("volumes") {
        for v in vols {
            if let Some(cm) = v.get_mut("configMap").and_then(Value::as_object_mut) {
                set_default(cm, "defaultMode", json!(420));
            }
            if let Some(s) = v.get_mut("secret").and_then(Value::as_object_mut) {
                set_default(s, "defaultMode", json!(420));
            }
        }
    }
}

fn container(c: &mut Value) {
    let image_policy = match c["image"].as_str() {
        Some(image) if has_fixed_tag(image) => "IfNotPresent",
        _ => "Always",
    };
    let Some(m) = c.as_object_mut() else { return };
    set_default(m, "resources", json!({}));
    set_default(m, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(m, "terminationMessagePolicy", json!("File"));
    set_default(m, "imagePullPolicy", json!(image_policy));
    if let Some(Value::Array(ports)) = m.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(p, "protocol", json!("TCP"));
        }
    }
    if let Some(Value::Array(env)) = m.get_mut("env") {
        for e in env {
            if let Some(fr) = e
                .get_mut("valueFrom")
                .and_then(|v| v.get_mut("fieldRef"))
                .and_then(Value::as_object_mut)
            {
                set_default(fr, "apiVersion", json!("v1"));
            }
        }
    }
}

/// `imagePullPolicy` is `Always` for untagged or `:latest` images, `IfNotPresent` otherwise.
fn has_fixed_tag(image: &str) -> bool {
    if image.contains('@') {
        return true;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag != "latest",
        None => false,
    }
}

fn template(t: &mut Value) {
    let meta = obj_mut(t, "metadata");
    set_default(meta, "creationTimestamp", Value::Null);
    if let Some(spec) = t.get_mut("spec") {
        pod_spec(spec);
    }
}

fn job_spec(spec: &mut Map<String, Value>) {
    let completions_unset = spec.get("completions").is_none_or(Value::is_null);
    let parallelism_unset = spec.get("parallelism").is_none_or(Value::is_null);
    if completions_unset && parallelism_unset {
        spec.insert("completions".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    set_default(spec, "backoffLimit", json!(6));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    if let Some(t) = spec.get_mut("template") {
        template(t);
    }
}

/// Job fields set when a Job is created (`PrepareForCreate`): the generated selector and the
/// controller labels on the pod template.
pub fn job_on_create(obj: &mut Value) {
    let uid = obj["metadata"]["uid"].as_str().unwrap_or("").to_string();
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    let manual = obj["spec"]["manualSelector"].as_bool().unwrap_or(false);
    if manual {
        return;
    }
    obj["spec"]["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
    let labels = obj_mut(
        obj_mut_path(obj, &["spec", "template", "metadata"]),
        "labels",
    );
    labels.insert("batch.kubernetes.io/controller-uid".into(), json!(uid));
    labels.insert("batch.kubernetes.io/job-name".into(), json!(name));
    labels.insert("controller-uid".into(), json!(uid));
    labels.insert("job-name".into(), json!(name));
    // A Job without labels of its own takes its template's (crud/job.txt, job-gen-…).
    let template_labels = Value::Object(labels.clone());
    if obj["metadata"]["labels"]
        .as_object()
        .is_none_or(serde_json::Map::is_empty)
    {
        obj["metadata"]["labels"] = template_labels;
    }
}

fn obj_mut_path<'a>(v: &'a mut Value, path: &[&str]) -> &'a mut Value {
    let mut cur = v;
    for p in path {
        if !cur.get(*p).is_some_and(Value::is_object) {
            cur[*p] = json!({});
        }
        cur = &mut cur[*p];
    }
    cur
}

fn cronjob(obj: &mut Value) {
    let spec = obj_mut(obj, "spec");
    set_default(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(jt) = spec.get_mut("jobTemplate") {
        set_default(obj_mut(jt, "metadata"), "creationTimestamp", Value::Null);
        if let Some(t) = jt.get_mut("spec").and_then(|s| s.get_mut("template")) {
            template(t);
        }
    }
}

fn deployment(obj: &mut Value) {
    let spec = obj_mut(obj, "spec");
    set_default(spec, "replicas", json!(1));
    set_default(
        spec,
        "strategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
    );
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    if let Some(t) = spec.get_mut("template") {
        template(t);
    }
}

fn secret(obj: &mut Value) {
    if let Some(Value::Object(sd)) = obj.as_object_mut().and_then(|m| m.remove("stringData")) {
        let data = obj_mut(obj, "data");
        for (k, v) in sd {
            let s = v.as_str().unwrap_or("");
            data.insert(
                k,
                json!(base64::engine::general_purpose::STANDARD.encode(s.as_bytes())),
            );
        }
    }
    if let Some(m) = obj.as_object_mut() {
        set_default(m, "type", json!("Opaque"));
    }
}

fn service(obj: &mut Value) {
    let spec = obj_mut(obj, "spec");
    set_default(spec, "type", json!("ClusterIP"));
    set_default(spec, "sessionAffinity", json!("None"));
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(p, "protocol", json!("TCP"));
            if let Some(port) = p.get("port").cloned() {
                set_default(p, "targetPort", port);
            }
        }
    }
    set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
    set_default(spec, "ipFamilies", json!(["IPv4"]));
    set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if matches!(ty.as_str(), "NodePort" | "LoadBalancer") {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
}

/// The cluster-wide allocators a Service create draws from.
pub trait Allocator {
    /// A free ClusterIP (reserved unless the create is a dry run).
    fn cluster_ip(&mut self) -> String;
    /// A free node port in the service-node-port-range (reserved unless a dry run).
    fn node_port(&mut self) -> u32;
}

/// Mutating admission after field management: ServiceAccount (token volume, SA name),
/// DefaultTolerationSeconds and Priority for pods; initial status for new objects.
pub fn admit_create(res: &ResourceDef, obj: &mut Value, suffix: &str, alloc: &mut dyn Allocator) {
    match (res.group, res.kind) {
        ("", "Pod") => admit_pod(obj, suffix),
        ("", "Namespace") => {
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
        }
        ("", "Service") => admit_service(obj, alloc),
        ("batch", "Job") | ("batch", "CronJob") | ("apps", "Deployment")
            if obj.get("status").is_none_or(|s| !s.is_object()) =>
        {
            obj["status"] = json!({});
        }
        _ => {
            if let Some(status) = kinds::initial_status(res) {
                obj["status"] = status;
            }
        }
    }
}

/// The Service REST's create: a ClusterIP unless one is given (`None` for headless) or the
/// Service is an ExternalName, `clusterIPs` from `clusterIP`, and a node port for every port
/// that lacks one on NodePort and LoadBalancer Services (unless
/// `allocateLoadBalancerNodePorts: false`).
fn admit_service(obj: &mut Value, alloc: &mut dyn Allocator) {
    let spec = obj_mut(obj, "spec");
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    if ty != "ExternalName" {
        let given = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .filter(|ip| !ip.is_empty())
            .map(str::to_string);
        let ip = given.unwrap_or_else(|| {
            let ip = alloc.cluster_ip();
            spec.insert("clusterIP".into(), json!(ip));
            ip
        });
        let has_ips = spec
            .get("clusterIPs")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if !has_ips {
            spec.insert("clusterIPs".into(), json!([ip]));
        }
    }
    let node_ports = ty == "NodePort"
        || (ty == "LoadBalancer"
            && spec
                .get("allocateLoadBalancerNodePorts")
                .and_then(Value::as_bool)
                != Some(false));
    if let Some(Value::Array(ports)) = spec.get_mut("ports").filter(|_| node_ports) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            if p.get("nodePort").and_then(Value::as_u64).unwrap_or(0) == 0 {
                p.insert("nodePort".into(), json!(alloc.node_port()));
            }
        }
    }
    obj["status"] = json!({"loadBalancer": {}});
}

fn admit_pod(obj: &mut Value, suffix: &str) {
    let spec = obj_mut(obj, "spec");
    let sa = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
        .to_string();
    spec.insert("serviceAccountName".into(), json!(sa));
    spec.insert("serviceAccount".into(), json!(sa));
    let automount = spec
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if automount {
        let vol_name = format!("kube-api-access-{suffix}");
        let volume = json!({
            "name": vol_name,
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                ],
                "defaultMode": 420
            }
        });
        let vols = spec.entry("volumes").or_insert_with(|| json!([]));
        if let Some(a) = vols.as_array_mut() {
            a.push(volume);
        }
        let mount = json!({"name": vol_name, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"});
        for key in ["initContainers", "containers"] {
            if let Some(Value::Array(cs)) = spec.get_mut(key) {
                for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                    let mounts = c.entry("volumeMounts").or_insert_with(|| json!([]));
                    if let Some(a) = mounts.as_array_mut() {
                        a.push(mount.clone());
                    }
                }
            }
        }
    }
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if let Some(a) = tolerations.as_array_mut() {
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            if !a.iter().any(|t| t["key"] == key) {
                a.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
            }
        }
    }
    set_default(spec, "priority", json!(0));
    set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    let qos = qos_class(&obj["spec"]);
    obj["status"] = json!({"phase": "Pending", "qosClass": qos});
}

/// The pod QoS class from container resources.
pub fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = ["initContainers", "containers"]
        .iter()
        .filter_map(|k| spec[*k].as_array())
        .flatten()
        .collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in &containers {
        let req = c["resources"]["requests"].as_object();
        let lim = c["resources"]["limits"].as_object();
        if req.is_some_and(|m| !m.is_empty()) || lim.is_some_and(|m| !m.is_empty()) {
            any = true;
        }
        for r in ["cpu", "memory"] {
            let l = lim.and_then(|m| m.get(r));
            let q = req.and_then(|m| m.get(r)).or(l);
            if l.is_none() || q != l {
                guaranteed = false;
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::find;

    /// Pods draw nothing from the Service allocators.
    struct NoAllocator;

    impl Allocator for NoAllocator {
        fn cluster_ip(&mut self) -> String {
            unreachable!("pods get no ClusterIP")
        }
        fn node_port(&mut self) -> u32 {
            unreachable!("pods get no node port")
        }
    }

    #[test]
    fn job_defaults_match_capture() {
        let res = find("batch", "v1", "jobs").expect("jobs");
        let mut job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "job1", "uid": "u1"},
            "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "busybox", "command": ["true"]}], "restartPolicy": "Never"}}}});
        apply(res, &mut job);
        job_on_create(&mut job);
        assert_eq!(job["spec"]["parallelism"], 1);
        assert_eq!(job["spec"]["completions"], 1);
        assert_eq!(job["spec"]["backoffLimit"], 6);
        assert_eq!(
            job["spec"]["template"]["metadata"]["creationTimestamp"],
            Value::Null
        );
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"]["job-name"],
            "job1"
        );
        assert_eq!(
            job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
            "u1"
        );
        let c = &job["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    }

    #[test]
    fn pod_admission_and_qos() {
        let res = find("", "v1", "pods").expect("pods");
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}});
        apply(res, &mut pod);
        admit_create(res, &mut pod, "abcde", &mut NoAllocator);
        assert_eq!(
            pod["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(pod["spec"]["volumes"][0]["name"], "kube-api-access-abcde");
        assert_eq!(pod["spec"]["tolerations"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            pod["status"],
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
        assert_eq!(pod["spec"]["enableServiceLinks"], true);
    }

    #[test]
    fn secret_string_data_is_merged() {
        let res = find("", "v1", "secrets").expect("secrets");
        let mut s = json!({"metadata": {"name": "s"}, "stringData": {"username": "alice"}});
        apply(res, &mut s);
        assert_eq!(s["data"]["username"], "YWxpY2U=");
        assert_eq!(s["type"], "Opaque");
        assert!(s.get("stringData").is_none());
    }
}
