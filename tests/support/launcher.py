"""Test-process supervisor: runs one command and ends it when our stdin reaches EOF.

The Rust test harness starts long-lived servers (JupyterHub with its proxy, etcd,
kube-apiserver) from `static`s whose destructors never run. It starts them through this
script with a pipe on stdin: when the test binary exits, or is killed, the pipe closes and
this script stops the whole process group of the command (JupyterHub's
configurable-http-proxy child included), then optionally removes the scratch directory.

Usage: launcher.py [--remove-dir DIR] -- PROGRAM [ARGS...]

The scratch directory is removed only when this script stopped the command, and then
not when it contains a file named KEEP (the harness writes one after a failed start, so
its log can be read) or when HARNESS_KEEP_DIRS is set.
Standard output and error are inherited: the harness points them at a log file.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

STOP_GRACE_SECONDS = 10


def parse_args(argv):
    """Split argv into (remove_dir, command)."""
    if "--" not in argv:
        sys.exit("usage: launcher.py [--remove-dir DIR] -- PROGRAM [ARGS...]")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    remove_dir = None
    if options[:1] == ["--remove-dir"] and len(options) == 2:
        remove_dir = options[1]
    elif options:
        sys.exit(f"launcher.py: unknown options {options!r}")
    if not command:
        sys.exit("launcher.py: no command given")
    return remove_dir, command


def watch_stdin(stop):
    """Set `stop` once stdin reaches EOF (the test binary has gone)."""
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except OSError:
        pass
    stop.set()


def become_subreaper():
    """Adopt orphaned descendants, so a server's children that outlive it (JupyterHub
    starts configurable-http-proxy in a session of its own) can still be found."""
    try:
        import ctypes

        pr_set_child_subreaper = 36
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: only the process group is stopped


def descendants(root):
    """Pids of every live descendant of `root`, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def signal_all(proc, signum):
    """Signal the command's process group and every descendant of this launcher."""
    targets = [-proc.pid] + descendants(os.getpid())
    for target in targets:
        try:
            if target < 0:
                os.killpg(-target, signum)
            else:
                os.kill(target, signum)
        except (ProcessLookupError, PermissionError):
            pass  # already gone


def stop_all(proc):
    """SIGTERM everything, give it time to shut down cleanly, then SIGKILL the rest."""
    signal_all(proc, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline:
        reap_orphans()
        if proc.poll() is not None and not descendants(os.getpid()):
            break
        time.sleep(0.1)
    signal_all(proc, signal.SIGKILL)
    proc.wait()
    reap_orphans()


def reap_orphans():
    """Collect the exit status of adopted descendants, so they leave no zombies."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def remove_scratch(remove_dir):
    """Remove the scratch directory unless someone asked to keep it."""
    if remove_dir is None or os.environ.get("HARNESS_KEEP_DIRS"):
        return
    if os.path.exists(os.path.join(remove_dir, "KEEP")):
        return
    shutil.rmtree(remove_dir, ignore_errors=True)


def main():
    remove_dir, command = parse_args(sys.argv[1:])
    become_subreaper()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    # A new session makes the command the leader of its own process group, so one
    # killpg reaches it and everything it started.
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
    threading.Thread(target=watch_stdin, args=(stop,), daemon=True).start()
    while not stop.wait(0.2):
        if proc.poll() is not None:
            break
    code = proc.poll()
    stop_all(proc)
    if code is None:
        # We stopped it: a normal end. A command that ended by itself failed, and its
        # directory (with the log) is kept for the harness to report.
        remove_scratch(remove_dir)
        sys.exit(0)
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
