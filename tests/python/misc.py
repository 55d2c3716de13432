"""load_kube_config, namespace creation, VersionApi().get_code() and SelfSubjectAccessReview."""

from kubernetes import client, config

from kstest import NS, STANDIN, check, eq, ensure_namespace, expect_status, load, run, wait_for


def kubeconfig():
    contexts, active = config.list_kube_config_contexts()
    eq(len(contexts), 1, "number of contexts")
    eq(active["context"].get("namespace"), NS, "context namespace")
    api_client = load()
    host = api_client.configuration.host
    check(host.startswith("https://"), f"unexpected host {host}")
    core = ensure_namespace(api_client)
    got = core.read_namespace(NS)
    eq(got.metadata.name, NS, "read_namespace name")
    eq(got.metadata.labels.get("kubernetes.io/metadata.name"), NS, "namespace name label")
    eq(got.spec.finalizers, ["kubernetes"], "namespace spec.finalizers")
    if STANDIN:
        namespace_controller(core)
    expect_status(core.read_namespace, 404, "NotFound", "no-such-ns-xyz",
                  message='namespaces "no-such-ns-xyz" not found')


def namespace_controller(core):
    """The namespace controller fills in the default ServiceAccount and the root CA ConfigMap."""
    wait_for("default ServiceAccount",
             lambda: [s for s in core.list_namespaced_service_account(NS).items
                      if s.metadata.name == "default"])
    wait_for("kube-root-ca.crt ConfigMap",
             lambda: [c for c in core.list_namespaced_config_map(NS).items
                      if c.metadata.name == "kube-root-ca.crt"])


def version():
    api_client = load()
    info = client.VersionApi(api_client).get_code()
    eq(info.major, "1", "version major")
    check(info.minor.isdigit() and int(info.minor) >= 27, f"version minor {info.minor!r}")
    check(info.git_version.startswith(f"v1.{info.minor}."), f"gitVersion {info.git_version!r}")
    for field in ("git_commit", "git_tree_state", "build_date", "go_version", "compiler",
                  "platform"):
        check(getattr(info, field), f"version {field} is empty: {info}")


def access_review():
    api_client = load()
    authz = client.AuthorizationV1Api(api_client)
    review = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                namespace=NS, verb="create", group="batch", resource="jobs")))
    got = authz.create_self_subject_access_review(review)
    eq(got.kind, "SelfSubjectAccessReview", "review kind")
    eq(got.api_version, "authorization.k8s.io/v1", "review apiVersion")
    eq(got.spec.resource_attributes.resource, "jobs", "review echoes spec")
    eq(got.status.allowed, True, "admin may create jobs")
    nonres = authz.create_self_subject_access_review(
        {"spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}})
    eq(nonres.status.allowed, True, "admin may get /healthz")
    e, body = expect_status(authz.create_self_subject_access_review, 422, "Invalid",
                            {"spec": {}})
    eq(body["details"]["kind"], "SelfSubjectAccessReview", "422 details.kind")
    check(body["details"].get("causes"), f"422 has causes: {body}")


run({"kubeconfig": kubeconfig, "version": version, "access_review": access_review})
