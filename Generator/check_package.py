#!/usr/bin/env python3
"""Checks the package Generator/build_package.py wrote: unpacks fhir-risk-gateway.icca-<version>.tgz
(in memory) and fails, naming every problem, unless

  - every member is a regular file under package/ (no absolute path, no '..'), owned by 0/0;
  - package/package.json names the package and version of the file name, FHIR 4.0.1, and depends
    on hl7.fhir.r4.core 4.0.1;
  - package/.index.json and package/example/.index.json have index-version 1 and one entry per
    resource file of their folder, no more, each entry's filename, resourceType, id, url, version,
    kind and type equal to the file's;
  - every resource is named <resourceType>-<id>.json, and every canonical resource has a url under
    the package's canonical and the package's version;
  - the ImplementationGuide has the manifest's packageId, version and FHIR version, lists every
    resource and example in definition.resource (and nothing else), marks the examples with
    exampleCanonical (their meta.profile, a profile of the package) or exampleBoolean, the rest
    with exampleBoolean false, and depends on every package of the manifest but the R4 core;
  - every example names a profile of the package in meta.profile (the Patient excepted).

Usage: check_package.py DIR_OR_TGZ
"""

import io
import json
import os
import re
import sys
import tarfile

INDEX_FIELDS = ("resourceType", "id", "url", "version", "kind", "type")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    target = sys.argv[1]
    if os.path.isdir(target):
        found = sorted(n for n in os.listdir(target) if n.endswith(".tgz"))
        if len(found) != 1:
            print(f"{target}: expected one .tgz, found {found}", file=sys.stderr)
            return 1
        target = os.path.join(target, found[0])
    problems = []

    def problem(text):
        problems.append(text)

    files = {}
    with tarfile.open(target, "r:gz") as tar:
        for member in tar.getmembers():
            name = member.name
            if not member.isfile():
                problem(f"{name}: not a regular file")
                continue
            if name.startswith("/") or ".." in name.split("/") or not name.startswith("package/"):
                problem(f"{name}: outside package/")
                continue
            if member.uid != 0 or member.gid != 0:
                problem(f"{name}: owner {member.uid}/{member.gid}, not 0/0")
            files[name] = tar.extractfile(member).read()

    def load(name):
        try:
            return json.loads(files[name])
        except KeyError:
            problem(f"{name}: missing")
        except ValueError as error:
            problem(f"{name}: not JSON ({error})")
        return None

    manifest = load("package/package.json") or {}
    match = re.fullmatch(r"(.+)-(\d+\.\d+\.\d+[^/]*)\.tgz", os.path.basename(target))
    if not match or manifest.get("name") != match.group(1) or manifest.get("version") != match.group(2):
        problem(f"package.json names {manifest.get('name')} {manifest.get('version')}, the file is {os.path.basename(target)}")
    if manifest.get("fhirVersions") != ["4.0.1"]:
        problem(f"package.json fhirVersions is {manifest.get('fhirVersions')}, not ['4.0.1']")
    dependencies = manifest.get("dependencies", {})
    if dependencies.get("hl7.fhir.r4.core") != "4.0.1":
        problem("package.json does not depend on hl7.fhir.r4.core 4.0.1")
    canonical = manifest.get("canonical", "")

    resources = {}
    for folder in ("package/", "package/example/"):
        names = sorted(n for n in files if n.startswith(folder) and "/" not in n[len(folder):]
                       and n.endswith(".json") and not n.endswith("/package.json") and not n[len(folder):].startswith("."))
        index = load(folder + ".index.json") or {}
        if index.get("index-version") != 1:
            problem(f"{folder}.index.json: index-version is {index.get('index-version')}, not 1")
        entries = {}
        for entry in index.get("files", []):
            filename = entry.get("filename")
            if filename in entries:
                problem(f"{folder}.index.json lists {filename} twice")
            entries[filename] = entry
        listed = {folder + f for f in entries}
        for name in sorted(set(names) - listed):
            problem(f"{name}: not in {folder}.index.json")
        for name in sorted(listed - set(names)):
            problem(f"{folder}.index.json lists {name[len(folder):]}, which is not in the package")
        for name in names:
            resource = load(name)
            if not isinstance(resource, dict):
                continue
            resources[name] = resource
            base = name[len(folder):]
            if base != f"{resource.get('resourceType')}-{resource.get('id')}.json":
                problem(f"{name}: not named <resourceType>-<id>.json")
            entry = entries.get(base)
            if entry is not None:
                for field in INDEX_FIELDS:
                    expected = resource.get(field) if isinstance(resource.get(field), str) else None
                    if entry.get(field) != expected:
                        problem(f"{folder}.index.json: {base} {field} is {entry.get(field)!r}, the file has {expected!r}")
            if "url" in resource and folder == "package/":
                if not resource["url"].startswith(canonical + "/"):
                    problem(f"{name}: url {resource['url']} is not under {canonical}")
                if resource.get("version") != manifest.get("version"):
                    problem(f"{name}: version {resource.get('version')}, the package is {manifest.get('version')}")

    profiles = {r["url"] for n, r in resources.items() if r.get("resourceType") == "StructureDefinition"}
    examples = {n: r for n, r in resources.items() if n.startswith("package/example/")}
    for name, resource in examples.items():
        claimed = resource.get("meta", {}).get("profile", [])
        if resource.get("resourceType") != "Patient" and not any(p in profiles for p in claimed):
            problem(f"{name}: meta.profile names no profile of the package")

    guides = [r for n, r in resources.items() if n.startswith("package/") and r.get("resourceType") == "ImplementationGuide"]
    if len(guides) != 1:
        problem(f"expected one ImplementationGuide, found {len(guides)}")
    else:
        guide = guides[0]
        if guide.get("packageId") != manifest.get("name") or guide.get("version") != manifest.get("version"):
            problem("the ImplementationGuide's packageId or version differs from package.json")
        if guide.get("fhirVersion") != ["4.0.1"]:
            problem("the ImplementationGuide's fhirVersion is not ['4.0.1']")
        depends = {d.get("packageId"): d.get("version") for d in guide.get("dependsOn", [])}
        for package, version in dependencies.items():
            if package != "hl7.fhir.r4.core" and depends.get(package) != version:
                problem(f"the ImplementationGuide does not depend on {package} {version}")
        listed = {}
        for item in guide.get("definition", {}).get("resource", []):
            listed[item.get("reference", {}).get("reference")] = item
        for name, resource in resources.items():
            if resource is guide:
                continue
            key = f"{resource.get('resourceType')}/{resource.get('id')}"
            item = listed.pop(key, None)
            if item is None:
                problem(f"{name}: not in the ImplementationGuide's definition.resource")
                continue
            if name in examples:
                claimed = resource.get("meta", {}).get("profile", [])
                if "exampleCanonical" in item:
                    if item["exampleCanonical"] not in claimed or item["exampleCanonical"] not in profiles:
                        problem(f"{key}: exampleCanonical {item['exampleCanonical']} is not its meta.profile in the package")
                elif item.get("exampleBoolean") is not True:
                    problem(f"{key}: an example without exampleCanonical or exampleBoolean true")
            elif item.get("exampleBoolean") is not False or "exampleCanonical" in item:
                problem(f"{key}: a conformance resource marked as an example")
        for key in sorted(listed):
            problem(f"the ImplementationGuide lists {key}, which is not in the package")

    if problems:
        for text in problems:
            print(f"{os.path.basename(target)}: {text}", file=sys.stderr)
        return 1
    print(f"{os.path.basename(target)}: {len(files)} files; layout, indexes and ImplementationGuide checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
