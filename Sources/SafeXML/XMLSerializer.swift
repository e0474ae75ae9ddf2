/// The iterative (explicit-stack) serialiser behind `XMLWriter.serialize`.
struct Serializer {
    static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"

    /// One element being written: its remaining children and the namespaces in scope inside it.
    private struct Frame {
        var element: XMLElement
        var nextChild: Int
        var defaultNamespace: String?
        /// Prefix bindings declared on this element or its ancestors (in the output).
        var prefixes: [String: String]
    }

    func write(_ root: XMLElement, declareNamespace: Bool, to output: inout [UInt8]) {
        var stack: [Frame] = []
        // Without a declaration the root's namespace is taken as already in scope.
        var frame = open(root, inheritedDefault: declareNamespace ? nil : root.namespaceURI, prefixes: [:], to: &output)
        guard let first = frame else { return }
        stack.append(first)
        while var top = stack.popLast() {
            guard top.nextChild < top.element.children.count else {
                closeTag(top.element.localName, to: &output)
                continue
            }
            let child = top.element.children[top.nextChild]
            top.nextChild += 1
            stack.append(top)
            switch child {
            case .text(let text):
                XMLWriter.appendText(text, to: &output)
            case .element(let element):
                frame = open(element, inheritedDefault: top.defaultNamespace, prefixes: top.prefixes, to: &output)
                if let frame { stack.append(frame) }
            }
        }
    }

    /// Writes a start tag (or a whole empty element) and returns the frame for its children, if any.
    private func open(_ element: XMLElement, inheritedDefault: String?, prefixes inherited: [String: String], to output: inout [UInt8])
        -> Frame?
    {
        output.append(UInt8(ascii: "<"))
        output.append(contentsOf: element.localName.utf8)
        if element.namespaceURI != inheritedDefault {
            writeAttribute(name: "xmlns", value: element.namespaceURI ?? "", to: &output)
        }
        var prefixes = inherited
        var qualifiedNames: [String] = []
        qualifiedNames.reserveCapacity(element.attributes.count)
        for attribute in element.attributes {
            guard let namespace = attribute.namespaceURI, !namespace.isEmpty else {
                qualifiedNames.append(attribute.localName)
                continue
            }
            if namespace == Self.xmlNamespace {
                qualifiedNames.append("xml:" + attribute.localName)
                continue
            }
            let prefix = Self.prefix(for: namespace, preferred: attribute.prefix, in: &prefixes, to: &output)
            qualifiedNames.append(prefix + ":" + attribute.localName)
        }
        for (attribute, name) in zip(element.attributes, qualifiedNames) {
            writeAttribute(name: name, value: attribute.value, to: &output)
        }
        if element.children.isEmpty {
            output.append(contentsOf: "/>".utf8)
            return nil
        }
        output.append(UInt8(ascii: ">"))
        return Frame(element: element, nextChild: 0, defaultNamespace: element.namespaceURI, prefixes: prefixes)
    }

    /// The prefix bound to `namespace`, declaring one (as an `xmlns:p` attribute) if none is in scope.
    private static func prefix(
        for namespace: String,
        preferred: String?,
        in prefixes: inout [String: String],
        to output: inout [UInt8]
    ) -> String {
        if let preferred, prefixes[preferred] == namespace { return preferred }
        if let bound = prefixes.first(where: { $0.value == namespace })?.key { return bound }
        var candidate = preferred.flatMap { $0.isEmpty || $0 == "xml" || $0 == "xmlns" ? nil : $0 } ?? "ns1"
        var counter = 1
        // Never rebind a prefix that is in scope: pick an unused one instead.
        while prefixes[candidate] != nil {
            counter += 1
            candidate = "ns\(counter)"
        }
        prefixes[candidate] = namespace
        output.append(contentsOf: " xmlns:".utf8)
        output.append(contentsOf: candidate.utf8)
        output.append(contentsOf: "=\"".utf8)
        XMLWriter.appendAttributeValue(namespace, to: &output)
        output.append(UInt8(ascii: "\""))
        return candidate
    }

    private func writeAttribute(name: String, value: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: " "))
        output.append(contentsOf: name.utf8)
        output.append(contentsOf: "=\"".utf8)
        XMLWriter.appendAttributeValue(value, to: &output)
        output.append(UInt8(ascii: "\""))
    }

    private func closeTag(_ name: String, to output: inout [UInt8]) {
        output.append(contentsOf: "</".utf8)
        output.append(contentsOf: name.utf8)
        output.append(UInt8(ascii: ">"))
    }
}
