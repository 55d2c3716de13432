"""kubernetes.stream.stream(connect_get_namespaced_pod_exec, ...): a one-shot command with its
output returned, stdout/stderr/returncode through the WSClient (_preload_content=False), an
interactive `sh` fed through write_stdin, and the handshake refusal for a completed pod.

Needs kube-standin's exec module (pods/exec over WebSocket, v4.channel.k8s.io)."""

import json

from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from kstest import NS, check, eq, ensure_namespace, load, run, wait_default_sa, wait_for

api_client = load()
core = ensure_namespace(api_client)


def running_pod(name, command=("sleep", "60")):
    wait_default_sa(core)
    core.create_namespaced_pod(NS, {
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [
            {"name": "main", "image": "busybox", "command": list(command)}]}})
    wait_for(f"pod {name} Running",
             lambda: core.read_namespaced_pod(name, NS).status.phase == "Running", timeout=5)


def ws(name, command, **kw):
    args = dict(stderr=True, stdin=False, stdout=True, tty=False)
    args.update(kw)
    return stream(core.connect_get_namespaced_pod_exec, name, NS, command=command, **args)


def echo():
    running_pod("ex")
    eq(ws("ex", ["echo", "hi"]), "hi\n", "stream() returns the command's output")
    eq(ws("ex", ["sh", "-c", "echo a; echo b"]), "a\nb\n", "sh -c output")

    client = ws("ex", ["sh", "-c", "echo out; echo err >&2; exit 3"], _preload_content=False)
    client.run_forever(timeout=10)
    eq(client.read_stdout(), "out\n", "stdout channel")
    eq(client.read_stderr(), "err\n", "stderr channel")
    eq(client.returncode, 3, "exit status from the error channel")
    client.close()

    ok = ws("ex", ["true"], _preload_content=False)
    ok.run_forever(timeout=10)
    eq(ok.returncode, 0, "exit status 0")
    ok.close()

    # A finished pod refuses the upgrade: the client raises ApiException(0) with the Status.
    running_pod("short", command=("sh", "-c", "sleep 0.2"))
    wait_for("pod short Succeeded",
             lambda: core.read_namespaced_pod("short", NS).status.phase == "Succeeded")
    try:
        ws("short", ["echo", "hi"])
        raise AssertionError("exec into a completed pod succeeded")
    except ApiException as e:
        text = str(e)
        check("Handshake status 400" in text, f"handshake refusal: {text}")
        body = json.loads(text.split(" -+-+- ")[-1])
        eq(body["message"], "cannot exec into a container in a completed pod; "
                            "current phase is Succeeded", "refusal message")


def stdin():
    running_pod("sh")
    client = ws("sh", ["sh"], stdin=True, _preload_content=False)
    check(client.is_open(), "interactive client open")
    client.write_stdin("echo hello\n")
    out = ""
    for _ in range(50):
        client.update(timeout=0.2)
        out += client.read_stdout() if client.peek_stdout() else ""
        if out:
            break
    eq(out, "hello\n", "output of a command written to stdin")
    client.write_stdin("echo oops >&2; exit 7\n")
    client.run_forever(timeout=10)
    eq(client.read_stderr(), "oops\n", "stderr of the second command")
    check(not client.is_open(), "the connection closes when the shell exits")
    eq(client.returncode, 7, "exit status of the interactive shell")
    client.close()


run({"echo": echo, "stdin": stdin})
