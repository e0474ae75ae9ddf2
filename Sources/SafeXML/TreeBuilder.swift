import CLibXML2

/// Builds the element tree from an xmlTextReader's node stream, iteratively (an explicit stack of
/// partly built elements, so deep input cannot overflow the call stack), enforcing the limits.
struct TreeBuilder {
    private let reader: xmlTextReaderPtr
    private let limits: XMLLimits
    private var source: SourceCursor
    private var stack: [XMLElement] = []
    private var pendingText = ""
    private var elementCount = 0
    private var root: XMLElement?
    private var names = InternedStrings()
    private var namespaces = InternedStrings()
    private var prefixes = InternedStrings()

    init(reader: xmlTextReaderPtr, limits: XMLLimits, source: SourceCursor) {
        self.reader = reader
        self.limits = limits
        self.source = source
    }

    mutating func build(errors: LibXMLErrorCapture) throws(XMLReadError) -> XMLElement {
        while true {
            let status = xmlTextReaderRead(reader)
            if let error = errors.readError() { throw refined(error) }
            if status == 0 { break }
            guard status == 1 else {
                throw refined(error(.notWellFormed, "libxml2 stopped reading the document without giving a reason"))
            }
            try handleNode()
        }
        guard let root else {
            throw refined(error(.emptyDocument, "the document has no root element"))
        }
        return root
    }

    /// An error in a document that has nothing but whitespace, comments and processing instructions
    /// (libxml2 says "Start tag expected" or "Extra content at the end of the document") is `.emptyDocument`.
    private func refined(_ error: XMLReadError) -> XMLReadError {
        guard elementCount == 0, error.kind == .notWellFormed || error.kind == .emptyDocument, source.restIsProlog() else {
            return error
        }
        let message = error.kind == .emptyDocument ? error.message : "the document has no root element (\(error.message))"
        return XMLReadError(kind: .emptyDocument, message: message, line: error.line, column: error.column)
    }

    private mutating func handleNode() throws(XMLReadError) {
        let type = xmlReaderTypes(rawValue: UInt32(bitPattern: xmlTextReaderNodeType(reader)))
        switch type {
        case XML_READER_TYPE_ELEMENT:
            try startElement()
        case XML_READER_TYPE_END_ELEMENT:
            endElement()
        case XML_READER_TYPE_TEXT, XML_READER_TYPE_CDATA, XML_READER_TYPE_WHITESPACE, XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
            try appendText()
        case XML_READER_TYPE_COMMENT, XML_READER_TYPE_PROCESSING_INSTRUCTION, XML_READER_TYPE_XML_DECLARATION:
            break
        case XML_READER_TYPE_DOCUMENT_TYPE:
            throw error(.doctypeForbidden, "the document has a DOCTYPE declaration; DTDs and entity declarations are not accepted")
        case XML_READER_TYPE_ENTITY_REFERENCE, XML_READER_TYPE_ENTITY, XML_READER_TYPE_END_ENTITY:
            let name = xmlTextReaderConstName(reader).map { String(cString: $0) } ?? "?"
            throw error(
                .entityReferenceForbidden,
                "the document refers to the entity &\(name); (only character references and the five predefined entities are accepted)"
            )
        default:
            throw error(.notWellFormed, "unexpected XML node type \(type.rawValue)")
        }
    }

    private mutating func startElement() throws(XMLReadError) {
        let position = source.nextStartTag() ?? (xmlTextReaderGetParserLineNumber(reader), 0)
        elementCount += 1
        if elementCount > limits.maxElements {
            throw XMLReadError(
                kind: .limitExceeded,
                message: "the document has more than maxElements = \(limits.maxElements) elements",
                line: position.0,
                column: position.1
            )
        }
        if stack.count >= limits.maxDepth {
            throw XMLReadError(
                kind: .limitExceeded,
                message: "elements are nested more than maxDepth = \(limits.maxDepth) levels deep",
                line: position.0,
                column: position.1
            )
        }
        if stack.isEmpty && root != nil {
            throw error(.notWellFormed, "the document has more than one root element")
        }
        flushText()
        guard let localName = xmlTextReaderConstLocalName(reader) else {
            throw error(.notWellFormed, "libxml2 gave an element without a name")
        }
        var element = XMLElement(
            localName: names.string(localName),
            namespaceURI: xmlTextReaderConstNamespaceUri(reader).map { namespaces.string($0) },
            prefix: xmlTextReaderConstPrefix(reader).map { prefixes.string($0) },
            line: position.0,
            column: position.1
        )
        let isEmpty = xmlTextReaderIsEmptyElement(reader) == 1
        if xmlTextReaderHasAttributes(reader) == 1 {
            element.attributes = try readAttributes(of: element)
        }
        stack.append(element)
        if isEmpty { endElement() }
    }

    private mutating func readAttributes(of element: XMLElement) throws(XMLReadError) -> [XMLAttribute] {
        var attributes: [XMLAttribute] = []
        var status = xmlTextReaderMoveToFirstAttribute(reader)
        while status == 1 {
            if xmlTextReaderIsNamespaceDecl(reader) != 1 {
                guard attributes.count < limits.maxAttributes else {
                    throw error(
                        .limitExceeded,
                        "element <\(element.localName)> has more than maxAttributes = \(limits.maxAttributes) attributes",
                        at: element
                    )
                }
                guard let localName = xmlTextReaderConstLocalName(reader) else {
                    throw error(.notWellFormed, "libxml2 gave an attribute without a name", at: element)
                }
                let name = names.string(localName)
                let value = try attributeValue(xmlTextReaderConstValue(reader), name: name, of: element)
                attributes.append(
                    XMLAttribute(
                        localName: name,
                        namespaceURI: xmlTextReaderConstNamespaceUri(reader).map { namespaces.string($0) },
                        prefix: xmlTextReaderConstPrefix(reader).map { prefixes.string($0) },
                        value: value
                    )
                )
            }
            status = xmlTextReaderMoveToNextAttribute(reader)
        }
        guard status == 0, xmlTextReaderMoveToElement(reader) >= 0 else {
            throw error(.notWellFormed, "libxml2 could not read the attributes of <\(element.localName)>", at: element)
        }
        return attributes
    }

    private mutating func endElement() {
        flushText()
        guard let element = stack.popLast() else { return }
        if stack.isEmpty {
            root = element
        } else {
            stack[stack.count - 1].children.append(.element(element))
        }
    }

    private mutating func appendText() throws(XMLReadError) {
        // Outside the root element there is only whitespace, which is not kept.
        guard !stack.isEmpty else { return }
        let value = xmlTextReaderConstValue(reader)
        let length = value.map { Int(xmlStrlen($0)) } ?? 0
        guard pendingText.utf8.count + length <= limits.maxTextBytes else {
            throw error(.limitExceeded, "a text node is longer than maxTextBytes = \(limits.maxTextBytes) bytes")
        }
        if let value { pendingText += String(decoding: UnsafeBufferPointer(start: value, count: length), as: UTF8.self) }
    }

    private mutating func flushText() {
        guard !pendingText.isEmpty, !stack.isEmpty else { return }
        stack[stack.count - 1].children.append(.text(pendingText))
        pendingText = ""
    }

    /// An attribute value, refused if longer than `maxTextBytes`.
    private func attributeValue(_ value: UnsafePointer<xmlChar>?, name: String, of element: XMLElement) throws(XMLReadError) -> String {
        guard let value else { return "" }
        let length = Int(xmlStrlen(value))
        guard length <= limits.maxTextBytes else {
            throw error(
                .limitExceeded,
                "attribute \(name) of <\(element.localName)> is longer than maxTextBytes = \(limits.maxTextBytes) bytes",
                at: element
            )
        }
        return String(decoding: UnsafeBufferPointer(start: value, count: length), as: UTF8.self)
    }

    /// An error at libxml2's current position.
    private func error(_ kind: XMLReadError.Kind, _ message: String) -> XMLReadError {
        XMLReadError(
            kind: kind,
            message: message,
            line: xmlTextReaderGetParserLineNumber(reader),
            column: xmlTextReaderGetParserColumnNumber(reader)
        )
    }

    /// An error at an element's start tag.
    private func error(_ kind: XMLReadError.Kind, _ message: String, at element: XMLElement) -> XMLReadError {
        XMLReadError(kind: kind, message: message, line: element.line, column: element.column)
    }
}
