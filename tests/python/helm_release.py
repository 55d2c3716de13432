"""Helm 4 releases (install, upgrade, rollback, uninstall) through kbatch-proxy, with Helm's Go
SDK (the helm-python-sdk package: server-side apply as `helm` does it), for tests/proxy_helm.rs.

    helm_release.py KUBECONFIG NAMESPACE|- CHART STEPS_JSON
        STEPS_JSON: [{"action": "install"|"upgrade", "values": {...}},
                     {"action": "rollback", "version": N}, {"action": "uninstall"}]
        prints one JSON line per step: {"action", "ok": true, "revision"} or {"action",
        "ok": false, "error"}; stops at the first failure. NAMESPACE "-" gives Helm no
        namespace (it then uses "default", as with a kubeconfig that names none).
"""

import json
import sys

import helm_python as helm


def main(argv):
    kubeconfig, namespace, chart, steps = argv[1], argv[2], argv[3], json.loads(argv[4])
    ns = None if namespace == "-" else namespace
    with helm.Config(kubeconfig_path=kubeconfig, namespace=ns) as cfg:
        for step in steps:
            action = step["action"]
            try:
                if action == "install":
                    rel = cfg.install(chart, "demo", step.get("values"), namespace=ns, timeout=60)
                elif action == "upgrade":
                    rel = cfg.upgrade(chart, "demo", step.get("values"), namespace=ns, timeout=60)
                elif action == "rollback":
                    cfg.rollback("demo", version=step["version"], timeout=60)
                    rel = cfg.status("demo")
                elif action == "uninstall":
                    rel = cfg.uninstall("demo", timeout=60)
                else:
                    raise ValueError(action)
                revision = getattr(rel, "version", None)
                if revision is None and isinstance(rel, dict):
                    revision = rel.get("version")
                print(json.dumps({"action": action, "ok": True, "revision": revision}), flush=True)
            except helm.HelmError as exc:
                print(json.dumps({"action": action, "ok": False, "error": str(exc)}), flush=True)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
