#!/usr/bin/env python3
"""Generate crates/k8s-protojson/proto_schema.json: the protobuf/JSON schema used by the crate.

The schema lists, for every protobuf message of the groups the stand-in serves, its OpenAPI-style
name (`io.k8s.api.batch.v1.Job`), the (apiVersion, kind) when it is a top-level kind, and its
fields in Go struct order (tag, JSON name, wire type, referenced message, flags).

Sources (all read, nothing downloaded by this script):
  * k8s-pb 0.9.0 (prost-generated, in ~/.cargo/registry/src/*/k8s-pb-0.9.0/src/): messages,
    field order (= Go struct order), tags, wire types, repeated/map.
  * k8s-openapi 0.29.0 (~/.cargo/registry/src/*/k8s-openapi-0.29.0/src/v1_33/): JSON field names
    (matched to prost names case-insensitively with `_` removed) and the kinds
    (API_VERSION / KIND / LIST_KIND consts).
  * The Go types of k8s.io/api and k8s.io/apimachinery v0.35.x (the release k8s-pb 0.9.0 was
    generated from, so every protobuf field has its Go field): what the two crates cannot say
    but kube-apiserver's JSON depends on: `omitempty`, pointer/slice/map (nillable) vs value
    fields, `json:",inline"` embedding, and named slice types (`type ExtraValue []string`).

How to run (from the workspace root):
    git clone --depth 1 -b v0.35.7 https://github.com/kubernetes/api /tmp/k8s-api
    git clone --depth 1 -b v0.35.7 https://github.com/kubernetes/apimachinery /tmp/k8s-apimachinery
    python3 crates/k8s-protojson/tools/gen_proto_schema.py \
        --go-api /tmp/k8s-api --go-apimachinery /tmp/k8s-apimachinery \
        > crates/k8s-protojson/proto_schema.json
Optional: --cargo-src DIR (default: the first ~/.cargo/registry/src/*), --check (print warnings;
the expected ones are only the special types Time/MicroTime/Quantity/ExtraValue/Verbs and core/v1 List).

Output format (JSON):
  {"kinds": [[apiVersion, kind, typeName], ...],
   "messages": {typeName: {"special": null|"time"|"microtime"|"duration"|"quantity"|
                                     "intorstring"|"raw"|"array",
                           "fields": [[tag, jsonName, wire, ref, flags], ...]}}}
  wire: string|bool|int32|int64|double|bytes|message|map<string,string>|map<string,bytes>|
        map<string,message>;  ref: the message type name for message/map<string,message>, else "".
  flags: r = repeated, o = json omitempty, n = nillable in Go (pointer, slice or map),
         i = json inline (the message's keys are spliced into the parent), m = Go map (keys sorted).
"""

import argparse
import glob
import json
import os
import re
import sys

# (k8s-pb module path, Go source root key, Go package dir)
PACKAGES = [
    ("api/core/v1", "api", "core/v1"),
    ("api/batch/v1", "api", "batch/v1"),
    ("api/apps/v1", "api", "apps/v1"),
    ("api/authentication/v1", "api", "authentication/v1"),
    ("api/authorization/v1", "api", "authorization/v1"),
    ("api/autoscaling/v1", "api", "autoscaling/v1"),
    ("api/policy/v1", "api", "policy/v1"),
    ("api/rbac/v1", "api", "rbac/v1"),
    ("api/networking/v1", "api", "networking/v1"),
    ("apimachinery/pkg/apis/meta/v1", "apimachinery", "pkg/apis/meta/v1"),
    ("apimachinery/pkg/runtime", "apimachinery", "pkg/runtime"),
    ("apimachinery/pkg/util/intstr", "apimachinery", "pkg/util/intstr"),
    ("apimachinery/pkg/api/resource", "apimachinery", "pkg/api/resource"),
]

SPECIAL = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "microtime",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Duration": "duration",
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "intorstring",
    "io.k8s.apimachinery.pkg.runtime.RawExtension": "raw",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "raw",
}

WARNINGS = []


def warn(msg):
    WARNINGS.append(msg)


def norm(name):
    return name.replace("r#", "").replace("_", "").lower()


def type_name(module_path):
    return "io.k8s." + ".".join(module_path)


# ---------------------------------------------------------------- k8s-pb (prost)

STRUCT_BLOCK = re.compile(r"^pub struct (\w+) \{$(.*?)^\}$", re.M | re.S)
FIELD_DECL = re.compile(r"^(.*?)\)\]\s*pub (?:r#)?(\w+):\s*(.*),\s*$", re.S)


def resolve_rust_path(module, path):
    """Resolves a prost type path (`super::super::X::Y` or `Y`) to an OpenAPI-style name."""
    parts = path.split("::")
    base = list(module)
    while parts and parts[0] == "super":
        base.pop()
        parts.pop(0)
    return type_name(base + parts[:-1]) + "." + parts[-1]


def rust_type_ref(module, rust_type):
    """The message type inside Option<…>, Vec<…> or BTreeMap<String, …>."""
    inner = rust_type
    for wrapper in ("::core::option::Option<", "::prost::alloc::vec::Vec<"):
        if inner.startswith(wrapper):
            inner = inner[len(wrapper) : -1]
    if "BTreeMap<" in inner:
        inner = inner[inner.index("BTreeMap<") + len("BTreeMap<") : -1]
        inner = inner.split(",", 1)[1].strip()
    return resolve_rust_path(module, inner)


def parse_prost_attr(attr):
    """Returns (wire, repeated, tag) from the text inside #[prost(…)]."""
    tag = int(re.search(r'tag = "(\d+)"', attr).group(1))
    m = re.match(r'btree_map = "string, (\w+)"', attr)
    if m:
        return "map<string,%s>" % m.group(1), False, tag
    wire = re.match(r"(\w+)", attr).group(1)
    return wire, ", repeated" in attr, tag


def parse_prost_file(path, module):
    """Messages of one prost file, fields in declaration order (attributes may span lines)."""
    lines = [l for l in open(path, encoding="utf-8") if not l.strip().startswith("//")]
    messages = {}
    for m in STRUCT_BLOCK.finditer("".join(lines)):
        name = type_name(module) + "." + m.group(1)
        fields = []
        for chunk in m.group(2).split("#[prost(")[1:]:
            decl = FIELD_DECL.match(chunk.strip())
            wire, repeated, tag = parse_prost_attr(decl.group(1))
            rust_type = re.sub(r"\s+", "", decl.group(3)).replace(",>", ">")
            ref = ""
            if wire in ("message", "map<string,message>"):
                ref = rust_type_ref(module, rust_type)
            fields.append(
                {"rust": decl.group(2), "tag": tag, "wire": wire, "repeated": repeated, "ref": ref}
            )
        messages[name] = {"go": m.group(1), "fields": fields}
    return messages


# ---------------------------------------------------------------- k8s-openapi

OA_NAME = re.compile(r'"(io\.k8s\.[A-Za-z0-9_.]+)"\.into\(\)')
OA_KEY = re.compile(r'"([A-Za-z0-9_$\-]+)" => Field::Key_(\w+)')
OA_CONST = re.compile(r'const (API_VERSION|KIND|LIST_KIND): &\'static str = "([^"]*)";')


def parse_openapi(dirs):
    """Returns ({typeName: {normalized: jsonName}}, [(apiVersion, kind, listKind, typeName)])."""
    names, kinds = {}, []
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, "*.rs"))):
            text = open(path, encoding="utf-8").read()
            m = OA_NAME.search(text)
            if not m:
                continue
            tname = m.group(1)
            names[tname] = {norm(k): k for k, _ in OA_KEY.findall(text)}
            consts = dict(OA_CONST.findall(text))
            if "KIND" in consts and "API_VERSION" in consts:
                kinds.append((consts["API_VERSION"], consts["KIND"], consts.get("LIST_KIND"), tname))
    return names, kinds


# ---------------------------------------------------------------- Go types

GO_STRUCT = re.compile(r"^type (\w+) struct \{$")
GO_NAMED = re.compile(r"^type (\w+) (\[\]|map\[)")
GO_FIELD = re.compile(r"^(?:(\w+)\s+)?(\S+)\s+`([^`]*)`")
GO_TAG = re.compile(r'(\w+):"([^"]*)"')


def parse_go_dir(d):
    """Returns ({struct: {tag: goField}}, {named slice/map type: "slice"|"map"})."""
    structs, named = {}, {}
    for path in sorted(glob.glob(os.path.join(d, "*.go"))):
        base = os.path.basename(path)
        if base.endswith("_test.go") or base.startswith("zz_generated") or base.endswith(".pb.go"):
            continue
        current = None
        for raw in open(path, encoding="utf-8"):
            line = raw.rstrip("\n")
            m = GO_NAMED.match(line)
            if m:
                named[m.group(1)] = "slice" if m.group(2) == "[]" else "map"
            m = GO_STRUCT.match(line)
            if m:
                current = structs.setdefault(m.group(1), {})
                continue
            if line == "}":
                current = None
                continue
            if current is None:
                continue
            parse_go_field(line.strip(), current)
    return structs, named


def parse_go_field(line, fields):
    if line.startswith("//"):
        return
    m = GO_FIELD.match(line)
    if not m:
        return
    tags = dict(GO_TAG.findall(m.group(3)))
    if len(tags.get("protobuf", "").split(",")) < 2:
        return
    tag = int(tags["protobuf"].split(",")[1])
    jparts = tags.get("json", "").split(",")
    gotype = m.group(2)
    fields[tag] = {
        "json": jparts[0],
        "omitempty": "omitempty" in jparts[1:],
        "inline": "inline" in jparts[1:],
        "gotype": gotype,
    }


def go_nillable(gotype, named):
    if gotype.startswith("*") or gotype.startswith("[]") or gotype.startswith("map["):
        return True
    return named.get(gotype.split(".")[-1]) is not None


# ---------------------------------------------------------------- assembly


def camel(rust):
    head, *rest = rust.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def build_field(msg_name, f, oa_names, go_fields, named):
    go = go_fields.get(f["tag"]) if go_fields is not None else None
    oa = oa_names.get(msg_name, {}).get(norm(f["rust"]))
    if go is not None:
        json_name = go["json"]
        if oa is not None and oa != json_name and not go["inline"]:
            warn("%s.%s: openapi %r != go %r" % (msg_name, f["rust"], oa, json_name))
        omitempty, inline = go["omitempty"], go["inline"]
        nillable = go_nillable(go["gotype"], named)
    else:
        json_name = oa if oa is not None else camel(f["rust"])
        warn("%s.%s (tag %d): no Go field, json %r" % (msg_name, f["rust"], f["tag"], json_name))
        omitempty, inline = True, False
        nillable = f["repeated"] or f["wire"].startswith("map") or f["wire"] != "message"
    flags = ""
    flags += "r" if f["repeated"] else ""
    flags += "o" if omitempty else ""
    flags += "n" if nillable else ""
    flags += "i" if inline else ""
    flags += "m" if f["wire"].startswith("map") else ""
    return [f["tag"], json_name, f["wire"], f["ref"], flags]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cargo-src", default=None)
    ap.add_argument("--go-api", required=True)
    ap.add_argument("--go-apimachinery", required=True)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    cargo = args.cargo_src or sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*")))[0]
    pb_root = os.path.join(cargo, "k8s-pb-0.9.0", "src")
    oa_root = os.path.join(cargo, "k8s-openapi-0.29.0", "src", "v1_33")
    go_roots = {"api": args.go_api, "apimachinery": args.go_apimachinery}

    oa_names, oa_kinds = parse_openapi([os.path.join(oa_root, p) for p, _, _ in PACKAGES])
    parsed, renames = [], {}
    for module_path, go_root, go_dir in PACKAGES:
        module = module_path.split("/")
        pb = parse_prost_file(os.path.join(pb_root, module_path, "mod.rs"), module)
        structs, named = parse_go_dir(os.path.join(go_roots[go_root], go_dir))
        # prost renames `AWSElastic…` to `AwsElastic…`: the Go (= proto = OpenAPI) name wins.
        go_names = {n.lower(): n for n in list(structs) + list(named)}
        for name, msg in pb.items():
            go_name = go_names.get(msg["go"].lower(), msg["go"])
            renames[name] = type_name(module) + "." + go_name
            parsed.append((renames[name], go_name, msg, structs, named))
    messages = {}
    for name, go_name, msg, structs, named in parsed:
        go_fields = structs.get(go_name)
        if go_fields is None and go_name not in named:
            warn("%s: no Go struct" % name)
        special = SPECIAL.get(name)
        if named.get(go_name) == "slice":
            special = "array"
        for f in msg["fields"]:
            f["ref"] = renames.get(f["ref"], f["ref"])
        fields = [build_field(name, f, oa_names, go_fields, named) for f in msg["fields"]]
        messages[name] = {"special": special, "fields": fields}

    for name, msg in messages.items():
        for f in msg["fields"]:
            if f[3] and f[3] not in messages:
                warn("%s.%s: unresolved ref %s" % (name, f[1], f[3]))

    kinds = []
    for api_version, kind, list_kind, tname in oa_kinds:
        if tname not in messages:
            warn("kind %s/%s: no message %s" % (api_version, kind, tname))
            continue
        kinds.append([api_version, kind, tname])
        list_name = tname + "List"
        if list_kind and list_name in messages:
            kinds.append([api_version, list_kind, list_name])
    # kube registers DeleteOptions in every group version (metav1.AddToGroupVersion), and
    # client-go sends a DELETE's body as protobuf in the resource's group version.
    delete_options = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
    if delete_options in messages:
        for api_version in sorted({k[0] for k in kinds}):
            kinds.append([api_version, "DeleteOptions", delete_options])
    kinds.sort()

    out = {"kinds": kinds, "messages": dict(sorted(messages.items()))}
    write_json(out, sys.stdout)
    if args.check:
        for w in WARNINGS:
            print("warning:", w, file=sys.stderr)
    print("%d messages, %d kinds, %d warnings" % (len(messages), len(kinds), len(WARNINGS)), file=sys.stderr)


def write_json(out, fh):
    """One kind / one field per line, so that regenerating gives readable diffs."""
    fh.write('{\n"kinds": [\n')
    fh.write(",\n".join("  " + json.dumps(k) for k in out["kinds"]))
    fh.write('\n],\n"messages": {\n')
    entries = []
    for name, msg in out["messages"].items():
        fields = ",\n".join("    " + json.dumps(f) for f in msg["fields"])
        entries.append(
            '  %s: {"special": %s, "fields": [\n%s\n  ]}'
            % (json.dumps(name), json.dumps(msg["special"]), fields)
        )
    fh.write(",\n".join(entries))
    fh.write("\n}\n}\n")


if __name__ == "__main__":
    main()
