"""Render and lint helm/kbatch-proxy with real Helm (Helm's Go library through the
helm-python-sdk package; no helm binary), for tests/helm_chart.rs.

    helm_chart.py render CHART VALUES_JSON [NAME [NAMESPACE]]
        prints {"objects": [...every rendered Kubernetes object...], "notes": "..."}
        or {"error": "..."} (exit 3) when Helm refuses to render (a `fail` in a template)
    helm_chart.py lint CHART VALUES_JSON
        prints Helm's lint report {"messages": [...], "errors": [...]}
    helm_chart.py manifests CHART VALUES_JSON OUT_FILE [NAME [NAMESPACE]]
        writes the rendered objects as one multi-document YAML (for kubectl apply)
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
                doc.setdefault("metadata", {}).setdefault("annotations", {})
                doc["metadata"]["annotations"]["test.kbatch/template"] = path
                objects.append(doc)
    return objects, notes


def main(argv):
    cmd, chart, values = argv[1], argv[2], json.loads(argv[3])
    if cmd == "lint":
        print(json.dumps(helm.lint(chart, values, strict=True, namespace="jhub")))
        return 0
    rest = argv[5:] if cmd == "manifests" else argv[4:]
    try:
        objects, notes = render(chart, values, *rest)
    except helm.HelmError as exc:
        print(json.dumps({"error": str(exc)}))
        return 3
    if cmd == "render":
        print(json.dumps({"objects": objects, "notes": notes}))
    else:
        for o in objects:
            del o["metadata"]["annotations"]["test.kbatch/template"]
            if not o["metadata"]["annotations"]:
                del o["metadata"]["annotations"]
        with open(argv[4], "w") as f:
            yaml.safe_dump_all(objects, f, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
