#!/usr/bin/env python3
"""Generates the FHIR R4 element definitions table from the official R4 schemas.

Inputs (the R4 4.0.1 build's schemas, see ../shared/fhir-examples/README.md):
  - fhir-single.xsd: every type with its elements in specification order, cardinality
    (minOccurs/maxOccurs), choice groups (value[x]), base types, XML attributes and the
    code lists of required bindings;
  - fhir.schema.json: the regular expression of every primitive type and its JSON kind.

Output: Sources/FHIRCore/Generated/R4Definitions+Table.swift, one Swift string literal holding a
compact tab-separated table that FHIRCore parses once at start-up. A string literal compiles in
milliseconds where an array literal of thousands of structs costs the type checker minutes.

Line kinds of the table:
  P <name> <json kind: string|number|boolean> <regex>             a primitive type
  T <name> <kind: complex|resource|abstract> <base or ->            a type; its E/C lines follow
  E <name> <type> <min> <max: n or *> <binding or -> <xml: e|a>      an element
  C <name> <min> <max> <type,type,...>                             a choice element name[x]
  V <binding> <code,code,...>                                      a required binding's codes
Elements are flattened: a type lists its base types' elements first, in specification order.

Usage: generate_definitions.py SCHEMA_DIR OUTPUT_FILE
"""

import json
import sys
import xml.etree.ElementTree as ET

XS = "{http://www.w3.org/2001/XMLSchema}"

# fhir.schema.json gives base64Binary no pattern; this is the regex the R4 datatypes page gives.
PATTERN_FALLBACK = {"base64Binary": r"^(\s*([0-9a-zA-Z\+/=]){4}\s*)+$"}

PRIMITIVE_JSON_KIND = {
    "boolean": "boolean",
    "integer": "number",
    "decimal": "number",
    "positiveInt": "number",
    "unsignedInt": "number",
}


def load(schema_dir):
    xsd = ET.parse(f"{schema_dir}/fhir-single.xsd").getroot()
    with open(f"{schema_dir}/fhir.schema.json", encoding="utf-8") as f:
        json_schema = json.load(f)["definitions"]
    return xsd, json_schema


def code_lists(xsd):
    lists = {}
    for simple in xsd.findall(f"{XS}simpleType"):
        name = simple.get("name")
        if not name.endswith("-list"):
            continue
        restriction = simple.find(f"{XS}restriction")
        if restriction is None or restriction.get("base") != "code-primitive":
            raise SystemExit(f"unexpected code list {name}")
        lists[name[: -len("-list")]] = [e.get("value") for e in restriction.findall(f"{XS}enumeration")]
    return lists


def primitive_value_type(complex_type):
    """For `<complexType name="decimal">…<attribute name="value" type="decimal-primitive"/>`,
    returns 'decimal-primitive'; None for a type without a value attribute."""
    content = complex_type.find(f"{XS}complexContent")
    if content is None:
        return None
    ext = content.find(f"{XS}extension")
    if ext is None or ext.get("base") != "Element":
        return None
    if ext.find(f"{XS}sequence") is not None:
        return None
    for attr in ext.findall(f"{XS}attribute"):
        if attr.get("name") == "value":
            return attr.get("type")
    return None


def read_schemas(schema_dir):
    """Returns (primitives {name: (json kind, regex)}, types [(name, kind, base, elements)],
    code lists {binding: [codes]}), elements as the tuples of the table's E and C lines."""
    xsd, json_schema = load(schema_dir)
    lists = code_lists(xsd)
    complex_types = {c.get("name"): c for c in xsd.findall(f"{XS}complexType")}

    # Resource types: the choices of ResourceContainer.
    container = complex_types["ResourceContainer"].find(f"{XS}choice")
    resource_types = [e.get("ref") for e in container.findall(f"{XS}element")]

    # Primitive types and code-bound aliases (ObservationStatus → code with a required binding).
    primitives = {}
    bound_codes = {}
    for name, ct in complex_types.items():
        vt = primitive_value_type(ct)
        if vt is None:
            continue
        if vt.endswith("-primitive"):
            prim = vt[: -len("-primitive")]
            if prim == "SampledDataDataType":
                bound_codes[name] = ("string", None)
                continue
            primitives[name] = prim
        elif vt.endswith("-list"):
            bound_codes[name] = ("code", vt[: -len("-list")])
    def pattern(prim):
        found = json_schema.get(prim, {}).get("pattern") or PATTERN_FALLBACK.get(prim)
        if found is None:
            raise SystemExit(f"no pattern for primitive {prim}")
        return found

    def element_type(raw):
        if raw in bound_codes:
            return bound_codes[raw]
        if raw == "ResourceContainer":
            return ("Resource", None)
        return (raw, None)

    def own_elements(ct):
        """(elements, base) declared by one complexType, in order."""
        base = None
        body = ct
        content = ct.find(f"{XS}complexContent")
        if content is not None:
            ext = content.find(f"{XS}extension")
            base = ext.get("base")
            body = ext
        elements = []
        for attr in body.findall(f"{XS}attribute"):
            if attr.get("name") in ("id", "url"):
                prim = attr.get("type")[: -len("-primitive")]
                elements.append(("E", attr.get("name"), prim, 0 if attr.get("use") != "required" else 1, "1", "-", "a"))
        seq = body.find(f"{XS}sequence")
        if seq is not None:
            for child in seq:
                if child.tag == f"{XS}element":
                    ref = child.get("ref")
                    mn = int(child.get("minOccurs", "1"))
                    mx = child.get("maxOccurs", "1")
                    mx = "*" if mx == "unbounded" else mx
                    if ref == "xhtml:div":
                        elements.append(("E", "div", "xhtml", mn, mx, "-", "e"))
                        continue
                    t, binding = element_type(child.get("type"))
                    elements.append(("E", child.get("name"), t, mn, mx, binding or "-", "e"))
                elif child.tag == f"{XS}choice":
                    mn = int(child.get("minOccurs", "1"))
                    mx = child.get("maxOccurs", "1")
                    mx = "*" if mx == "unbounded" else mx
                    names = [e.get("name") for e in child.findall(f"{XS}element")]
                    types = [element_type(e.get("type"))[0] for e in child.findall(f"{XS}element")]
                    prefix = None
                    for n, t in zip(names, types):
                        suffix = t[0].upper() + t[1:]
                        if not n.endswith(suffix):
                            raise SystemExit(f"choice element {n} does not end with its type {t}")
                        p = n[: -len(suffix)]
                        if prefix is not None and p != prefix:
                            raise SystemExit(f"choice group mixes {prefix} and {p}")
                        prefix = p
                    elements.append(("C", prefix, mn, mx, ",".join(types)))
                else:
                    raise SystemExit(f"unexpected {child.tag} in {ct.get('name')}")
        return elements, base

    def flattened(name, seen=()):
        ct = complex_types[name]
        own, base = own_elements(ct)
        if base is None:
            return own, None
        inherited, _ = flattened(base)
        # An attribute (id) declared by Element stays first.
        return inherited + own, base

    primitive_table = {p: (PRIMITIVE_JSON_KIND.get(p, "string"), pattern(p)) for p in sorted(primitives)}
    types = []
    skip = set(primitives) | set(bound_codes) | {"ResourceContainer", "xhtml"}
    for name in complex_types:
        if name in skip:
            continue
        elements, base = flattened(name)
        if name in resource_types:
            kind = "resource"
        elif name in ("Resource", "DomainResource"):
            kind = "abstract"
        else:
            kind = "complex"
        types.append((name, kind, base, elements))
    return primitive_table, types, lists


def main():
    schema_dir, output = sys.argv[1], sys.argv[2]
    primitives, types, lists = read_schemas(schema_dir)
    lines = []
    for prim, (kind, regex) in primitives.items():
        lines.append("\t".join(["P", prim, kind, regex]))
    lines.append("\t".join(["P", "xhtml", "string", "-"]))
    for name, kind, base, elements in types:
        lines.append("\t".join(["T", name, kind, base or "-"]))
        for e in elements:
            lines.append("\t".join(str(x) for x in e))
    for binding in sorted(lists):
        lines.append("\t".join(["V", binding, ",".join(lists[binding])]))

    table = "\n".join(lines)
    if '"""#' in table:
        raise SystemExit("table contains the raw string terminator")
    with open(output, "w", encoding="utf-8") as f:
        f.write("// Generated by Generator/generate_definitions.py from the FHIR R4 (4.0.1) schemas\n")
        f.write("// (fhir-single.xsd and fhir.schema.json). Do not edit: run `make generate`.\n\n")
        f.write("extension R4Definitions {\n")
        f.write("    /// The element definitions of every FHIR R4 type, in the format the generator documents.\n")
        f.write('    static let table: String = #"""\n')
        f.write(table)
        f.write('\n"""#\n}\n')


if __name__ == "__main__":
    main()
