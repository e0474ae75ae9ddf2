import SafeXML

/// The rules for a narrative's XHTML (R4 Narrative: txt-1 and txt-2): a `div` in the XHTML
/// namespace, only basic formatting elements, no scripts, forms, frames, objects or event handlers,
/// and some non-whitespace content.
final class XHTMLRules: XMLFragmentSink {
    static let namespace = XMLNamespaces.xhtml

    /// The elements txt-1 allows (the list the FHIR validators use).
    static let allowedElements: [String] = [
        "p", "br", "div", "h1", "h2", "h3", "h4", "h5", "h6", "a", "span", "b", "em", "i", "strong", "small", "big", "tt",
        "dfn", "q", "var", "abbr", "acronym", "cite", "blockquote", "hr", "address", "bdo", "kbd", "sub", "sup", "ul",
        "ol", "li", "dl", "dt", "dd", "pre", "table", "caption", "colgroup", "col", "thead", "tr", "tfoot", "tbody", "th",
        "td", "code", "samp", "img", "map", "area", "u", "s", "strike", "font", "center", "ins", "del", "label",
    ]

    /// The allowed names of each length (1 to 10 bytes), as numbers: the bytes of a name read
    /// from the narrative are looked up without making a string or hashing one.
    private static let allowedByLength: [[UInt128]] = {
        var table = [[UInt128]](repeating: [], count: 17)
        for name in allowedElements { if let key = packed(name.utf8) { table[name.utf8.count].append(key) } }
        return table
    }()

    /// Up to 16 bytes of a name in one number, nil when the name is longer.
    private static func packed(_ bytes: some Collection<UInt8>) -> UInt128? {
        guard !bytes.isEmpty, bytes.count <= 16 else { return nil }
        var value: UInt128 = 0
        for byte in bytes { value = value << 8 | UInt128(byte) }
        return value
    }

    static func isAllowed(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let key = packed(name) else { return false }
        return allowedByLength[name.count].contains(key)
    }

    private static func equals(_ name: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        name.count == literal.utf8CodeUnitCount && name.elementsEqual(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    let path: String
    private(set) var issues: [FHIRIssue] = []
    private var depth = 0
    private var hasContent = false
    private var rootIsDiv = true

    init(path: String) {
        self.path = path
    }

    /// Checks a narrative already read into a tree (the XML reader's).
    static func check(_ root: XMLElement, path: String) -> [FHIRIssue] {
        let rules = XHTMLRules(path: path)
        root.replay(into: rules)
        return rules.finish()
    }

    /// The issues, once the whole narrative has been seen.
    func finish() -> [FHIRIssue] {
        guard rootIsDiv, !hasContent else { return issues }
        return issues + [
            issue("The narrative has no content: it must have some non-whitespace text or an image (txt-2)", code: .invariant, line: 0, column: 0)
        ]
    }

    private func issue(_ message: String, code: FHIRIssue.Code, line: Int32, column: Int32) -> FHIRIssue {
        FHIRIssue(severity: .error, code: code, diagnostics: message, expression: path, line: line > 0 ? line : nil, column: line > 0 ? column : nil)
    }

    func startElement(_ tag: XMLStartTag) {
        defer { depth += 1 }
        if depth == 0 {
            if !Self.equals(tag.localName, "div") || tag.namespaceURI != Self.namespace {
                rootIsDiv = false
                issues.append(
                    issue("A narrative must be a <div> in the XHTML namespace \(Self.namespace)", code: .value, line: tag.line, column: tag.column))
            }
        } else if tag.namespaceURI != Self.namespace {
            issues.append(
                issue(
                    "The narrative contains <\(tag.localNameString)> outside the XHTML namespace (txt-1)", code: .invariant, line: tag.line,
                    column: tag.column))
        } else if !Self.isAllowed(tag.localName) {
            issues.append(
                issue(
                    "The narrative contains <\(tag.localNameString)>, which txt-1 does not allow: only basic HTML formatting is allowed",
                    code: .invariant,
                    line: tag.line,
                    column: tag.column
                )
            )
        }
        for attribute in tag.attributes where Self.isEventHandler(attribute.localName) {
            issues.append(
                issue(
                    "The narrative contains the event attribute '\(attribute.localName)' (txt-1 forbids scripts)", code: .invariant, line: tag.line,
                    column: tag.column)
            )
        }
        if Self.equals(tag.localName, "img") { hasContent = true }
    }

    /// `onclick`, `ONLOAD`…: an attribute whose name starts with "on".
    static func isEventHandler(_ name: String) -> Bool {
        var bytes = name.utf8.makeIterator()
        guard let o = bytes.next(), let n = bytes.next(), bytes.next() != nil else { return false }
        return o | 0x20 == UInt8(ascii: "o") && n | 0x20 == UInt8(ascii: "n")
    }

    func endElement() {
        depth -= 1
    }

    func text(_ utf8: UnsafeBufferPointer<UInt8>) {
        if !hasContent, utf8.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) {
            hasContent = true
        }
    }
}
