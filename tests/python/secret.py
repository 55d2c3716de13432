"""Secret through CoreV1Api: string_data merged into base64 data, type defaulting, replace,
patch, field selector on type, 400 for bad base64, 422 for a TLS secret without its keys."""

import base64

from kubernetes import client

from kstest import NS, check, eq, ensure_namespace, expect_status, load, run

api_client = load()
core = ensure_namespace(api_client)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def string_data():
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name="s1", labels={"app": "py"}),
        string_data={"username": "alice", "password": "not-a-real-password"})
    created = core.create_namespaced_secret(NS, body)
    eq(created.type, "Opaque", "type defaults to Opaque")
    eq(created.string_data, None, "stringData is write-only")
    eq(created.data, {"password": "bm90LWEtcmVhbC1wYXNzd29yZA==", "username": "YWxpY2U="},
       "stringData became base64 data")
    got = core.read_namespaced_secret("s1", NS)
    eq(base64.b64decode(got.data["username"]).decode(), "alice", "decoded username")

    # stringData wins over data for the same key and merges with other keys.
    got.string_data = {"username": "bob"}
    got.data["extra"] = b64("x")
    replaced = core.replace_namespaced_secret("s1", NS, got)
    eq(replaced.data, {"extra": b64("x"), "password": b64("not-a-real-password"),
                       "username": b64("bob")}, "replace merges stringData into data")

    patched = core.patch_namespaced_secret("s1", NS, {"stringData": {"token": "t0k"}})
    eq(patched.data.get("token"), b64("t0k"), "patched stringData")
    eq(patched.string_data, None, "stringData still write-only after patch")

    core.create_namespaced_secret(NS, client.V1Secret(
        metadata=client.V1ObjectMeta(name="s2"), type="example.com/custom",
        data={"k": b64("v")}))
    opaque = core.list_namespaced_secret(NS, field_selector="type=Opaque").items
    eq([s.metadata.name for s in opaque], ["s1"], "fieldSelector type=Opaque")
    named = core.list_namespaced_secret(NS, field_selector="metadata.name=s2").items
    eq([s.type for s in named], ["example.com/custom"], "fieldSelector metadata.name")

    status = core.delete_namespaced_secret("s1", NS, propagation_policy="Background")
    eq((status.status, status.details.kind), ("Success", "secrets"), "delete Status")


def errors():
    _, body = expect_status(
        core.create_namespaced_secret, 400, "BadRequest", NS,
        client.V1Secret(metadata=client.V1ObjectMeta(name="s-bad64"), data={"a": "!!notbase64"}),
        message='Secret in version "v1" cannot be handled as a Secret: '
                'illegal base64 data at input byte 0')
    check("details" not in body, f"decode errors have no details: {body}")
    _, body = expect_status(
        core.create_namespaced_secret, 422, "Invalid", NS,
        client.V1Secret(metadata=client.V1ObjectMeta(name="s-tls"), type="kubernetes.io/tls",
                        string_data={"other": "x"}),
        message='Secret "s-tls" is invalid: [data[tls.crt]: Required value, '
                'data[tls.key]: Required value]')
    eq(body["details"]["causes"], [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "data[tls.crt]"},
        {"reason": "FieldValueRequired", "message": "Required value", "field": "data[tls.key]"},
    ], "TLS secret causes")


run({"string_data": string_data, "errors": errors})
