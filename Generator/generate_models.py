#!/usr/bin/env python3
"""Generates the typed Swift model (module FHIRModels) from the FHIR R4 schemas.

It covers the resources the gateway works with (MODEL_RESOURCES), their backbone elements, and
every datatype they reach (Extension's value[x] reaches nearly all of them). Each type becomes a
`Sendable`, `Hashable` struct with one property per element: a primitive as
`FHIRPrimitive<Value>` (value plus id and extensions), a choice element `name[x]` as an enum
`NameX`, a repeating element as an array, a required single element as a non-optional property.
Every struct converts from and to the format-neutral `FHIRNode` tree of FHIRCore; elements holding
any resource use `AnyResource`, which keeps resources outside the model as their tree.

Usage: generate_models.py SCHEMA_DIR OUTPUT_DIR   (one file per resource, one for the datatypes)
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate_definitions import read_schemas  # noqa: E402

MODEL_RESOURCES = [
    "Observation",
    "ImagingStudy",
    "RiskAssessment",
    "Bundle",
    "MessageHeader",
    "OperationOutcome",
    "CapabilityStatement",
    "Patient",
    "Condition",
]

PRIMITIVE_SWIFT = {
    "boolean": "Bool",
    "integer": "Int32",
    "positiveInt": "Int32",
    "unsignedInt": "Int32",
    "decimal": "FHIRDecimal",
    "date": "FHIRDate",
    "dateTime": "FHIRDateTime",
    "instant": "FHIRInstant",
    "time": "FHIRTime",
}

SWIFT_KEYWORDS = {
    "extension", "class", "import", "operator", "for", "in", "protocol", "static", "default", "case",
    "repeat", "return", "where", "while", "if", "else", "switch", "struct", "enum", "func", "let", "var",
    "self", "Self", "init", "internal", "public", "private", "is", "as", "true", "false", "nil", "do",
    "break", "continue", "throw", "throws", "try", "catch", "guard", "defer", "inout", "subscript", "Type",
    "Protocol", "any", "some",
}


def ident(name):
    return f"`{name}`" if name in SWIFT_KEYWORDS else name


def main():
    schema_dir, out_dir = sys.argv[1], sys.argv[2]
    primitives, types, _ = read_schemas(schema_dir)
    by_name = {t[0]: t for t in types}
    primitive_names = set(primitives) | {"xhtml"}

    # The closure of types reachable from the model resources.
    wanted, queue = [], list(MODEL_RESOURCES)
    seen = set()
    while queue:
        name = queue.pop(0)
        if name in seen or name in primitive_names or name == "Resource":
            continue
        seen.add(name)
        wanted.append(name)
        for e in by_name[name][3]:
            type_names = e[2].split(",") if e[0] == "E" else e[4].split(",")
            for t in type_names:
                if t not in seen:
                    queue.append(t)

    # Value types cannot contain themselves: find the by-value containment edges (a single,
    # non-choice element of a complex type) that close a cycle, and store those out of line.
    indirect = set()
    state = {}

    def visit(name):
        state[name] = "open"
        for e in by_name[name][3]:
            if e[0] != "E" or e[4] != "1" or e[2] in primitive_names or e[2] == "Resource" or e[6] == "a":
                continue
            target = e[2]
            if state.get(target) == "open":
                indirect.add((name, e[1]))
            elif target not in state:
                visit(target)
        state[name] = "done"

    for name in wanted:
        if name not in state:
            visit(name)

    def swift_type_name(fhir_name):
        return fhir_name  # Observation.Component stays a nested type.

    def element_swift_type(t):
        if t in primitive_names:
            return f"FHIRPrimitive<{PRIMITIVE_SWIFT.get(t, 'String')}>"
        if t == "Resource":
            return "AnyResource"
        return swift_type_name(t)

    def case_name(t):
        name = t[0].lower() + t[1:]
        return ident(name)

    def generate_type(name):
        _, kind, base, elements = by_name[name]
        is_resource = kind == "resource"
        simple = name.split(".")[-1]
        protocol = "FHIRResourceModel" if is_resource else "FHIRElementModel"
        lines = []
        doc = f"/// The FHIR R4 {'resource' if is_resource else 'type'} `{name}`"
        lines.append(doc + (", with every element of R4." if is_resource else "."))
        lines.append(f"public struct {simple}: {protocol} {{")
        lines.append(f'    public static let fhirTypeName = "{name}"')
        lines.append("")
        props = []  # (swift name, swift type, optional, repeating, element tuple)
        choice_enums = []
        for e in elements:
            if e[0] == "E":
                _, ename, etype, emin, emax, _, xml = e
                if xml == "a":
                    swift_type = "String"
                else:
                    swift_type = element_swift_type(etype)
                repeating = emax != "1"
                required = int(emin) >= 1 and not repeating
                props.append((ename, swift_type, required, repeating, e))
            else:
                _, ename, emin, emax, etypes = e
                enum_name = ename[0].upper() + ename[1:] + "X"
                choice_enums.append((enum_name, etypes.split(","), ename))
                required = int(emin) >= 1
                props.append((ename, enum_name, required, False, e))
        for pname, ptype, required, repeating, e in props:
            wrapper = "@Indirect " if (name, pname) in indirect else ""
            if repeating:
                lines.append(f"    public var {ident(pname)}: [{ptype}]")
            elif required:
                lines.append(f"    {wrapper}public var {ident(pname)}: {ptype}")
            else:
                lines.append(f"    {wrapper}public var {ident(pname)}: {ptype}?")
        for enum_name, etypes, ename in choice_enums:
            lines.append("")
            lines.append(f"    /// `{name}.{ename}[x]`: one of its {len(etypes)} types.")
            lines.append(f"    public indirect enum {enum_name}: Sendable, Hashable {{")
            for t in etypes:
                lines.append(f"        case {case_name(t)}({element_swift_type(t)})")
            lines.append("    }")

        # Memberwise init: required elements first, as parameters without defaults.
        params = []
        for pname, ptype, required, repeating, e in props:
            if repeating:
                params.append(f"{ident(pname)}: [{ptype}] = []")
            elif required:
                params.append(f"{ident(pname)}: {ptype}")
        for pname, ptype, required, repeating, e in props:
            if not repeating and not required:
                params.append(f"{ident(pname)}: {ptype}? = nil")
        required_params = [p for p in params if "=" not in p]
        other_params = [p for p in params if "=" in p]
        lines.append("")
        lines.append("    public init(")
        all_params = required_params + other_params
        for i, p in enumerate(all_params):
            lines.append(f"        {p}" + ("," if i < len(all_params) - 1 else ""))
        lines.append("    ) {")
        for pname, *_ in props:
            lines.append(f"        self.{ident(pname)} = {ident(pname)}")
        lines.append("    }")

        # init(node:): optional and repeating elements are built in place in self (locals moved
        # into self at the end cost a copy of every large optional struct: ~100 memcpy calls per
        # Observation); only required ones go through a local, to be checked at the end.
        lines.append("")
        lines.append("    public init(node: FHIRNode) throws(FHIRModelError) {")
        for pname, ptype, required, repeating, e in props:
            if repeating:
                lines.append(f"        self.{ident(pname)} = []")
            elif required:
                lines.append(f"        var {pname}_: {ptype}? = nil")
            else:
                lines.append(f"        self.{ident(pname)} = nil")
        lines.append("        for child in node.children {")
        lines.append("            switch child.name {")
        for pname, ptype, required, repeating, e in props:
            target = f"{pname}_" if required and not repeating else f"self.{ident(pname)}"
            if e[0] == "E":
                if e[6] == "a":
                    expr = "child.value"
                elif ptype == "AnyResource":
                    expr = "try AnyResource(node: child)"
                else:
                    expr = f"try {ptype}(node: child)"
                if repeating:
                    lines.append(f'            case "{pname}": {target}.append({expr})')
                else:
                    lines.append(f'            case "{pname}": {target} = {expr}')
            else:
                for t in e[4].split(","):
                    jname = pname + t[0].upper() + t[1:]
                    st = element_swift_type(t)
                    ctor = "AnyResource(node: child)" if st == "AnyResource" else f"{st}(node: child)"
                    lines.append(f'            case "{jname}": {target} = .{case_name(t)}(try {ctor})')
        lines.append(f'            default: throw .unknownElement(child.name, in: "{name}")')
        lines.append("            }")
        lines.append("        }")
        for pname, ptype, required, repeating, e in props:
            if required and not repeating:
                lines.append(f'        guard let {pname}_ else {{ throw .missing("{pname}", in: "{name}") }}')
                lines.append(f"        self.{ident(pname)} = {pname}_")
        lines.append("    }")

        # fill(_:)
        lines.append("")
        lines.append("    public func fill(_ node: inout FHIRNode) {")
        for pname, ptype, required, repeating, e in props:
            if e[0] == "E":
                fn = "appendModels" if repeating else "appendModel"
                lines.append(f'        node.{fn}("{pname}", {ident(pname)})')
            else:
                lines.append(f"        switch {ident(pname)} {{")
                for t in e[4].split(","):
                    jname = pname + t[0].upper() + t[1:]
                    lines.append(f'        case .{case_name(t)}(let value): node.appendModel("{jname}", value)')
                if not required:
                    lines.append("        case nil: break")
                lines.append("        }")
        lines.append("    }")
        lines.append("}")
        return lines

    def wrap(name, body):
        parts = name.split(".")
        if len(parts) == 1:
            return body
        parent = ".".join(parts[:-1])
        return [f"extension {parent} {{"] + ["    " + l if l else l for l in body] + ["}"]

    header = [
        "// Generated by Generator/generate_models.py from the FHIR R4 (4.0.1) schemas. Do not edit:",
        "// run `make generate`.",
        "",
        "import FHIRCore",
        "",
    ]
    os.makedirs(out_dir, exist_ok=True)
    files = {}
    for name in wanted:
        top = name.split(".")[0]
        file = top if top in MODEL_RESOURCES else "Datatypes"
        files.setdefault(file, []).extend(wrap(name, generate_type(name)) + [""])

    # AnyResource: the model resources, and any other resource kept as its tree.
    any_lines = [
        "/// A resource inside another (`Bundle.entry.resource`, `contained`): one of the resources the",
        "/// model types, or any other R4 resource kept as its element tree, so nothing a sender puts in a",
        "/// message is lost.",
        "public enum AnyResource: Sendable, Hashable {",
    ]
    for r in MODEL_RESOURCES:
        any_lines.append(f"    case {r[0].lower() + r[1:]}({r})")
    any_lines.append("    case other(FHIRNode)")
    any_lines.append("")
    any_lines.append("    public init(node: FHIRNode) throws(FHIRModelError) {")
    any_lines.append("        switch node.type.name {")
    for r in MODEL_RESOURCES:
        any_lines.append(f'        case "{r}": self = .{r[0].lower() + r[1:]}(try {r}(node: node))')
    any_lines.append("        default: self = .other(node)")
    any_lines.append("        }")
    any_lines.append("    }")
    any_lines.append("")
    any_lines.append("    /// The resource as an element tree.")
    any_lines.append("    public var node: FHIRNode {")
    any_lines.append("        switch self {")
    for r in MODEL_RESOURCES:
        any_lines.append(f"        case .{r[0].lower() + r[1:]}(let resource): resource.node")
    any_lines.append("        case .other(let node): node")
    any_lines.append("        }")
    any_lines.append("    }")
    any_lines.append("}")
    files["AnyResource"] = any_lines + [""]

    for file, body in files.items():
        with open(os.path.join(out_dir, f"{file}.swift"), "w", encoding="utf-8") as f:
            f.write("\n".join(header + body))


if __name__ == "__main__":
    main()
