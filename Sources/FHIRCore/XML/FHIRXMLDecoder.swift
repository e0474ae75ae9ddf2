import SafeXML

/// Turns a parsed XML document into a typed `FHIRNode` tree, following the rules of FHIR's XML
/// format: elements in the FHIR namespace and in the specification's order, primitive values in
/// `value` attributes, `id` and `Extension.url` as attributes, resources wrapped in their element
/// (`<contained><Patient>…`), XHTML only in a narrative's `div`, no text anywhere else.
struct FHIRXMLDecoder {
    static let namespace = "http://hl7.org/fhir"

    let definitions: R4Definitions
    private(set) var issues: [FHIRIssue] = []
    private var path = FHIRPathBuilder(root: "")

    init(definitions: R4Definitions) {
        self.definitions = definitions
    }

    mutating func decodeDocument(_ root: XMLElement) -> FHIRNode? {
        guard root.namespaceURI == Self.namespace else {
            issues.append(
                FHIRIssue(
                    severity: .fatal,
                    code: .structure,
                    diagnostics:
                        "The root element <\(root.localName)> must be in the FHIR namespace \(Self.namespace), not \(root.namespaceURI.map { "in \($0)" } ?? "in no namespace")",
                    line: root.line,
                    column: root.column
                )
            )
            return nil
        }
        guard let type = definitions.resourceType(root.localName) else {
            issues.append(
                FHIRIssue(
                    severity: .fatal,
                    code: .notSupported,
                    diagnostics: "<\(root.localName)> is not a FHIR R4 resource type",
                    line: root.line,
                    column: root.column
                )
            )
            return nil
        }
        path = FHIRPathBuilder(root: type.name)
        var node = FHIRNode(name: type.name, type: type, elementIndex: -1, line: root.line, column: root.column)
        decodeContent(of: root, as: type, into: &node, isDocumentRoot: true)
        return node
    }

    /// The XML Schema instance namespace: its `schemaLocation` on the document's root element
    /// (common in real and official FHIR XML) only points at the schema, and is not content.
    static let schemaInstance = "http://www.w3.org/2001/XMLSchema-instance"

    /// Decodes the attributes and child elements of `element`, whose type is `type`.
    private mutating func decodeContent(of element: XMLElement, as type: FHIRType, into node: inout FHIRNode, isDocumentRoot: Bool = false) {
        for attribute in element.attributes {
            if isDocumentRoot, attribute.namespaceURI == Self.schemaInstance,
                attribute.localName == "schemaLocation" || attribute.localName == "noNamespaceSchemaLocation"
            {
                continue
            }
            if attribute.namespaceURI == nil, attribute.localName == "value", type.isPrimitive {
                if attribute.value.isEmpty {
                    fail(.value, "The value attribute of '\(node.name)' is empty; FHIR does not allow empty values", element)
                }
                node.value = attribute.value
                continue
            }
            if attribute.namespaceURI == nil, let match = type.element(named: attribute.localName),
                type.elements[match.index].isXMLAttribute, let attributeType = definitions.type(of: match)
            {
                if attribute.value.isEmpty {
                    fail(.value, "The attribute '\(attribute.localName)' is empty; FHIR does not allow empty values", element)
                }
                node.children.append(
                    FHIRNode(
                        name: attribute.localName,
                        type: attributeType,
                        elementIndex: match.index,
                        value: attribute.value,
                        line: element.line,
                        column: element.column
                    )
                )
                continue
            }
            let qualified = attribute.prefix.map { "\($0):\(attribute.localName)" } ?? attribute.localName
            fail(.structure, "Undefined attribute '@\(qualified)' on \(node.name) (of type \(type.name))", element)
        }

        var lastIndex = -1
        var repetitions: [Int: Int] = [:]
        for content in element.children {
            let child: XMLElement
            switch content {
            case .text(let text):
                if !text.isXMLWhitespace {
                    let shown = text.trimmingWhitespace.prefix(40)
                    fail(.structure, "Text is not allowed in \(node.name) (found '\(shown)'); FHIR XML carries values in value attributes", element)
                }
                continue
            case .element(let e):
                child = e
            }
            if type.name == "Narrative", child.localName == "div", child.namespaceURI == XHTMLRules.namespace,
                let match = type.element(named: "div"), let xhtml = definitions.type("xhtml")
            {
                path.push("div")
                issues.append(contentsOf: XHTMLRules.check(child, path: path.rendered))
                path.pop()
                node.children.append(
                    FHIRNode(
                        name: "div",
                        type: xhtml,
                        elementIndex: match.index,
                        value: XMLWriter.serialize(child, declareNamespace: true),
                        line: child.line,
                        column: child.column
                    )
                )
                lastIndex = max(lastIndex, match.index)
                continue
            }
            guard child.namespaceURI == Self.namespace else {
                fail(.structure, "<\(child.localName)> in \(node.name) is not in the FHIR namespace \(Self.namespace)", child)
                continue
            }
            guard let match = type.element(named: child.localName), !type.elements[match.index].isXMLAttribute,
                let childType = definitions.type(of: match)
            else {
                fail(.structure, "Unknown element <\(child.localName)> in \(node.name) (of type \(type.name))", child)
                continue
            }
            let definition = type.elements[match.index]
            if match.index < lastIndex {
                fail(
                    .structure,
                    "<\(child.localName)> is out of order in \(node.name): FHIR XML requires the elements in the order of the specification", child)
            }
            lastIndex = max(lastIndex, match.index)
            let index = repetitions[match.index, default: 0]
            repetitions[match.index] = index + 1
            path.push(child.localName, index: definition.isRepeating ? index : nil)
            if let decoded = decodeElement(child, type: childType, index: match.index) {
                node.children.append(decoded)
            }
            path.pop()
        }
        node.sortChildren()
    }

    private mutating func decodeElement(_ element: XMLElement, type: FHIRType, index: Int) -> FHIRNode? {
        var node = FHIRNode(name: element.localName, type: type, elementIndex: index, line: element.line, column: element.column)
        switch type.kind {
        case .primitive, .complex:
            decodeContent(of: element, as: type, into: &node)
            return node
        case .abstractResource, .resource:
            // <contained><Patient>…</Patient></contained>: exactly one resource element.
            var wrapped: [XMLElement] = []
            for content in element.children {
                switch content {
                case .element(let e): wrapped.append(e)
                case .text(let text):
                    if !text.isXMLWhitespace {
                        fail(.structure, "Text is not allowed in \(element.localName)", element)
                    }
                }
            }
            for attribute in element.attributes {
                fail(.structure, "Undefined attribute '@\(attribute.localName)' on \(element.localName)", element)
            }
            guard wrapped.count == 1, let inner = wrapped.first else {
                fail(.structure, "<\(element.localName)> must hold exactly one resource, found \(wrapped.count) elements", element)
                return nil
            }
            guard inner.namespaceURI == Self.namespace, let resourceType = definitions.resourceType(inner.localName) else {
                fail(.structure, "<\(inner.localName)> in <\(element.localName)> is not a FHIR R4 resource", inner)
                return nil
            }
            node.type = resourceType
            node.line = inner.line
            node.column = inner.column
            decodeContent(of: inner, as: resourceType, into: &node)
            return node
        }
    }

    private mutating func fail(_ code: FHIRIssue.Code, _ message: String, _ element: XMLElement) {
        issues.append(
            FHIRIssue(severity: .error, code: code, diagnostics: message, expression: path.rendered, line: element.line, column: element.column)
        )
    }
}

extension String {
    var trimmingWhitespace: Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}

extension String {
    /// True when the text is only XML white space (space, tab, CR, LF), checked on bytes.
    var isXMLWhitespace: Bool {
        utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
    }
}
