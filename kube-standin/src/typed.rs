//! Typed decoding of objects with k8s-openapi's structs: finds unknown fields (for
//! `fieldValidation`) and mistyped values (400), as kube-apiserver's strict decoder does.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::resources::ResourceDef;

fn run<T: DeserializeOwned>(obj: &Value, unknown: &mut Vec<String>) -> Result<(), String> {
    let mut found = Vec::new();
    let r: Result<T, _> = serde_ignored::deserialize(obj.clone(), |path| {
        found.push(path.to_string());
    });
    // kind/apiVersion are TypeMeta, known to every kind even where the struct skips them.
    unknown.extend(
        found
            .into_iter()
            .filter(|p| p != "kind" && p != "apiVersion"),
    );
    r.map(|_| ()).map_err(|e| e.to_string())
}

/// Decode `obj` as the typed struct of `res`'s kind, collecting unknown field paths.
/// Kinds without a typed struct here pass unchecked.
pub fn check(res: &ResourceDef, obj: &Value, unknown: &mut Vec<String>) -> Result<(), String> {
    use k8s_openapi::api::{apps, batch, core, flowcontrol, policy, rbac, scheduling, storage};
    match (res.group, res.kind) {
        ("", "ConfigMap") => run::<core::v1::ConfigMap>(obj, unknown),
        ("", "Secret") => run::<core::v1::Secret>(obj, unknown),
        ("", "Pod") => run::<core::v1::Pod>(obj, unknown),
        ("", "Namespace") => run::<core::v1::Namespace>(obj, unknown),
        ("", "Node") => run::<core::v1::Node>(obj, unknown),
        ("", "Service") => run::<core::v1::Service>(obj, unknown),
        ("", "ServiceAccount") => run::<core::v1::ServiceAccount>(obj, unknown),
        ("", "Event") => run::<core::v1::Event>(obj, unknown),
        ("", "ReplicationController") => run::<core::v1::ReplicationController>(obj, unknown),
        ("batch", "Job") => run::<batch::v1::Job>(obj, unknown),
        ("batch", "CronJob") => run::<batch::v1::CronJob>(obj, unknown),
        ("apps", "Deployment") => run::<apps::v1::Deployment>(obj, unknown),
        ("apps", "DaemonSet") => run::<apps::v1::DaemonSet>(obj, unknown),
        ("apps", "ReplicaSet") => run::<apps::v1::ReplicaSet>(obj, unknown),
        ("apps", "StatefulSet") => run::<apps::v1::StatefulSet>(obj, unknown),
        ("policy", "PodDisruptionBudget") => run::<policy::v1::PodDisruptionBudget>(obj, unknown),
        ("rbac.authorization.k8s.io", "Role") => run::<rbac::v1::Role>(obj, unknown),
        ("rbac.authorization.k8s.io", "ClusterRole") => run::<rbac::v1::ClusterRole>(obj, unknown),
        ("rbac.authorization.k8s.io", "RoleBinding") => run::<rbac::v1::RoleBinding>(obj, unknown),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            run::<rbac::v1::ClusterRoleBinding>(obj, unknown)
        }
        ("storage.k8s.io", "StorageClass") => run::<storage::v1::StorageClass>(obj, unknown),
        ("scheduling.k8s.io", "PriorityClass") => {
            run::<scheduling::v1::PriorityClass>(obj, unknown)
        }
        ("flowcontrol.apiserver.k8s.io", "FlowSchema") => {
            run::<flowcontrol::v1::FlowSchema>(obj, unknown)
        }
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration") => {
            run::<flowcontrol::v1::PriorityLevelConfiguration>(obj, unknown)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::find;
    use serde_json::json;

    #[test]
    fn finds_unknown_and_mistyped_fields() {
        let cm = find("", "v1", "configmaps").expect("cm");
        let mut unknown = Vec::new();
        check(cm, &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "bogus": 1, "data": {"a": "b"}}), &mut unknown)
            .expect("decodes");
        assert_eq!(unknown, vec!["bogus"]);
        let mut unknown = Vec::new();
        assert!(check(
            cm,
            &json!({"metadata": {"name": "x"}, "data": ["a"]}),
            &mut unknown
        )
        .is_err());
        let job = find("batch", "v1", "jobs").expect("jobs");
        let mut unknown = Vec::new();
        check(job, &json!({"metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i", "bogus": true}]}}}}), &mut unknown)
            .expect("decodes");
        assert_eq!(unknown.len(), 1, "{unknown:?}");
    }
}
