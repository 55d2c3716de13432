"""The Python kubernetes client through kbatch-proxy, as a hub user: $KUBECONFIG points at
the proxy with the user's hub token, $TEST_NS is the user's namespace (already created).
Exits non-zero with a message on the first failed check."""

import sys
import threading
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

import kstest
from kstest import NS, check

config.load_kube_config()
core = client.CoreV1Api()
batch = client.BatchV1Api()

# CRUD in the user's namespace.
core.create_namespaced_config_map(NS, {"metadata": {"name": "py1"}, "data": {"a": "b"}})
cm = core.read_namespaced_config_map("py1", NS)
check(cm.data == {"a": "b"}, f"read back {cm.data}")
core.patch_namespaced_config_map("py1", NS, {"data": {"a": "c"}})
check(core.read_namespaced_config_map("py1", NS).data["a"] == "c", "strategic patch through the proxy")
names = [c.metadata.name for c in core.list_namespaced_config_map(NS).items]
check("py1" in names, f"list: {names}")

# Namespace "default" is the user's namespace (rewritten by the proxy).
names = [c.metadata.name for c in core.list_namespaced_config_map("default").items]
check("py1" in names, f"default is rewritten to the user's namespace: {names}")
# Answers show the namespace the client named, in lists, single objects and watches.
shown = {c.metadata.namespace for c in core.list_namespaced_config_map("default").items}
check(shown == {"default"}, f"a list in default shows default: {shown}")
check(core.read_namespaced_config_map("py1", "default").metadata.namespace == "default",
      "a read in default shows default")
w = watch.Watch()
for ev in w.stream(core.list_namespaced_config_map, "default", timeout_seconds=5):
    check(ev["object"].metadata.namespace == "default", f"a watch in default shows default: {ev}")
    w.stop()

# Refusals come back as ApiException with the proxy's Status.
try:
    core.list_namespaced_pod("kube-system")
    check(False, "listing pods in kube-system must be refused")
except ApiException as e:
    check(e.status == 403, f"status {e.status}")
    check('"reason":"Forbidden"' in e.body, e.body)

# A watch receives an event made by another thread.
w = watch.Watch()
seen = []
def make_later():
    time.sleep(1)
    core.create_namespaced_config_map(NS, {"metadata": {"name": "py2"}})
threading.Thread(target=make_later).start()
for ev in w.stream(core.list_namespaced_config_map, NS, timeout_seconds=10):
    seen.append((ev["type"], ev["object"].metadata.name))
    if ("ADDED", "py2") in seen:
        w.stop()
check(("ADDED", "py2") in seen, f"watch saw {seen}")

# Logs stream while the container writes them.
core.create_namespaced_pod(NS, {"metadata": {"name": "pylog"}, "spec": {"restartPolicy": "Never",
    "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "echo one; sleep 2; echo two"]}]}})
kstest.wait_for("pod pylog running", lambda: core.read_namespaced_pod("pylog", NS).status.phase in ("Running", "Succeeded"))
resp = core.read_namespaced_pod_log("pylog", NS, follow=True, _preload_content=False)
got = []
start = time.time()
for chunk in resp.stream(amt=64):
    got.append((chunk.decode(), time.time() - start))
text = "".join(c for c, _ in got)
check(text == "one\ntwo\n", f"log text {text!r}")
check(got[-1][1] - got[0][1] >= 1.0, f"log chunks arrived together: {got}")

# exec over WebSocket through the proxy's upgrade relay.
core.create_namespaced_pod(NS, {"metadata": {"name": "pyexec"}, "spec": {
    "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "600"]}]}})
kstest.wait_for("pod pyexec running", lambda: core.read_namespaced_pod("pyexec", NS).status.phase == "Running")
out = stream(core.connect_get_namespaced_pod_exec, "pyexec", NS, command=["echo", "hi"],
             stderr=True, stdin=False, stdout=True, tty=False)
check(out == "hi\n", f"exec output {out!r}")
print("ok")
