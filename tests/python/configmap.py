"""ConfigMap through CoreV1Api: create/read/replace, the three patch flavours, delete with
V1DeleteOptions, delete_collection, and ApiException for 404, 409 AlreadyExists, 409 Conflict
(stale resourceVersion) and 422 Invalid (causes parsed from the body)."""

import json

from kubernetes import client

from kstest import NS, check, eq, ensure_namespace, expect_status, load, run, wait_for

api_client = load()
core = ensure_namespace(api_client)


def cm(name, data=None, labels=None):
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels=labels), data=data)


def crud():
    created = core.create_namespaced_config_map(NS, cm("cm1", {"a": "1"}, {"app": "py"}))
    eq(created.metadata.name, "cm1", "created name")
    eq(created.metadata.namespace, NS, "created namespace")
    check(created.metadata.uid, "uid is set")
    check(created.metadata.resource_version.isdigit(), "resourceVersion is a number")
    check(created.metadata.creation_timestamp is not None, "creationTimestamp is set")
    eq(created.metadata.generation, None, "ConfigMaps have no generation")
    mf = created.metadata.managed_fields
    eq(len(mf), 1, "one managedFields entry")
    eq(mf[0].manager, "OpenAPI-Generator", "manager from the User-Agent")
    eq(mf[0].operation, "Update", "managedFields operation")

    got = core.read_namespaced_config_map("cm1", NS)
    eq(got.data, {"a": "1"}, "read data")
    eq(got.metadata.resource_version, created.metadata.resource_version, "read RV")

    got.data["b"] = "2"
    replaced = core.replace_namespaced_config_map("cm1", NS, got)
    eq(replaced.data, {"a": "1", "b": "2"}, "replaced data")
    check(int(replaced.metadata.resource_version) > int(got.metadata.resource_version),
          "replace bumps resourceVersion")

    # A dict body is sent as a strategic merge patch.
    p1 = core.patch_namespaced_config_map("cm1", NS, {"data": {"c": "3"},
                                                      "metadata": {"labels": {"s": "m"}}})
    eq(p1.data, {"a": "1", "b": "2", "c": "3"}, "strategic merge patch data")
    eq(p1.metadata.labels, {"app": "py", "s": "m"}, "strategic merge patch labels")

    # A list body is sent as a JSON patch.
    p2 = core.patch_namespaced_config_map("cm1", NS, [
        {"op": "remove", "path": "/data/a"},
        {"op": "replace", "path": "/data/b", "value": "two"},
        {"op": "add", "path": "/metadata/labels/jp", "value": "yes"},
    ])
    eq(p2.data, {"b": "two", "c": "3"}, "JSON patch data")
    eq(p2.metadata.labels, {"app": "py", "s": "m", "jp": "yes"}, "JSON patch labels")

    # A failing JSON-patch test operation is 422.
    expect_status(core.patch_namespaced_config_map, 422, "Invalid", "cm1", NS,
                  [{"op": "test", "path": "/data/b", "value": "nope"}])

    # Merge patch: the client has no per-call content type; the default header is the way.
    merge_client = load()
    merge_client.set_default_header("Content-Type", "application/merge-patch+json")
    merged = client.CoreV1Api(merge_client).patch_namespaced_config_map(
        "cm1", NS, {"data": {"c": None, "d": "4"}, "metadata": {"labels": {"s": None}}})
    eq(merged.data, {"b": "two", "d": "4"}, "merge patch data (null removes)")
    eq(merged.metadata.labels, {"app": "py", "jp": "yes"}, "merge patch labels")

    status = core.delete_namespaced_config_map(
        "cm1", NS, body=client.V1DeleteOptions(propagation_policy="Background"))
    eq(status.status, "Success", "delete status")
    eq(status.details.name, "cm1", "delete details.name")
    eq(status.details.kind, "configmaps", "delete details.kind")
    eq(status.details.uid, created.metadata.uid, "delete details.uid")
    expect_status(core.read_namespaced_config_map, 404, "NotFound", "cm1", NS,
                  message='configmaps "cm1" not found')


def foreground_delete():
    core.create_namespaced_config_map(NS, cm("fg", {"k": "v"}))
    resp = core.delete_namespaced_config_map(
        "fg", NS, body=client.V1DeleteOptions(propagation_policy="Foreground"),
        _preload_content=False)
    eq(resp.status, 200, "foreground delete HTTP status")
    obj = json.loads(resp.data)
    eq(obj["kind"], "ConfigMap", "foreground delete answers the object")
    eq(obj["metadata"]["finalizers"], ["foregroundDeletion"], "foregroundDeletion finalizer")
    check(obj["metadata"].get("deletionTimestamp"), "deletionTimestamp set")

    def gone():
        try:
            core.read_namespaced_config_map("fg", NS)
            return False
        except client.ApiException as e:
            return e.status == 404
    wait_for("the garbage collector to finish the foreground deletion", gone)


def errors():
    core.create_namespaced_config_map(NS, cm("dup", {"a": "1"}))
    _, body = expect_status(core.create_namespaced_config_map, 409, "AlreadyExists", NS,
                            cm("dup"), message='configmaps "dup" already exists')
    eq(body["details"], {"name": "dup", "kind": "configmaps"}, "AlreadyExists details")

    e, body = expect_status(core.read_namespaced_config_map, 404, "NotFound", "nope", NS,
                            message='configmaps "nope" not found')
    eq(e.reason, "Not Found", "ApiException.reason is the HTTP reason phrase")
    eq(e.headers.get("Content-Type"), "application/json", "error Content-Type")
    check(e.headers.get("Audit-Id"), "error carries Audit-Id")
    eq(body["details"], {"name": "nope", "kind": "configmaps"}, "NotFound details")
    expect_status(core.delete_namespaced_config_map, 404, "NotFound", "nope", NS,
                  body=client.V1DeleteOptions(propagation_policy="Foreground"))
    expect_status(core.replace_namespaced_config_map, 404, "NotFound", "nope", NS,
                  cm("nope", {"a": "b"}))

    first = core.read_namespaced_config_map("dup", NS)
    stale_rv = first.metadata.resource_version
    core.patch_namespaced_config_map("dup", NS, {"data": {"a": "2"}})
    first.data = {"a": "3"}
    e, body = expect_status(
        core.replace_namespaced_config_map, 409, "Conflict", "dup", NS, first,
        message='Operation cannot be fulfilled on configmaps "dup": the object has been '
                'modified; please apply your changes to the latest version and try again')
    eq(e.reason, "Conflict", "ApiException.reason for 409")
    eq(core.read_namespaced_config_map("dup", NS).data, {"a": "2"}, "stale replace changed nothing")
    check(stale_rv != core.read_namespaced_config_map("dup", NS).metadata.resource_version,
          "RV moved")

    bad = cm("Bad_Name", {"bad key/x": "v"}, {"app": "bad value!"})
    e, body = expect_status(core.create_namespaced_config_map, 422, "Invalid", NS, bad)
    eq(e.reason, "Unprocessable Entity", "ApiException.reason for 422")
    check(body["message"].startswith('ConfigMap "Bad_Name" is invalid: [metadata.name: '
                                     'Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain'),
          f"422 message: {body['message']}")
    eq(body["details"]["name"], "Bad_Name", "422 details.name")
    eq(body["details"]["kind"], "ConfigMap", "422 details.kind is the Kind")
    causes = body["details"]["causes"]
    eq([(c["reason"], c["field"]) for c in causes],
       [("FieldValueInvalid", "metadata.name"), ("FieldValueInvalid", "metadata.labels"),
        ("FieldValueInvalid", "data[bad key/x]")], "422 causes")
    check(causes[2]["message"].startswith('Invalid value: "bad key/x": a valid config key'),
          f"cause message {causes[2]['message']}")

    e, body = expect_status(core.create_namespaced_config_map, 422, "Invalid", NS,
                            {"metadata": {}, "data": {"a": "b"}})
    eq(body["message"],
       'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required',
       "missing-name message")
    eq(body["details"]["causes"],
       [{"reason": "FieldValueRequired",
         "message": "Required value: name or generateName is required",
         "field": "metadata.name"}], "missing-name causes")


def delete_collection():
    for i in range(3):
        core.create_namespaced_config_map(NS, cm(f"dc{i}", {"i": str(i)}, {"batch": "dc"}))
    core.create_namespaced_config_map(NS, cm("keep", {"i": "k"}, {"batch": "other"}))
    resp = core.delete_collection_namespaced_config_map(NS, label_selector="batch=dc",
                                                        _preload_content=False)
    eq(resp.status, 200, "deletecollection HTTP status")
    listed = json.loads(resp.data)
    eq(listed["kind"], "ConfigMapList", "deletecollection answers the deleted list")
    eq([i["metadata"]["name"] for i in listed["items"]], ["dc0", "dc1", "dc2"], "deleted items")
    left = core.list_namespaced_config_map(NS, label_selector="batch").items
    eq([c.metadata.name for c in left], ["keep"], "what deletecollection left")
    # Through the typed return value (V1Status in the client's signature) it also works.
    core.delete_collection_namespaced_config_map(NS, label_selector="batch=other")
    eq(core.list_namespaced_config_map(NS, label_selector="batch").items, [], "all deleted")


run({"crud": crud, "foreground_delete": foreground_delete, "errors": errors,
     "delete_collection": delete_collection})
