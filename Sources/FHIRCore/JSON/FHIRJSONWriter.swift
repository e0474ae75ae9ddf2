import StrictJSON

/// Writes a `FHIRNode` tree as FHIR JSON: properties in the specification's order, `resourceType`
/// first, arrays where an element repeats, `_name` siblings for primitives' ids and extensions,
/// numbers and booleans unquoted with their exact text.
public struct FHIRJSONWriter: Sendable {
    public enum Style: Sendable, Hashable {
        case compact
        /// Two-space indentation, as the specification's examples are written.
        case pretty
    }

    public var style: Style

    public init(style: Style = .compact) {
        self.style = style
    }

    public func write(_ resource: FHIRNode) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        writeObject(resource, depth: 0, into: &out)
        if style == .pretty { out.append(UInt8(ascii: "\n")) }
        return out
    }

    public func string(_ resource: FHIRNode) -> String {
        String(decoding: write(resource), as: UTF8.self)
    }

    private func writeObject(_ node: FHIRNode, depth: Int, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        var first = true
        if node.isResource {
            key("resourceType", depth: depth + 1, first: &first, into: &out)
            JSONText.appendQuoted(node.type.name, to: &out)
        }
        var start = 0
        let children = node.children
        while start < children.count {
            var end = start + 1
            while end < children.count, children[end].name == children[start].name { end += 1 }
            let group = children[start..<end]
            let repeating =
                node.type.elements.indices.contains(children[start].elementIndex)
                ? node.type.elements[children[start].elementIndex].isRepeating : group.count > 1
            writeProperty(group, repeating: repeating, depth: depth + 1, first: &first, into: &out)
            start = end
        }
        if style == .pretty, !first { newline(depth: depth, into: &out) }
        out.append(UInt8(ascii: "}"))
    }

    private func writeProperty(_ group: ArraySlice<FHIRNode>, repeating: Bool, depth: Int, first: inout Bool, into out: inout [UInt8]) {
        guard let head = group.first else { return }
        let name = head.name
        guard case .primitive(let kind) = head.type.kind else {
            key(name, depth: depth, first: &first, into: &out)
            if repeating {
                writeArray(group, depth: depth, into: &out) { node, out in writeObject(node, depth: depth + 1, into: &out) }
            } else {
                writeObject(head, depth: depth, into: &out)
            }
            return
        }
        if group.contains(where: { $0.value != nil }) {
            key(name, depth: depth, first: &first, into: &out)
            if repeating {
                writeArray(group, depth: depth, into: &out) { node, out in writePrimitive(node.value, kind: kind, into: &out) }
            } else {
                writePrimitive(head.value, kind: kind, into: &out)
            }
        }
        if group.contains(where: { !$0.children.isEmpty }) {
            key("_" + name, depth: depth, first: &first, into: &out)
            if repeating {
                writeArray(group, depth: depth, into: &out) { node, out in
                    if node.children.isEmpty { out.append(contentsOf: "null".utf8) } else { writeObject(node, depth: depth + 1, into: &out) }
                }
            } else {
                writeObject(head, depth: depth, into: &out)
            }
        }
    }

    private func writePrimitive(_ value: String?, kind: FHIRType.JSONKind, into out: inout [UInt8]) {
        guard let value else {
            out.append(contentsOf: "null".utf8)
            return
        }
        switch kind {
        case .string: JSONText.appendQuoted(value, to: &out)
        case .number, .boolean: out.append(contentsOf: value.utf8)
        }
    }

    private func writeArray(
        _ group: ArraySlice<FHIRNode>,
        depth: Int,
        into out: inout [UInt8],
        item: (FHIRNode, inout [UInt8]) -> Void
    ) {
        out.append(UInt8(ascii: "["))
        var firstItem = true
        for node in group {
            if !firstItem { out.append(UInt8(ascii: ",")) }
            firstItem = false
            if style == .pretty { newline(depth: depth + 1, into: &out) }
            item(node, &out)
        }
        if style == .pretty { newline(depth: depth, into: &out) }
        out.append(UInt8(ascii: "]"))
    }

    private func key(_ name: String, depth: Int, first: inout Bool, into out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        if style == .pretty { newline(depth: depth, into: &out) }
        JSONText.appendQuoted(name, to: &out)
        out.append(UInt8(ascii: ":"))
        if style == .pretty { out.append(UInt8(ascii: " ")) }
    }

    private func newline(depth: Int, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * 2))
    }
}
