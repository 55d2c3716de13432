"""watch.Watch().stream(list_namespaced_config_map, ...): ADDED/MODIFIED/DELETED for changes
made by another thread (selector transitions included), timeout_seconds ending the stream,
resuming from a resource_version, and ApiException(410) for a too-old resourceVersion."""

import threading
import time

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from kstest import NS, check, eq, ensure_namespace, load, run

api_client = load()
core = ensure_namespace(api_client)


def later(delay, fn):
    """Run fn after delay in another thread; re-raise its failure from join()."""
    errors = []

    def body():
        time.sleep(delay)
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
    t = threading.Thread(target=body)
    t.start()

    def join():
        t.join()
        if errors:
            raise errors[0]
    return join


def labels(name, value):
    core.patch_namespaced_config_map(name, NS, {"metadata": {"labels": {"w": value}}})


def events():
    # A marker that exists before the watch: its synthetic ADDED proves the watch is
    # established, and only then does the other thread start changing things.
    core.create_namespaced_config_map(NS, {"metadata": {"name": "marker"}})
    listed = core.list_namespaced_config_map(NS)
    existing = [c.metadata.name for c in listed.items]

    def changes():
        core.create_namespaced_config_map(NS, {"metadata": {"name": "w1", "labels": {"w": "yes"}},
                                               "data": {"a": "1"}})
        core.patch_namespaced_config_map("w1", NS, {"data": {"a": "2"}})
        labels("w1", "no")     # leaves the selector: DELETED for the filtered watch
        labels("w1", "yes")    # re-enters: ADDED
        core.delete_namespaced_config_map("w1", NS)
    join = None
    seen, filtered = [], []

    def filtered_watch():
        # From the list's resourceVersion: sees every later change however late it connects.
        for ev in watch.Watch().stream(core.list_namespaced_config_map, NS,
                                       label_selector="w=yes", timeout_seconds=3,
                                       resource_version=listed.metadata.resource_version):
            filtered.append((ev["type"], ev["object"].metadata.name,
                             (ev["object"].metadata.labels or {}).get("w")))
    other = threading.Thread(target=filtered_watch)
    other.start()
    started = time.monotonic()
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, NS, timeout_seconds=3):
        obj = ev["object"]
        check(isinstance(obj, client.V1ConfigMap), f"object is a V1ConfigMap: {type(obj)}")
        eq(ev["raw_object"]["kind"], "ConfigMap", "raw_object kind")
        seen.append((ev["type"], obj.metadata.name, (obj.data or {}).get("a")))
        if obj.metadata.name == "marker" and join is None:
            join = later(0.1, changes)
    elapsed = time.monotonic() - started
    check(join is not None, f"no ADDED for the marker: {seen}")
    join()
    other.join()
    check(2.5 <= elapsed < 6, f"timeout_seconds=3 ended the stream after {elapsed:.1f}s")
    eq(seen, [("ADDED", name, None) for name in existing] + [
        ("ADDED", "w1", "1"),
        ("MODIFIED", "w1", "2"),
        ("MODIFIED", "w1", "2"),
        ("MODIFIED", "w1", "2"),
        ("DELETED", "w1", "2"),
    ], "events of the unfiltered watch")
    eq(filtered, [
        ("ADDED", "w1", "yes"),
        ("MODIFIED", "w1", "yes"),
        ("DELETED", "w1", "no"),
        ("ADDED", "w1", "yes"),
        ("DELETED", "w1", "yes"),
    ], "events of the label-filtered watch")
    check(w.resource_version and w.resource_version.isdigit(),
          f"Watch tracked resource_version {w.resource_version!r}")


def resume():
    core.create_namespaced_config_map(NS, {"metadata": {"name": "r1"}, "data": {"v": "0"}})
    listed = core.list_namespaced_config_map(NS)
    rv = listed.metadata.resource_version
    # Changes after the list: a watch from its resourceVersion sees exactly these, no replay
    # of what already existed.
    core.patch_namespaced_config_map("r1", NS, {"data": {"v": "1"}})
    core.create_namespaced_config_map(NS, {"metadata": {"name": "r2"}})
    core.delete_namespaced_config_map("r1", NS)
    w = watch.Watch()
    got = [(ev["type"], ev["object"].metadata.name)
           for ev in w.stream(core.list_namespaced_config_map, NS, resource_version=rv,
                              timeout_seconds=1)]
    eq(got, [("MODIFIED", "r1"), ("ADDED", "r2"), ("DELETED", "r1")], "events after the list RV")
    last = w.resource_version
    check(int(last) > int(rv), f"Watch.resource_version advanced: {rv} -> {last}")

    # Resume from the last event seen: only what happened since, with bookmarks allowed.
    join = later(0.3, lambda: core.patch_namespaced_config_map("r2", NS, {"data": {"x": "y"}}))
    types = []
    w2 = watch.Watch()
    for ev in w2.stream(core.list_namespaced_config_map, NS, resource_version=last,
                        allow_watch_bookmarks=True, timeout_seconds=3):
        types.append(ev["type"])
        if ev["type"] == "BOOKMARK":
            eq(ev["raw_object"]["kind"], "ConfigMap", "bookmark kind")
            check(ev["raw_object"]["metadata"]["resourceVersion"].isdigit(), "bookmark RV")
    join()
    eq([t for t in types if t != "BOOKMARK"], ["MODIFIED"], "events after the resumed RV")

    # resourceVersion "0": synthetic ADDED for what exists.
    got = [(ev["type"], ev["object"].metadata.name) for ev in watch.Watch().stream(
        core.list_namespaced_config_map, NS, resource_version="0", timeout_seconds=1)]
    want = [("ADDED", c.metadata.name) for c in core.list_namespaced_config_map(NS).items]
    check("r2" in [n for _, n in want], f"r2 listed: {want}")
    eq(got, want, "RV 0 starts with an ADDED event per existing object")


def expired():
    try:
        for ev in watch.Watch().stream(core.list_namespaced_config_map, NS,
                                       resource_version="1", timeout_seconds=3):
            raise AssertionError(f"event from a too-old resourceVersion: {ev['type']}")
    except ApiException as e:
        eq(e.status, 410, "ApiException status")
        check(e.reason.startswith("Expired: too old resource version: 1 ("),
              f"ApiException reason {e.reason!r}")
        return
    raise AssertionError("watch from resourceVersion 1 ended without ApiException(410)")


run({"events": events, "resume": resume, "expired": expired})
