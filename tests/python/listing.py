"""list_namespaced_pod / list_namespaced_config_map with label_selector, field_selector and
limit/_continue paging, and the 400 answers for bad selectors and continue tokens."""

import base64
import json

from kubernetes import client

from kstest import NS, check, eq, ensure_namespace, expect_status, load, run, wait_default_sa

api_client = load()
core = ensure_namespace(api_client)


def pod(name, labels, restart="Always"):
    return {"metadata": {"name": name, "labels": labels},
            "spec": {"restartPolicy": restart,
                     "containers": [{"name": "main", "image": "busybox",
                                     "command": ["sleep", "30"]}]}}


def selectors():
    wait_default_sa(core)
    core.create_namespaced_pod(NS, pod("p1", {"app": "py", "tier": "a"}))
    core.create_namespaced_pod(NS, pod("p2", {"app": "py", "tier": "b"}, restart="Never"))
    core.create_namespaced_pod(NS, pod("p3", {"app": "other"}, restart="Never"))

    def names(**kw):
        return [p.metadata.name for p in core.list_namespaced_pod(NS, **kw).items]

    eq(names(), ["p1", "p2", "p3"], "all pods, sorted by name")
    eq(names(label_selector="app=py"), ["p1", "p2"], "label app=py")
    eq(names(label_selector="app=py,tier!=b"), ["p1"], "label app=py,tier!=b")
    eq(names(label_selector="tier in (a,b)"), ["p1", "p2"], "label set-based in")
    eq(names(label_selector="!tier"), ["p3"], "label does-not-exist")
    eq(names(label_selector="tier"), ["p1", "p2"], "label exists")
    eq(names(field_selector="metadata.name=p2"), ["p2"], "field metadata.name")
    eq(names(field_selector="spec.restartPolicy=Never"), ["p2", "p3"], "field restartPolicy")
    eq(names(field_selector="status.phase!=Failed,metadata.name=p3"), ["p3"],
       "field phase!=Failed,name")
    eq(names(label_selector="app=py", field_selector="spec.restartPolicy=Never"), ["p2"],
       "label and field together")
    eq(names(label_selector="app=nothing"), [], "no match is an empty list")
    listed = core.list_namespaced_pod(NS, label_selector="app=nothing")
    eq(listed.items, [], "items is [] not None")
    check(listed.metadata.resource_version.isdigit(), "list resourceVersion")

    expect_status(core.list_namespaced_config_map, 400, "BadRequest", NS,
                  label_selector="tier===x",
                  message="unable to parse requirement: found '=', expected: identifier")
    expect_status(core.list_namespaced_config_map, 400, "BadRequest", NS,
                  field_selector="data.key=value",
                  message='"data.key" is not a known field selector: only "metadata.name", '
                          '"metadata.namespace"')
    expect_status(core.list_namespaced_pod, 400, "BadRequest", NS,
                  field_selector="spec.containers.image=busybox",
                  message="field label not supported: spec.containers.image")
    # Across namespaces (GET /api/v1/pods).
    everywhere = core.list_pod_for_all_namespaces(label_selector="app=py")
    eq([(p.metadata.namespace, p.metadata.name) for p in everywhere.items],
       [(NS, "p1"), (NS, "p2")], "list_pod_for_all_namespaces")


def paging():
    for i in range(5):
        core.create_namespaced_config_map(NS, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=f"page-{i}", labels={"paged": "yes"}),
            data={"i": str(i)}))
    seen, token, pages = [], None, 0
    while True:
        kw = {"_continue": token} if token else {}
        page = core.list_namespaced_config_map(NS, label_selector="paged=yes", limit=2, **kw)
        pages += 1
        seen += [c.metadata.name for c in page.items]
        token = page.metadata._continue
        if not token:
            eq(page.metadata.remaining_item_count, None, "no remainingItemCount on last page")
            break
        # With a selector the server cannot know how many remain: the field is left unset.
        eq(page.metadata.remaining_item_count, None, "remainingItemCount with a selector")
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        eq(decoded["v"], "meta.k8s.io/v1", "continue token version")
        eq(decoded["start"], seen[-1] + "\x00", "continue token start key")
        check(pages < 10, "paging does not end")
    eq(seen, [f"page-{i}" for i in range(5)], "all items once, in order")
    eq(pages, 3, "pages of 2")

    # Without a selector (kube-root-ca.crt is there too where a controller made it), the
    # server counts what remains.
    total = len(core.list_namespaced_config_map(NS).items)
    check(total >= 5, f"{total} configmaps")
    first = core.list_namespaced_config_map(NS, limit=1)
    eq(len(first.items), 1, "limit=1 gives one item")
    eq(first.metadata.remaining_item_count, total - 1, "remainingItemCount without a selector")
    rest = core.list_namespaced_config_map(NS, limit=100, _continue=first.metadata._continue)
    eq(len(rest.items), total - 1, "the rest in one page")
    eq(rest.metadata._continue, None, "no continue after the last page")

    _, body = expect_status(core.list_namespaced_config_map, 400, "BadRequest", NS, limit=1,
                            _continue="garbage")
    check(body["message"].startswith("invalid continue token"), body["message"])


run({"selectors": selectors, "paging": paging})
