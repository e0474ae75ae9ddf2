#!/usr/bin/env python3
"""Generates the snapshot of each StructureDefinition in Profiles/ from its differential (and
those of the profiles it is based on) and the FHIR R4 (4.0.1) base definitions.

Inputs:
  - the R4 schemas (Tests/Fixtures/fhir-examples/R4/schema), read with generate_definitions.py:
    every element of every type, in specification order, with its cardinality, its types (a
    choice's types), the type that declares it and, for code elements, the name of their required
    binding; fhir.schema.json gives each element's definition text;
  - Generator/r4-constraints.json: the R4 invariants (ele-1, ext-1, dom-*, obs-*, con-*, ras-*)
    and the ValueSets of the required bindings of code elements, which the schemas do not carry.

What the snapshot holds (https://hl7.org/fhir/R4/profiling.html#snapshot):
  - every element of the base resource, backbone elements' children included, in the base's
    order: id, path, min, max, base (path, min, max of the element that defines it: Resource.id,
    DomainResource.text, Element.extension, Quantity.system, or the resource's own path), type,
    definition, the base invariants that apply to it and the base's required binding of a code
    element; a backbone element used a second time (Observation.component.referenceRange) is a
    contentReference to its first use, without children, as in the R4 definitions;
  - for a profile based on another profile (R4's `bp` on `vitalsigns`), the differentials from
    the resource's down to its own, merged by id: a later one's values replace an earlier one's,
    its invariants are added, and it may narrow a cardinality but not loosen it; the base profile
    is found among the files given and Profiles/ (its differential is used, not its snapshot);
  - the differential merged into the element of the same id: what the differential states
    replaces the base's (cardinality, types, short, definition, comment, fixed and pattern values,
    binding, mustSupport, slicing), invariants are added to the base's;
  - the children of a datatype (CodeableConcept.coding, Quantity.system, ...) only where the
    differential constrains inside it; the element must then have one type;
  - a slice right after its slicing entry and that entry's children, followed by its own children
    (all of a backbone element's; a datatype's only where the differential constrains inside the
    slice), each slice starting from the base definition of the sliced element.

It fails, naming the element, when the differential names an element the base does not have, is
not in the base's order, loosens the base's cardinality, gives a type the base does not allow,
slices an element without a slicing entry, or constrains inside an element of several types.

What it does not do: the base elements' short texts, comments, mappings, isModifier, isSummary,
examples, the preferred/extensible/example bindings and the targetProfiles of References (the R4
schemas have none of these: a Reference of the base has no targetProfile in the snapshot); type
profiles (a type with a profile is not expanded from that profile); re-slicing; slices of
extensions; the FHIRPath System.String type of the id elements (they keep the schema's id and
string). Output is deterministic: the same inputs give byte-identical files.

Usage: generate_snapshots.py [--check] [--schemas DIR] [--constraints FILE] [FILE ...]
  default FILEs: Profiles/StructureDefinition-*.json and Profiles/r4-core/StructureDefinition-*.json
  --check: write nothing; exit 1 naming every file whose committed snapshot is stale.
"""

import argparse
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generate_definitions as r4  # noqa: E402  (the R4 schema reader)

ROOT = os.path.dirname(HERE)
DEFAULT_SCHEMAS = os.path.join(ROOT, "Tests/Fixtures/fhir-examples/R4/schema")
DEFAULT_CONSTRAINTS = os.path.join(HERE, "r4-constraints.json")
DEFAULT_FILES = [os.path.join(ROOT, "Profiles/StructureDefinition-*.json"), os.path.join(ROOT, "Profiles/r4-core/StructureDefinition-*.json")]

# ElementDefinition's elements in specification order; a choice by its prefix.
ELEMENT_ORDER = [
    "id", "extension", "modifierExtension", "path", "representation", "sliceName", "sliceIsConstraining", "label", "code",
    "slicing", "short", "definition", "comment", "requirements", "alias", "min", "max", "base", "contentReference",
    "type", "defaultValue", "meaningWhenMissing", "orderMeaning", "fixed", "pattern", "example", "minValue", "maxValue",
    "maxLength", "condition", "constraint", "mustSupport", "isModifier", "isModifierReason", "isSummary", "binding",
    "mapping",
]
CHOICE_PREFIXES = ("defaultValue", "fixed", "pattern", "minValue", "maxValue")
CONSTRAINT_ORDER = ["key", "requirements", "severity", "human", "expression", "xpath", "source"]
# Types whose children are not elements a profile constrains here.
PRIMITIVE_OR_SPECIAL = {"xhtml", "Resource"}


class SnapshotError(Exception):
    pass


def ordered(element):
    def rank(key):
        for i, name in enumerate(ELEMENT_ORDER):
            if key == name or (name in CHOICE_PREFIXES and key.startswith(name) and key[len(name):][:1].isupper()):
                return i
        raise SnapshotError(f"{element.get('id')}: unknown ElementDefinition element '{key}'")

    out = {key: element[key] for key in sorted(element, key=lambda k: (rank(k), k))}
    if "constraint" in out:
        out["constraint"] = [{k: c[k] for k in CONSTRAINT_ORDER if k in c} for c in out["constraint"]]
    return out


def max_value(text):
    return float("inf") if text == "*" else int(text)


class R4Base:
    """The R4 types as the schemas describe them, with the invariants and bindings of the data file."""

    def __init__(self, schema_dir, constraints_file):
        _, types, _ = r4.read_schemas(schema_dir)
        self.types = {name: (kind, base, elements) for name, kind, base, elements in types}
        with open(os.path.join(schema_dir, "fhir.schema.json"), encoding="utf-8") as f:
            self.schema = json.load(f)["definitions"]
        with open(constraints_file, encoding="utf-8") as f:
            data = json.load(f)
        self.constraints = data["constraints"]
        self.bindings = data["requiredBindings"]["bindings"]

    def children(self, type_name):
        """The elements of a type, inherited ones first: dicts with name (value[x] for a choice),
        json (the JSON property whose description is the definition), types, min, max, binding
        and the type that declares the element."""
        if type_name not in self.types:
            raise SnapshotError(f"no R4 type {type_name}")
        out = []
        for e in self.types[type_name][2]:
            if e[0] == "E":
                _, name, t, mn, mx, binding, _ = e
                child = {"name": name, "json": name, "types": [t], "min": mn, "max": mx, "binding": binding}
            else:
                _, prefix, mn, mx, ts = e
                types = ts.split(",")
                child = {"name": prefix + "[x]", "json": prefix + types[0][0].upper() + types[0][1:], "types": types,
                         "min": mn, "max": mx, "binding": "-"}
            child["declared"] = self.declaring(type_name, e[1])
            child["owner"] = type_name
            out.append(child)
        return out

    def declaring(self, type_name, name):
        t = type_name
        while True:
            base = self.types[t][1]
            if base is None or not any(el[1] == name for el in self.types[base][2]):
                return t
            t = base

    def definition(self, child):
        """The declaring type's description of the element; fhir.schema.json has no Resource or
        DomainResource, so their elements are described under each resource."""
        for owner in (child["declared"], child["owner"]):
            props = self.schema.get(owner.replace(".", "_"), {}).get("properties", {})
            text = props.get(child["json"], {}).get("description")
            if text:
                return text
        raise SnapshotError(f"no definition for {child['declared']}.{child['json']} in fhir.schema.json")

    def type_code(self, t):
        """The type code of an element of type t: a backbone type (Observation.Component) is
        written as its base, BackboneElement (or Element)."""
        if "." in t:
            return self.types[t][1]
        return t

    def is_complex(self, t):
        return t in self.types and self.types[t][0] == "complex"


def differential_layers(sd, name, resolve, seen=()):
    """The differentials from the R4 core resource down to this profile: one for a constraint on
    the resource itself, the base profile's layers first for a constraint on another profile
    (`resolve` finds a profile by canonical URL)."""
    rtype = sd.get("type")
    if sd.get("derivation") != "constraint":
        raise SnapshotError(f"{name}: only constraints are supported")
    layer = sd["differential"]["element"]
    base_url = sd.get("baseDefinition")
    if base_url == f"http://hl7.org/fhir/StructureDefinition/{rtype}":
        return [layer]
    if base_url in seen:
        raise SnapshotError(f"{name}: its baseDefinition {base_url} derives from itself")
    parent = resolve(base_url)
    if parent is None:
        raise SnapshotError(f"{name}: its baseDefinition {base_url} is neither the R4 {rtype} nor a profile given to the generator")
    if parent.get("type") != rtype:
        raise SnapshotError(f"{name}: its baseDefinition {base_url} constrains {parent.get('type')}, not {rtype}")
    return differential_layers(parent, parent.get("id", base_url), resolve, seen + (base_url,)) + [layer]


def merge_layers(layers, name):
    """The differentials merged by element id: a later layer's values replace an earlier one's,
    its invariants are added; it may narrow a cardinality, never loosen it."""
    order, by_id = [], {}
    for layer in layers:
        ids = set()
        for e in layer:
            if e["id"] in ids:
                raise SnapshotError(f"{name}: the differential names {e['id']} twice")
            ids.add(e["id"])
            if e["id"] not in by_id:
                by_id[e["id"]] = dict(e)
                order.append(e["id"])
                continue
            merged = by_id[e["id"]]
            for key, value in e.items():
                if key == "constraint":
                    keys = {c["key"] for c in merged.get("constraint", [])}
                    for c in value:
                        if c["key"] in keys:
                            raise SnapshotError(f"{name}: {e['id']}: invariant {c['key']} is already defined by the base profile")
                    merged["constraint"] = merged.get("constraint", []) + value
                elif key == "min" and "sliceName" not in e and value < merged.get("min", 0):
                    raise SnapshotError(f"{name}: {e['id']}: min {value} loosens the base profile's {merged['min']}")
                elif key == "max" and "max" in merged and max_value(value) > max_value(merged["max"]):
                    raise SnapshotError(f"{name}: {e['id']}: max {value} loosens the base profile's {merged['max']}")
                else:
                    merged[key] = value
    return [by_id[i] for i in order], by_id


class Generator:
    def __init__(self, base, sd, name, resolve=lambda url: None):
        self.base = base
        self.sd = sd
        self.name = name
        self.rtype = sd["type"]
        self.layers = differential_layers(sd, name, resolve)
        self.diff, self.by_id = merge_layers(self.layers, name)
        self.used = set()
        self.out = []
        self.backbone_paths = {}
        self.placed = set()

    def fail(self, message):
        raise SnapshotError(f"{self.name}: {message}")

    def base_constraints(self, path, name, type_codes, root=False):
        found = []
        for c in self.base.constraints:
            context = c["context"]
            applies = (
                (root and context in ("DomainResource", self.rtype))
                or (not root and context == "Element" and name != "id")
                or (not root and context == "Extension" and "Extension" in type_codes)
                or (not root and context == path)
            )
            if applies:
                self.placed.add(c["key"])
                found.append({k: c[k] for k in ("key", "severity", "human", "expression", "source")})
        return found

    def generate(self):
        rtype = self.rtype
        if rtype not in self.base.types or self.base.types[rtype][0] != "resource":
            self.fail(f"{rtype} is not an R4 resource")
        root = {
            "id": rtype,
            "path": rtype,
            "definition": self.base.schema[rtype]["description"],
            "min": 0,
            "max": "*",
            "base": {"path": rtype, "min": 0, "max": "*"},
            "constraint": self.base_constraints(rtype, rtype, [], root=True),
        }
        self.merge(root, rtype, base_min=0, base_max="*", base_types=[], is_slice=False)
        self.walk(rtype, rtype, rtype)
        unused = [e["id"] for e in self.diff if e["id"] not in self.used]
        if unused:
            self.fail(f"the differential names elements the base does not have (or inside an element not expanded): {', '.join(unused)}")
        for layer in self.layers:
            positions = [next(i for i, el in enumerate(self.out) if el["id"] == e["id"]) for e in layer]
            for (a, pa), (b, pb) in zip(zip(layer, positions), zip(layer[1:], positions[1:])):
                if pb <= pa:
                    self.fail(f"the differential is not in the base's order: {b['id']} comes after {a['id']}")
        expected = {c["key"] for c in self.base.constraints
                    if c["context"] in ("Element", "Extension", "DomainResource", rtype) or c["context"].startswith(rtype + ".")}
        missing = sorted(expected - self.placed)
        if missing:
            self.fail(f"base invariants whose context matched no element: {', '.join(missing)}")
        return [ordered(el) for el in self.out]

    def walk(self, type_name, id_prefix, path_prefix):
        for child in self.base.children(type_name):
            cid = f"{id_prefix}.{child['name']}"
            cpath = f"{path_prefix}.{child['name']}"
            self.emit(child, cid, cpath, None)
            slices = [e["id"] for e in self.diff if e["id"].startswith(cid + ":") and "." not in e["id"][len(cid) + 1:]]
            if slices and "slicing" not in self.by_id.get(cid, {}):
                self.fail(f"{cid} is sliced ({', '.join(slices)}) but the differential gives it no slicing")
            for sid in slices:
                slice_name = sid[len(cid) + 1:]
                if ":" in slice_name or "/" in slice_name:
                    self.fail(f"{sid}: re-slicing is not supported")
                self.emit(child, sid, cpath, slice_name)

    def emit(self, child, eid, epath, slice_name):
        declared = child["declared"]
        if declared == self.rtype or "." in declared:
            base_path = epath
        else:
            base_path = f"{declared}.{child['name']}"
        backbone = len(child["types"]) == 1 and "." in child["types"][0]
        type_codes = [self.base.type_code(t) for t in child["types"]]
        element = {"id": eid, "path": epath}
        if slice_name is not None:
            element["sliceName"] = slice_name
        element["definition"] = self.base.definition(child)
        element["min"] = child["min"]
        element["max"] = child["max"]
        element["base"] = {"path": base_path, "min": child["min"], "max": child["max"]}
        reference = None
        if backbone:
            first = self.backbone_paths.setdefault(child["types"][0], epath)
            if first != epath:
                reference = first
        if reference:
            element["contentReference"] = f"#{reference}"
        else:
            element["type"] = [{"code": code} for code in type_codes]
        constraints = self.base_constraints(epath, child["name"].removesuffix("[x]"), type_codes)
        if constraints:
            element["constraint"] = constraints
        if child["binding"] != "-":
            if child["binding"] not in self.base.bindings:
                self.fail(f"{eid}: no ValueSet for the required binding {child['binding']} in r4-constraints.json")
            element["binding"] = {"strength": "required", "valueSet": self.base.bindings[child["binding"]]}
        merged = self.merge(element, eid, base_min=child["min"], base_max=child["max"], base_types=type_codes,
                            is_slice=slice_name is not None)
        if reference:
            if any(k.startswith(eid + ".") for k in self.by_id):
                self.fail(f"{eid}: constraints inside a contentReference element are not supported")
            return
        if backbone:
            self.walk(child["types"][0], eid, epath)
            return
        if any(k.startswith(eid + ".") for k in self.by_id):
            codes = [t["code"] for t in merged["type"]]
            if len(codes) != 1:
                self.fail(f"{eid}: the differential constrains inside it, so it must have one type, not {', '.join(codes)}")
            if not self.base.is_complex(codes[0]) or codes[0] in PRIMITIVE_OR_SPECIAL:
                self.fail(f"{eid}: children of a {codes[0]} are not expanded")
            self.walk(codes[0], eid, epath)

    def merge(self, element, eid, base_min, base_max, base_types, is_slice):
        diff = self.by_id.get(eid)
        if diff is not None:
            self.used.add(eid)
            expected_path = ".".join(part.split(":")[0] for part in eid.split("."))
            if diff.get("path") != expected_path:
                self.fail(f"{eid}: path is {diff.get('path')}, expected {expected_path}")
            if is_slice and diff.get("sliceName") != element.get("sliceName"):
                self.fail(f"{eid}: sliceName must be {element.get('sliceName')}")
            for key, value in diff.items():
                if key in ("id", "path", "sliceName"):
                    continue
                if key == "constraint":
                    keys = {c["key"] for c in element.get("constraint", [])}
                    for c in value:
                        if c["key"] in keys:
                            self.fail(f"{eid}: invariant {c['key']} is already defined")
                    element["constraint"] = element.get("constraint", []) + value
                elif key == "type":
                    for t in value:
                        if base_types and t["code"] not in base_types:
                            self.fail(f"{eid}: type {t['code']} is not one the base allows ({', '.join(base_types)})")
                    element["type"] = value
                else:
                    element[key] = value
            mn, mx = element["min"], element["max"]
            if mn > max_value(mx):
                self.fail(f"{eid}: min {mn} is above max {mx}")
            if max_value(mx) > max_value(base_max):
                self.fail(f"{eid}: max {mx} loosens the base's {base_max}")
            if not is_slice and mn < base_min:
                self.fail(f"{eid}: min {mn} loosens the base's {base_min}")
        self.out.append(element)
        return element


def with_snapshot(sd, elements):
    out = {}
    for key, value in sd.items():
        if key == "snapshot":
            continue
        if key == "differential":
            out["snapshot"] = {"element": elements}
        out[key] = value
    return out


def render(sd):
    return json.dumps(sd, indent=2, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description="Generates the snapshots of the profiles in Profiles/.")
    parser.add_argument("files", nargs="*")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a snapshot is stale")
    parser.add_argument("--schemas", default=DEFAULT_SCHEMAS)
    parser.add_argument("--constraints", default=DEFAULT_CONSTRAINTS)
    args = parser.parse_args()
    files = sorted(args.files or [path for pattern in DEFAULT_FILES for path in glob.glob(pattern)])
    if not files:
        print("no StructureDefinition files", file=sys.stderr)
        return 1
    base = R4Base(args.schemas, args.constraints)
    # The profiles a profile may be based on: those given and every one under Profiles/.
    # Each file read once: its text (to compare with the output) and the profile it holds.
    texts = {}
    for path in sorted(set(files) | set(glob.glob(os.path.join(ROOT, "Profiles", "**", "StructureDefinition-*.json"), recursive=True))):
        with open(path, encoding="utf-8") as f:
            texts[path] = f.read()
    parsed = {path: json.loads(text) for path, text in texts.items()}
    profiles = {sd["url"]: sd for sd in parsed.values() if "url" in sd}
    stale = []
    for path in files:
        current, sd = texts[path], parsed[path]
        try:
            elements = Generator(base, sd, os.path.basename(path), profiles.get).generate()
        except SnapshotError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        text = render(with_snapshot(sd, elements))
        if text == current:
            continue
        if args.check:
            stale.append(path)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {path}")
    if stale:
        for path in stale:
            print(f"{path}: the snapshot is stale: run make profiles", file=sys.stderr)
        return 1
    if args.check:
        print(f"snapshots are current ({len(files)} StructureDefinitions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
