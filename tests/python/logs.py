"""read_namespaced_pod_log: plain (after the pod ended), tail_lines/timestamps/container,
follow=True with _preload_content=False streaming lines as the pod writes them, and
watch.Watch().stream(read_namespaced_pod_log, follow=True) yielding lines."""

import time

from kubernetes import watch

from kstest import (NS, check, eq, ensure_namespace, expect_status, load, run,
                    wait_default_sa, wait_for)

api_client = load()
core = ensure_namespace(api_client)


def make_pod(name, script, containers=None):
    wait_default_sa(core)
    core.create_namespaced_pod(NS, {
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": containers or [
            {"name": "main", "image": "busybox", "command": ["sh", "-c", script]}]}})


def phase(name):
    return core.read_namespaced_pod(name, NS).status.phase


def wait_running(name):
    wait_for(f"pod {name} to start",
             lambda: phase(name) in ("Running", "Succeeded", "Failed"), timeout=5)


def plain():
    make_pod("plain", "echo one; echo two; echo three")
    wait_for("pod plain Succeeded", lambda: phase("plain") == "Succeeded")
    eq(core.read_namespaced_pod_log("plain", NS), "one\ntwo\nthree\n", "whole log")
    eq(core.read_namespaced_pod_log("plain", NS, container="main", tail_lines=2),
       "two\nthree\n", "tail_lines=2")
    eq(core.read_namespaced_pod_log("plain", NS, limit_bytes=5), "one\nt", "limit_bytes=5")
    stamped = core.read_namespaced_pod_log("plain", NS, timestamps=True).splitlines()
    eq(len(stamped), 3, "timestamped lines")
    ts, text = stamped[0].split(" ", 1)
    eq(text, "one", "timestamped text")
    check(ts.endswith("Z") and "T" in ts, f"RFC3339 timestamp {ts!r}")
    # A finished pod's log with follow=True is the whole log, then the stream ends.
    eq(core.read_namespaced_pod_log("plain", NS, follow=True), "one\ntwo\nthree\n",
       "follow on a finished pod")
    expect_status(core.read_namespaced_pod_log, 400, "BadRequest", "plain", NS,
                  container="nope", message="container nope is not valid for pod plain")
    expect_status(core.read_namespaced_pod_log, 404, "NotFound", "nope", NS,
                  message='pods "nope" not found')

    make_pod("two", "", containers=[
        {"name": "main", "image": "busybox", "command": ["echo", "m"]},
        {"name": "side", "image": "busybox", "command": ["echo", "s"]}])
    wait_for("pod two Succeeded", lambda: phase("two") == "Succeeded")
    expect_status(core.read_namespaced_pod_log, 400, "BadRequest", "two", NS,
                  message="a container name must be specified for pod two, "
                          "choose one of: [main side]")
    eq(core.read_namespaced_pod_log("two", NS, container="side"), "s\n", "second container")


def follow():
    make_pod("follow", "echo one; sleep 2; echo two")
    wait_running("follow")
    started = time.monotonic()
    resp = core.read_namespaced_pod_log("follow", NS, follow=True, _preload_content=False)
    eq(resp.status, 200, "follow HTTP status")
    check(resp.headers.get("Content-Type", "").startswith("text/plain"),
          f"log Content-Type {resp.headers.get('Content-Type')}")
    arrivals, buf = [], b""
    for chunk in resp.stream(64, decode_content=False):
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            arrivals.append((line.decode(), time.monotonic() - started))
    resp.release_conn()
    ended = time.monotonic() - started
    eq([l for l, _ in arrivals], ["one", "two"], "followed lines")
    gap = arrivals[1][1] - arrivals[0][1]
    # 'two' is written 2 s after 'one': it must come later on the same open stream
    # (the margin allows for a late connection on a busy machine).
    check(0.5 < gap < 4, f"'two' arrived well after 'one' (gap {gap:.2f}s)")
    check(ended < 6, f"the stream ended when the container did ({ended:.1f}s)")
    wait_for("pod follow Succeeded", lambda: phase("follow") == "Succeeded")

    # The watch helper recognises `follow` and yields log lines.
    make_pod("wfollow", "echo a; sleep 0.5; echo b; sleep 0.5; echo c")
    wait_running("wfollow")
    lines = list(watch.Watch().stream(core.read_namespaced_pod_log, name="wfollow",
                                      namespace=NS))
    eq(lines, ["a", "b", "c"], "Watch().stream over read_namespaced_pod_log")


run({"plain": plain, "follow": follow})
