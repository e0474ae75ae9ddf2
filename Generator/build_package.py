#!/usr/bin/env python3
"""Builds the implementation guide in Profiles/ as an NPM package that HL7's tools load (the
validator's -ig, the IG publisher, SUSHI): fhir-risk-gateway.icca-<version>.tgz.

Layout (https://confluence.hl7.org/display/FHIR/NPM+Package+Specification):
  package/package.json          Profiles/package.json, the manifest
  package/.index.json           index-version 1: every resource of package/ with its filename,
                                resourceType, id, and url, version, kind, type where it has them
  package/<Type>-<id>.json      every resource at the top of Profiles/ (StructureDefinitions,
                                ValueSets, the CodeSystem, the ImplementationGuide); not those of
                                Profiles/r4-core/, which are R4 core's own (hl7.fhir.r4.core)
  package/example/.index.json   the same index for the examples
  package/example/<Type>-<id>.json   Profiles/examples/

The archive is deterministic: members sorted by name, owner 0/0 without names, mode 0644, a fixed
mtime, gzip without a file name or time; the same Profiles/ give a byte-identical file.

Usage: build_package.py [--profiles Profiles] [--out .build/ig]
"""

import argparse
import gzip
import io
import json
import os
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# 2000-01-01T00:00:00Z: a fixed time, so that the archive does not depend on when it is built.
MTIME = 946684800
INDEX_FIELDS = ("filename", "resourceType", "id", "url", "version", "kind", "type")


def read_json(path):
    with open(path, "rb") as f:
        data = f.read()
    return data, json.loads(data)


def index_entry(filename, resource):
    entry = {"filename": filename}
    for field in INDEX_FIELDS[1:]:
        if isinstance(resource.get(field), str):
            entry[field] = resource[field]
    return entry


def index_bytes(entries):
    return (json.dumps({"index-version": 1, "files": entries}, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def collect(folder):
    """(filename, bytes, resource) of every FHIR resource file in folder, by filename."""
    out = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not name.endswith(".json") or name == "package.json" or not os.path.isfile(path):
            continue
        data, resource = read_json(path)
        if "resourceType" not in resource or "id" not in resource:
            raise SystemExit(f"{path} is not a FHIR resource with an id")
        expected = f"{resource['resourceType']}-{resource['id']}.json"
        if name != expected:
            raise SystemExit(f"{path}: a package file is named <resourceType>-<id>.json ({expected})")
        out.append((name, data, resource))
    return out


def build(profiles):
    manifest_bytes, manifest = read_json(os.path.join(profiles, "package.json"))
    members = {"package/package.json": manifest_bytes}
    resources = collect(profiles)
    members["package/.index.json"] = index_bytes([index_entry(n, r) for n, _, r in resources])
    for name, data, _ in resources:
        members[f"package/{name}"] = data
    examples_dir = os.path.join(profiles, "examples")
    if os.path.isdir(examples_dir):
        examples = collect(examples_dir)
        members["package/example/.index.json"] = index_bytes([index_entry(n, r) for n, _, r in examples])
        for name, data, _ in examples:
            members[f"package/example/{name}"] = data
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(members):
            data = members[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))
    gz_buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buffer, compresslevel=9, mtime=0) as gz:
        gz.write(tar_buffer.getvalue())
    return manifest, gz_buffer.getvalue()


def main():
    parser = argparse.ArgumentParser(description="Builds the NPM package of the implementation guide in Profiles/.")
    parser.add_argument("--profiles", default=os.path.join(ROOT, "Profiles"))
    parser.add_argument("--out", default=os.path.join(ROOT, ".build/ig"))
    args = parser.parse_args()
    manifest, data = build(args.profiles)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{manifest['name']}-{manifest['version']}.tgz")
    with open(path, "wb") as f:
        f.write(data)
    print(f"wrote {path} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
