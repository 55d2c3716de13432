//! RBAC from stored objects, the bootstrap policy, escalation prevention, the kinds a Helm
//! chart renders (`apply --dry-run=server` and for real), and namespace field selectors —
//! all through real kubectl against the API stand-in (its bearer-token users have no grants of
//! their own, so everything they may do comes from the RBAC objects the tests create).

mod support;

use kube_standin::auth::UserInfo;
use kube_standin::kubeconfig::Credential;
use kube_standin::server::StandInConfig;
use support::cluster::{Cluster, Kubectl};

const KUBECTL: &str = "1.33";

/// A stand-in with users `xavier` and `yves` (bearer tokens, no grants) and namespaces `a`, `b`.
fn cluster() -> Cluster {
    let cfg = StandInConfig {
        users: vec![
            (
                "xavier-token".into(),
                UserInfo::authenticated("xavier", &["team".into()]),
            ),
            ("yves-token".into(), UserInfo::authenticated("yves", &[])),
        ],
        ..StandInConfig::default()
    };
    let (c, _) = Cluster::start_standin(cfg, &[]);
    let admin = c.kubectl(KUBECTL, None);
    admin.ok(&["create", "namespace", "a"]);
    admin.ok(&["create", "namespace", "b"]);
    c
}

fn user(c: &Cluster, name: &str) -> Kubectl {
    let token = format!("{name}-token");
    c.kubectl_with(
        KUBECTL,
        c.kubeconfig_for(name, &Credential::Token(token), None),
    )
}

fn stdout_of(k: &Kubectl, args: &[&str]) -> String {
    String::from_utf8_lossy(&k.run_with_stdin(args, None).stdout)
        .trim()
        .to_string()
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n";

#[test]
fn edit_binding_grants_in_its_namespace_only() {
    let c = cluster();
    let admin = c.kubectl(KUBECTL, None);
    let x = user(&c, "xavier");
    assert_eq!(
        stdout_of(&x, &["auth", "can-i", "create", "pods", "-n", "a"]),
        "no"
    );
    admin.ok(&[
        "create",
        "rolebinding",
        "x-edit",
        "--clusterrole=edit",
        "--user=xavier",
        "-n",
        "a",
    ]);
    let out = x.run_with_stdin(&["create", "-n", "a", "-f", "-"], Some(POD));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = x.run_with_stdin(&["create", "-n", "b", "-f", "-"], Some(POD));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"pods is forbidden: User "xavier" cannot create resource "pods" in API group "" in the namespace "b""#),
        "{err}"
    );
    x.ok(&["logs", "p", "-n", "a"]);
    assert_eq!(
        stdout_of(&x, &["auth", "can-i", "create", "pods", "-n", "a"]),
        "yes"
    );
    assert_eq!(
        stdout_of(&x, &["auth", "can-i", "get", "pods/log", "-n", "a"]),
        "yes"
    );
    assert_eq!(
        stdout_of(&x, &["auth", "can-i", "create", "pods", "-n", "b"]),
        "no"
    );
    assert_eq!(
        stdout_of(&x, &["auth", "can-i", "create", "rolebindings", "-n", "a"]),
        "no"
    );
    // The admin asking as xavier (impersonation) gets the same answers.
    assert_eq!(
        stdout_of(
            &admin,
            &["auth", "can-i", "create", "pods", "-n", "a", "--as", "xavier"]
        ),
        "yes"
    );
    assert_eq!(
        stdout_of(
            &admin,
            &["auth", "can-i", "create", "pods", "-n", "b", "--as", "xavier"]
        ),
        "no"
    );
    assert_eq!(
        stdout_of(
            &admin,
            &[
                "auth",
                "can-i",
                "delete",
                "jobs",
                "-n",
                "a",
                "--as",
                "someone",
                "--as-group",
                "team"
            ]
        ),
        "no"
    );
    let list = admin.ok(&["auth", "can-i", "--list", "-n", "a", "--as", "xavier"]);
    assert!(
        list.lines().any(|l| l.starts_with("pods ")
            && l.contains("[create delete deletecollection patch update get list watch]")),
        "{list}"
    );
    assert!(
        list.contains("selfsubjectaccessreviews.authorization.k8s.io"),
        "{list}"
    );
    // Impersonated requests are authorized by the bindings too.
    admin.ok(&["get", "pods", "-n", "a", "--as", "xavier"]);
    let err = admin.fails(&["get", "pods", "-n", "b", "--as", "xavier"]);
    assert!(
        err.contains(r#"User "xavier" cannot list resource "pods""#),
        "{err}"
    );
    // Group subjects, including system:authenticated.
    admin.ok(&[
        "create",
        "rolebinding",
        "all-view",
        "--clusterrole=view",
        "--group=system:authenticated",
        "-n",
        "b",
    ]);
    let y = user(&c, "yves");
    y.ok(&["get", "pods", "-n", "b"]);
    assert_eq!(
        stdout_of(&y, &["auth", "can-i", "get", "secrets", "-n", "b"]),
        "no"
    );
    // kubectl get shows the printers' columns.
    let table = admin.ok(&["get", "rolebindings", "-n", "a"]);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "ROLE", "AGE"]);
    assert!(table.contains("ClusterRole/edit"), "{table}");
    let wide = admin.ok(&["get", "rolebindings", "-n", "a", "-o", "wide"]);
    assert!(wide.contains("xavier"), "{wide}");
    let roles = admin.ok(&["get", "clusterroles"]);
    assert!(roles.starts_with("NAME"), "{roles}");
    assert!(
        roles.lines().next().unwrap_or("").contains("CREATED AT"),
        "{roles}"
    );
    for name in ["admin", "edit", "view", "cluster-admin"] {
        assert!(
            roles
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{roles}"
        );
    }
}

#[test]
fn bootstrap_cluster_roles_look_real() {
    let c = cluster();
    let admin = c.kubectl(KUBECTL, None);
    let edit: serde_json::Value =
        serde_json::from_str(&admin.ok(&["get", "clusterrole", "edit", "-o", "json"]))
            .expect("json");
    assert_eq!(
        edit["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"]
            ["rbac.authorization.k8s.io/aggregate-to-edit"],
        "true"
    );
    assert_eq!(
        edit["metadata"]["labels"]["kubernetes.io/bootstrapping"],
        "rbac-defaults"
    );
    assert_eq!(edit["rules"][0]["resources"][0], "pods/attach");
    let yaml = admin.ok(&["get", "clusterrole", "cluster-admin", "-o", "yaml"]);
    assert!(yaml.contains("nonResourceURLs:\n  - '*'"), "{yaml}");
    let crb = admin.ok(&["get", "clusterrolebinding", "cluster-admin", "-o", "wide"]);
    assert!(
        crb.contains("ClusterRole/cluster-admin") && crb.contains("system:masters"),
        "{crb}"
    );
}

#[test]
fn escalation_is_refused_as_kube_refuses_it() {
    let c = cluster();
    let admin = c.kubectl(KUBECTL, None);
    admin.ok(&[
        "create",
        "rolebinding",
        "x-admin",
        "--clusterrole=admin",
        "--user=xavier",
        "-n",
        "a",
    ]);
    let x = user(&c, "xavier");
    // Holding admin in `a` covers edit there.
    x.ok(&[
        "create",
        "rolebinding",
        "y-edit",
        "--clusterrole=edit",
        "--user=yves",
        "-n",
        "a",
    ]);
    let err = x.fails(&[
        "create",
        "rolebinding",
        "y-root",
        "--clusterrole=cluster-admin",
        "--user=yves",
        "-n",
        "a",
    ]);
    assert!(
        err.contains(r#"rolebindings.rbac.authorization.k8s.io "y-root" is forbidden: user "xavier" (groups=["team" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:"#),
        "{err}"
    );
    assert!(
        err.contains(r#"{APIGroups:["*"], Resources:["*"], Verbs:["*"]}"#),
        "{err}"
    );
    let err = x.fails(&[
        "create",
        "role",
        "nodes",
        "--verb=get",
        "--resource=storageclasses",
        "-n",
        "a",
    ]);
    assert!(
        err.contains(r#"roles.rbac.authorization.k8s.io "nodes" is forbidden: user "xavier""#),
        "{err}"
    );
    assert!(
        err.contains(
            r#"{APIGroups:["storage.k8s.io"], Resources:["storageclasses"], Verbs:["get"]}"#
        ),
        "{err}"
    );
    x.ok(&[
        "create",
        "role",
        "pod-reader",
        "--verb=get",
        "--resource=pods",
        "-n",
        "a",
    ]);
    // Outside `a` xavier holds nothing; dry-run is checked too.
    let err = x.fails(&[
        "create",
        "rolebinding",
        "v",
        "--clusterrole=view",
        "--user=yves",
        "-n",
        "a",
        "--dry-run=server",
        "--namespace=b",
    ]);
    assert!(err.contains("forbidden"), "{err}");
    // roleRef is immutable, even for the admin.
    let rb = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: y-edit\n  namespace: a\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: view\nsubjects:\n- kind: User\n  name: yves\n  apiGroup: rbac.authorization.k8s.io\n";
    let out = admin.run_with_stdin(
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        Some(rb),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"view"}: cannot change roleRef"#),
        "{err}"
    );
}

/// What `helm template` renders for a typical chart (and a FlowSchema with its level).
const CHART: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  labels: {app.kubernetes.io/name: app, helm.sh/chart: app-1.0.0}
---
apiVersion: v1
kind: Secret
metadata:
  name: app
type: Opaque
stringData:
  token: s3cret
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  config.yaml: "a: 1"
---
apiVersion: v1
kind: Service
metadata:
  name: app
spec:
  selector: {app.kubernetes.io/name: app}
  ports:
  - {name: http, port: 80, targetPort: http}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 2
  selector:
    matchLabels: {app.kubernetes.io/name: app}
  template:
    metadata:
      labels: {app.kubernetes.io/name: app}
    spec:
      serviceAccountName: app
      containers:
      - name: app
        image: nginx:1.27
        ports: [{name: http, containerPort: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers: [{name: db, image: postgres:16}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers: [{name: agent, image: busybox}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: app
spec:
  minAvailable: 1
  selector:
    matchLabels: {app.kubernetes.io/name: app}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: app
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: app
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: app
subjects:
- kind: ServiceAccount
  name: app
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: app-reader
rules:
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: app-reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: app-reader
subjects:
- kind: ServiceAccount
  name: app
  namespace: a
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata:
  name: app
spec:
  type: Limited
  limited:
    limitResponse:
      type: Queue
      queuing: {queues: 16}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata:
  name: app
spec:
  priorityLevelConfiguration: {name: app}
  distinguisherMethod: {type: ByUser}
  rules:
  - subjects:
    - kind: ServiceAccount
      serviceAccount: {name: app, namespace: a}
    resourceRules:
    - {verbs: ["*"], apiGroups: ["*"], resources: ["*"], namespaces: ["*"]}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: app-high
value: 1000
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
provisioner: example.com/fast
"#;

#[test]
fn helm_rendered_kinds_apply_server_side_dry_run_and_for_real() {
    let c = cluster();
    let admin = c.kubectl(KUBECTL, Some("a"));
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "-f", "-"];
        args.extend_from_slice(extra);
        let out = admin.run_with_stdin(&args, Some(CHART));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        text
    };
    let dry = apply(&["--dry-run=server"]);
    assert!(
        dry.contains("flowschema.flowcontrol.apiserver.k8s.io/app created (server dry run)"),
        "{dry}"
    );
    assert!(admin.fails(&["get", "pdb", "app"]).contains("NotFound"));
    let real = apply(&[]);
    for line in [
        "poddisruptionbudget.policy/app created",
        "rolebinding.rbac.authorization.k8s.io/app created",
        "statefulset.apps/db created",
        "storageclass.storage.k8s.io/fast created",
    ] {
        assert!(real.contains(line), "{real}");
    }
    let again = apply(&[]);
    assert!(again.contains("deployment.apps/app unchanged"), "{again}");
    let pdb = admin.ok(&["get", "pdb"]);
    let header: Vec<&str> = pdb
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "NAME",
            "MIN",
            "AVAILABLE",
            "MAX",
            "UNAVAILABLE",
            "ALLOWED",
            "DISRUPTIONS",
            "AGE"
        ]
    );
    assert!(pdb.contains("N/A"), "{pdb}");
    let fs = admin.ok(&["get", "flowschema", "app"]);
    assert!(
        fs.contains("PRIORITYLEVEL") && fs.contains("ByUser") && fs.contains("1000"),
        "{fs}"
    );
    let plc: serde_json::Value = serde_json::from_str(&admin.ok(&[
        "get",
        "prioritylevelconfiguration",
        "app",
        "-o",
        "json",
    ]))
    .expect("json");
    assert_eq!(plc["spec"]["limited"]["nominalConcurrencyShares"], 30);
    assert_eq!(
        plc["spec"]["limited"]["limitResponse"]["queuing"]["handSize"],
        8
    );
    let sts = admin.ok(&["get", "sts", "db"]);
    assert!(sts.contains("0/1"), "{sts}");
    let sc = admin.ok(&["get", "sc"]);
    assert!(
        sc.contains("example.com/fast") && sc.contains("Delete") && sc.contains("Immediate"),
        "{sc}"
    );
    admin.ok(&["get", "pc", "app-high"]);
    admin.ok(&["get", "ds,rs,deploy,sa,secret,cm,svc,role,rolebinding"]);
    // The ServiceAccount is authorized by its RoleBinding (namespace defaulted from the binding).
    assert_eq!(
        stdout_of(
            &admin,
            &[
                "auth",
                "can-i",
                "list",
                "configmaps",
                "--as",
                "system:serviceaccount:a:app"
            ]
        ),
        "yes"
    );
    assert_eq!(
        stdout_of(
            &admin,
            &[
                "auth",
                "can-i",
                "list",
                "namespaces",
                "--as",
                "system:serviceaccount:a:app"
            ]
        ),
        "yes"
    );
    assert_eq!(
        stdout_of(
            &admin,
            &[
                "auth",
                "can-i",
                "list",
                "secrets",
                "--as",
                "system:serviceaccount:a:app"
            ]
        ),
        "no"
    );
}

#[test]
fn invalid_manifests_are_refused_with_kube_messages() {
    let c = cluster();
    let admin = c.kubectl(KUBECTL, Some("a"));
    let cases = [
        (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: bad}\nroleRef: {name: view}\nsubjects: [{kind: User, name: x}]\n",
            r#"The RoleBinding "bad" is invalid: roleRef.kind: Unsupported value: "": supported values: "Role", "ClusterRole""#,
        ),
        (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: bad}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: ServiceAccount, name: x}]\n",
            r#"subjects[0].namespace: Required value"#,
        ),
        (
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: bad}\nspec: {minAvailable: 1, maxUnavailable: 1}\n",
            "minAvailable and maxUnavailable cannot be both set",
        ),
        (
            "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfiguration\nmetadata: {name: bad}\nspec: {type: Limited}\n",
            "spec.limited: Required value: must not be empty when type is Limited",
        ),
        (
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: bad}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: c, image: i}]}\n",
            "`selector` does not match template `labels`",
        ),
    ];
    for (manifest, want) in cases {
        let out = admin.run_with_stdin(&["apply", "--dry-run=server", "-f", "-"], Some(manifest));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(want),
            "{manifest}\n{err}"
        );
    }
}

#[test]
fn namespaces_filter_by_field_selector() {
    let c = cluster();
    let admin = c.kubectl(KUBECTL, None);
    admin.ok(&["label", "namespace", "a", "team=x"]);
    let out = admin.ok(&[
        "get",
        "ns",
        "--field-selector",
        "metadata.name=a",
        "-o",
        "name",
    ]);
    assert_eq!(out.trim(), "namespace/a");
    let out = admin.ok(&[
        "get",
        "ns",
        "--field-selector",
        "metadata.name=a",
        "-l",
        "team=y",
        "-o",
        "name",
    ]);
    assert_eq!(out.trim(), "");
    let out = admin.ok(&[
        "get",
        "ns",
        "--field-selector",
        "metadata.name!=a,status.phase=Active",
        "-o",
        "name",
    ]);
    assert!(
        !out.contains("namespace/a\n") && out.contains("namespace/b"),
        "{out}"
    );
    let table = admin.ok(&["get", "ns", "--field-selector", "metadata.name=b"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].starts_with("NAME") && lines[1].starts_with("b "),
        "{table}"
    );
    let page: serde_json::Value = serde_json::from_str(&admin.ok(&[
        "get",
        "--raw",
        "/api/v1/namespaces?fieldSelector=metadata.name%21%3Da&limit=1",
    ]))
    .expect("json");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    let token = page["metadata"]["continue"]
        .as_str()
        .expect("continue token");
    assert!(
        page["metadata"].get("remainingItemCount").is_none(),
        "{page}"
    );
    let next: serde_json::Value = serde_json::from_str(&admin.ok(&[
        "get",
        "--raw",
        &format!("/api/v1/namespaces?fieldSelector=metadata.name%21%3Da&limit=1&continue={token}"),
    ]))
    .expect("json");
    assert_ne!(
        next["items"][0]["metadata"]["name"],
        page["items"][0]["metadata"]["name"]
    );
    assert_ne!(next["items"][0]["metadata"]["name"], "a");
    let events = admin.ok(&[
        "get",
        "--raw",
        "/api/v1/namespaces?watch=1&fieldSelector=metadata.name%3Da&timeoutSeconds=1",
    ]);
    let names: Vec<String> = events
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|e| {
            e["object"]["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(names, ["a"]);
    let err = admin.fails(&["get", "ns", "--field-selector", "spec.x=a"]);
    assert!(
        err.contains(r#"field label not supported: spec.x"#),
        "{err}"
    );
}
