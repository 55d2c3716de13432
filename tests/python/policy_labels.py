"""Admission policies seen by the Python kubernetes client through kbatch-proxy: $KUBECONFIG
points at the proxy (with the shipped policies) as hub user $TEST_USER, $TEST_NS is the user's
namespace (already created). A Job gets the username label (a valid label value even for an
e-mail-like name), the raw name as annotation and the default TTL; a privileged Job is refused
with a 403 Status naming the policy. Exits non-zero on the first failed check."""

import json
import os
import re

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from kstest import NS, check

KEY = "kbatch.jupyter.org/username"
USER = os.environ["TEST_USER"]
LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")

config.load_kube_config()
batch = client.BatchV1Api()


def job(name, privileged=False):
    container = {"name": "main", "image": "busybox", "command": ["echo", "hi"]}
    if privileged:
        container["securityContext"] = {"privileged": True}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "labels": {"app": "x"}},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}}


made = batch.create_namespaced_job(NS, job("pyjob"))
for got in (made, batch.read_namespaced_job("pyjob", NS)):
    labels = got.metadata.labels or {}
    check(labels.get("app") == "x", f"the user's own label is kept: {labels}")
    value = labels.get(KEY)
    check(value is not None and LABEL_VALUE.match(value), f"username label {value!r} is a valid label value")
    check((got.metadata.annotations or {}).get(KEY) == USER, f"annotation {got.metadata.annotations}")
    check(got.spec.ttl_seconds_after_finished == 3600, f"ttl {got.spec.ttl_seconds_after_finished}")
    pod_labels = got.spec.template.metadata.labels or {}
    check(pod_labels.get(KEY) == value, f"pod template label {pod_labels}")

try:
    batch.create_namespaced_job(NS, job("pyjob-privileged", privileged=True))
    check(False, "a privileged Job must be refused")
except ApiException as e:
    check(e.status == 403, f"status {e.status}")
    status = json.loads(e.body)
    check(status["reason"] == "Forbidden", e.body)
    check("policy pod-security-baseline: privileged containers are not allowed" in status["message"], e.body)

# A user may still change the TTL afterwards (the policy only fills in a missing value).
batch.patch_namespaced_job("pyjob", NS, {"spec": {"ttlSecondsAfterFinished": 120}})
check(batch.read_namespaced_job("pyjob", NS).spec.ttl_seconds_after_finished == 120, "patched ttl")
print("ok")
