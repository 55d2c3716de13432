"""Shared helpers for the Python-client scripts run by tests/standin_python.rs.

Each script is plain Python: it loads the kubeconfig named by $KUBECONFIG with
`config.load_kube_config()`, works in the namespace named by $TEST_NS (creating it), and
exits non-zero with a clear message on the first failed check.
"""

import json
import os
import sys
import time
import traceback

from kubernetes import client, config
from kubernetes.client.rest import ApiException

NS = os.environ["TEST_NS"]
# The stand-in runs pods and the namespace controller; envtest's kube-apiserver has neither.
STANDIN = os.environ.get("TEST_IS_STANDIN") == "1"


def load():
    """Load the kubeconfig and return a fresh ApiClient."""
    config.load_kube_config()
    return client.ApiClient()


def ensure_namespace(api_client):
    """Create $TEST_NS and wait until its default ServiceAccount exists (pods need it)."""
    core = client.CoreV1Api(api_client)
    ns = core.create_namespace({"metadata": {"name": NS}})
    check(ns.status.phase == "Active", f"new namespace phase {ns.status.phase}")
    return core


def wait_default_sa(core):
    """Pods need the namespace's default ServiceAccount (made by the namespace controller)."""
    if STANDIN:
        wait_for("default ServiceAccount", lambda: [
            s for s in core.list_namespaced_service_account(NS).items
            if s.metadata.name == "default"])


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def api_error(fn, *args, **kwargs):
    """Call fn expecting an ApiException; return (exception, parsed JSON body)."""
    try:
        result = fn(*args, **kwargs)
    except ApiException as e:
        try:
            body = json.loads(e.body) if e.body else None
        except ValueError:
            raise AssertionError(f"{fn.__name__}: error body is not JSON: {e.body!r}")
        return e, body
    raise AssertionError(f"{fn.__name__} succeeded but an ApiException was expected: {result}")


def expect_status(fn, status, reason, *args, message=None, **kwargs):
    """Call fn expecting ApiException(status) whose Status body has `reason` (and message)."""
    e, body = api_error(fn, *args, **kwargs)
    eq(e.status, status, f"{fn.__name__} HTTP status (body {e.body!r})")
    eq(body.get("kind"), "Status", "error body kind")
    eq(body.get("status"), "Failure", "error body status")
    eq(body.get("code"), status, "error body code")
    eq(body.get("reason"), reason, f"error body reason ({body})")
    if message is not None:
        eq(body.get("message"), message, "error body message")
    return e, body


def wait_for(what, fn, timeout=10.0, interval=0.05):
    """Poll fn until it returns a truthy value; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def run(sections):
    """Run the section named by argv[1] (or all, in order); exit 1 with a traceback on failure."""
    wanted = sys.argv[1:] or list(sections)
    for name in wanted:
        if name not in sections:
            print(f"unknown section {name!r}; have {list(sections)}", file=sys.stderr)
            sys.exit(2)
        try:
            sections[name]()
        except Exception:  # noqa: BLE001 - report every failure the same way
            print(f"FAILED section {name!r} ({sys.argv[0]}):", file=sys.stderr)
            traceback.print_exc()
            sys.exit(1)
        print(f"ok {name}")
