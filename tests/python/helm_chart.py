"""Render and lint helm/kbatch-proxy with real Helm (Helm's Go library through the
helm-python-sdk package; no helm binary), for tests/helm_chart.rs.

    helm_chart.py render CHART VALUES_JSON [NAME [NAMESPACE]]
        prints {"objects": [{"template": path, "object": {...}}, ...], "notes": "..."}
        or {"error": "..."} (exit 3) when Helm refuses to render (a `fail` in a template)
    helm_chart.py lint CHART VALUES_JSON
        prints Helm's lint report {"messages": [...], "errors": [...]}
"""

import json
import sys

import helm_python as helm
import yaml


def render(chart, values, name="kbatch", namespace="jhub"):
    with helm.Chart.load(chart) as c:
        manifests = c.render(values, name=name, namespace=namespace, is_install=True)
    objects, notes = [], ""
    for path in sorted(manifests):
        text = manifests[path]
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                objects.append({"template": path, "object": doc})
    return objects, notes


def main(argv):
    cmd, chart, values = argv[1], argv[2], json.loads(argv[3])
    if cmd == "lint":
        print(json.dumps(helm.lint(chart, values, strict=True, namespace="jhub")))
        return 0
    try:
        objects, notes = render(chart, values, *argv[4:])
    except helm.HelmError as exc:
        print(json.dumps({"error": str(exc)}))
        return 3
    print(json.dumps({"objects": objects, "notes": notes}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
