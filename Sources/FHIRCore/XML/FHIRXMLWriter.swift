import SafeXML

/// Writes a `FHIRNode` tree as FHIR XML: elements in the FHIR namespace in the specification's
/// order, primitive values in `value` attributes, `id` and `Extension.url` as attributes, resources
/// wrapped in their element, the narrative `div` as XHTML.
public struct FHIRXMLWriter: Sendable {
    public enum Style: Sendable, Hashable {
        case compact
        case pretty
    }

    public var style: Style

    public init(style: Style = .compact) {
        self.style = style
    }

    public func string(_ resource: FHIRNode) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        if style == .pretty { out += "\n" }
        writeResource(resource, namespace: true, depth: 0, into: &out)
        if style == .pretty { out += "\n" }
        return out
    }

    public func write(_ resource: FHIRNode) -> [UInt8] { Array(string(resource).utf8) }

    private func writeResource(_ node: FHIRNode, namespace: Bool, depth: Int, into out: inout String) {
        indent(depth, into: &out)
        out += "<" + node.type.name
        if namespace { out += " xmlns=\"http://hl7.org/fhir\"" }
        writeBody(node, tag: node.type.name, depth: depth, into: &out)
    }

    /// Writes the attributes, the children and the end tag of an element whose start tag is open.
    private func writeBody(_ node: FHIRNode, tag: String, depth: Int, into out: inout String) {
        for child in node.children where isAttribute(child, of: node) {
            out += " \(child.name)=\"\(XMLWriter.escapeAttribute(child.value ?? ""))\""
        }
        if let value = node.value, node.type.isPrimitive {
            out += " value=\"\(XMLWriter.escapeAttribute(value))\""
        }
        let elements = node.children.filter { !isAttribute($0, of: node) }
        if elements.isEmpty {
            out += "/>"
            return
        }
        out += ">"
        for child in elements {
            if style == .pretty { out += "\n" }
            writeElement(child, depth: depth + 1, into: &out)
        }
        if style == .pretty { out += "\n" }
        indent(depth, into: &out)
        out += "</" + tag + ">"
    }

    private func writeElement(_ node: FHIRNode, depth: Int, into out: inout String) {
        if node.type.name == "xhtml" {
            indent(depth, into: &out)
            out += node.value ?? ""
            return
        }
        if node.isResource {
            indent(depth, into: &out)
            out += "<" + node.name + ">"
            if style == .pretty { out += "\n" }
            writeResource(node, namespace: false, depth: depth + 1, into: &out)
            if style == .pretty { out += "\n" }
            indent(depth, into: &out)
            out += "</" + node.name + ">"
            return
        }
        indent(depth, into: &out)
        out += "<" + node.name
        writeBody(node, tag: node.name, depth: depth, into: &out)
    }

    private func isAttribute(_ child: FHIRNode, of parent: FHIRNode) -> Bool {
        guard !parent.isResource, parent.type.elements.indices.contains(child.elementIndex) else { return false }
        return parent.type.elements[child.elementIndex].isXMLAttribute
    }

    private func indent(_ depth: Int, into out: inout String) {
        if style == .pretty { out += String(repeating: "  ", count: depth) }
    }
}
