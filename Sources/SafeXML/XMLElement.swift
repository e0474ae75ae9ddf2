/// An element read from an XML document: its expanded name, attributes and children.
public struct XMLElement: Sendable, Hashable {
    public var localName: String
    /// nil when the element is in no namespace.
    public var namespaceURI: String?
    /// The prefix as written, only for diagnostics.
    public var prefix: String?
    /// In document order; namespace declarations (`xmlns`, `xmlns:p`) are not included.
    public var attributes: [XMLAttribute]
    /// In document order; comments and processing instructions are dropped.
    public var children: [XMLContent]
    /// 1-based line of the start tag's `<`.
    public var line: Int32
    /// 1-based column (in characters) of the start tag's `<`.
    public var column: Int32

    public init(
        localName: String,
        namespaceURI: String? = nil,
        prefix: String? = nil,
        attributes: [XMLAttribute] = [],
        children: [XMLContent] = [],
        line: Int32 = 0,
        column: Int32 = 0
    ) {
        self.localName = localName
        self.namespaceURI = namespaceURI
        self.prefix = prefix
        self.attributes = attributes
        self.children = children
        self.line = line
        self.column = column
    }

    /// The value of the attribute with this local name and namespace, if present.
    public func attribute(_ localName: String, namespaceURI: String? = nil) -> String? {
        attributes.first { $0.localName == localName && $0.namespaceURI == namespaceURI }?.value
    }

    /// The child elements, in document order.
    public var childElements: [XMLElement] {
        children.compactMap {
            if case .element(let element) = $0 { return element }
            return nil
        }
    }

    /// All text content of this element and its descendants, concatenated in document order.
    public var textContent: String {
        var result = ""
        var pending: [[XMLContent].SubSequence] = [children[...]]
        while var slice = pending.popLast() {
            guard let first = slice.first else { continue }
            slice = slice.dropFirst()
            pending.append(slice)
            switch first {
            case .text(let text): result += text
            case .element(let element): pending.append(element.children[...])
            }
        }
        return result
    }
}

/// An attribute of an element (never a namespace declaration).
public struct XMLAttribute: Sendable, Hashable {
    public var localName: String
    /// nil for unprefixed attributes.
    public var namespaceURI: String?
    public var prefix: String?
    /// Character references and the five predefined entities are resolved.
    public var value: String

    public init(localName: String, namespaceURI: String? = nil, prefix: String? = nil, value: String) {
        self.localName = localName
        self.namespaceURI = namespaceURI
        self.prefix = prefix
        self.value = value
    }
}

/// One child of an element.
public enum XMLContent: Sendable, Hashable {
    case element(XMLElement)
    /// Text, CDATA, whitespace and significant whitespace; adjacent ones are merged.
    case text(String)
}
