/// A small, strict parser for one XML element held in a string: the narrative XHTML a FHIR JSON
/// document carries in `text.div`.
///
/// Why not libxml2 here: setting up an `xmlTextReader` costs about 40 µs per narrative (measured
/// in BENCHMARKS.md), more than reading and validating the whole rest of a 2 KB Observation. A
/// narrative needs only a subset of XML, so this parser accepts only that subset and refuses the
/// rest: elements, attributes, text, character references, the five predefined entities, comments
/// and CDATA. No DOCTYPE, no entity other than the predefined five, no processing instruction —
/// there is nothing to expand and nothing to fetch. It produces the same `XMLElement` tree as
/// `XMLDocumentReader` (a test holds the two against each other on every narrative of the corpus)
/// and applies the same `XMLLimits`.
public struct XMLFragmentParser: Sendable {
    public var limits: XMLLimits

    public init(limits: XMLLimits = .default) {
        self.limits = limits
    }

    /// Parses the fragment into a tree.
    public func parse(_ text: String) throws(XMLReadError) -> XMLElement {
        let builder = XMLTreeSink()
        try scan(text, into: builder)
        guard let root = builder.root else { throw XMLReadError(kind: .emptyDocument, message: "the fragment holds no element", line: 1, column: 1) }
        return root
    }

    /// Checks the fragment and reports its elements and text to `sink` as it reads, without
    /// building a tree. Inlinable and generic, so that it is compiled for the caller's sink with
    /// the sink's calls made direct (the narrative rules are read in every resource with text).
    @inlinable
    public func scan<Sink: XMLFragmentSink>(_ text: String, into sink: Sink) throws(XMLReadError) {
        guard text.utf8.count <= limits.maxBytes else {
            throw XMLReadError(
                kind: .limitExceeded,
                message: "the fragment is \(text.utf8.count) bytes, more than the limit maxBytes = \(limits.maxBytes)",
                line: 1,
                column: 1
            )
        }
        var text = text
        let limits = limits
        let result: Result<Void, XMLReadError> = text.withUTF8 { buffer in
            var scanner = Scanner(bytes: buffer, limits: limits, sink: sink)
            do throws(XMLReadError) {
                try scanner.document()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    @usableFromInline
    struct Open {
        @usableFromInline var qualifiedName: Slice<UnsafeBufferPointer<UInt8>>
        /// How many namespace bindings were in scope before this element's own.
        @usableFromInline var outerBindings: Int

        @inlinable
        init(qualifiedName: Slice<UnsafeBufferPointer<UInt8>>, outerBindings: Int) {
            self.qualifiedName = qualifiedName
            self.outerBindings = outerBindings
        }
    }

    @usableFromInline
    struct Scanner<Sink: XMLFragmentSink> {
        @usableFromInline let sink: Sink
        /// The fragment's UTF-8, valid for the duration of one `scan`.
        @usableFromInline let bytes: UnsafeBufferPointer<UInt8>
        @usableFromInline let limits: XMLLimits
        @usableFromInline var i = 0
        @usableFromInline var line: Int32 = 1
        @usableFromInline var lineStart = 0
        @usableFromInline var elementCount = 0

        @inlinable
        init(bytes: UnsafeBufferPointer<UInt8>, limits: XMLLimits, sink: Sink) {
            self.bytes = bytes
            self.limits = limits
            self.sink = sink
        }

        @inlinable
        var column: Int32 { Int32(clamping: i - lineStart + 1) }

        @inlinable
        func fail(_ message: String) -> XMLReadError {
            fail(.notWellFormed, message)
        }

        @inlinable
        func fail(_ kind: XMLReadError.Kind, _ message: String) -> XMLReadError {
            XMLReadError(kind: kind, message: message, line: line, column: column)
        }

        @inlinable
        mutating func advance() {
            if bytes[i] == 0x0A {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }

        @inlinable
        func peek(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard i + count <= bytes.count else { return false }
            let expected = literal.utf8Start
            for k in 0..<count where bytes[i + k] != expected[k] { return false }
            return true
        }

        @inlinable
        mutating func skipSpace() {
            while i < bytes.count, isSpace(bytes[i]) { advance() }
        }

        @inlinable
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

        @inlinable
        func isNameStart(_ b: UInt8) -> Bool {
            (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x3A || b >= 0x80
        }

        @inlinable
        func isNameChar(_ b: UInt8) -> Bool {
            isNameStart(b) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E
        }

        /// The length in bytes of the name-start character at `index`, or nil when none starts
        /// there: an ASCII byte by the test above, a character beyond ASCII by XML's ranges
        /// (`XMLNameCharacters`), which the byte tests let through as any byte from 0x80.
        @inlinable
        func nameStartLength(at index: Int) -> Int? {
            guard index < bytes.count, isNameStart(bytes[index]) else { return nil }
            if bytes[index] < 0x80 { return 1 }
            let (c, length) = XMLNameCharacters.scalar(in: bytes, at: index)
            return XMLNameCharacters.isNameStart(c) ? length : nil
        }

        /// A name: its first character by `nameStartLength`, the others as name characters.
        @inlinable
        mutating func name() throws(XMLReadError) -> Slice<UnsafeBufferPointer<UInt8>> {
            let start = i
            guard let first = nameStartLength(at: i) else { throw fail("expected a name") }
            i += first
            while i < bytes.count, isNameChar(bytes[i]) {
                if bytes[i] < 0x80 {
                    i += 1
                } else {
                    let (c, length) = XMLNameCharacters.scalar(in: bytes, at: i)
                    guard XMLNameCharacters.isNameChar(c) else { break }
                    i += length
                }
            }
            return bytes[start..<i]
        }

        /// A namespace declaration's name, refused where libxml2 refuses it.
        @inlinable
        func checkNamespaceName(_ attributeName: Slice<UnsafeBufferPointer<UInt8>>, _ value: String) throws(XMLReadError) {
            guard NamespaceName.isValid(value) else {
                throw fail("\(String(decoding: attributeName, as: UTF8.self)): '\(value)' is not a valid URI")
            }
        }

        @inlinable
        mutating func document() throws(XMLReadError) {
            try skipMisc()
            guard i < bytes.count else { throw fail(.emptyDocument, "the fragment holds no element") }
            guard bytes[i] == UInt8(ascii: "<"), i + 1 < bytes.count, isNameStart(bytes[i + 1]) else {
                throw misplacedMarkup()
            }
            try element()
            try skipMisc()
            guard i == bytes.count else { throw fail("extra content after the root element") }
        }

        /// White space and comments, allowed around the root element.
        @inlinable
        mutating func skipMisc() throws(XMLReadError) {
            while true {
                skipSpace()
                guard peek("<!--") else { return }
                try comment()
            }
        }

        @inlinable
        mutating func misplacedMarkup() -> XMLReadError {
            if peek("<!DOCTYPE") { return fail(.doctypeForbidden, "a DOCTYPE is not allowed") }
            if peek("<?") { return fail("processing instructions are not allowed in a narrative") }
            return fail("expected an element")
        }

        @inlinable
        mutating func comment() throws(XMLReadError) {
            i += 4
            while i + 2 < bytes.count {
                if bytes[i] == UInt8(ascii: "-"), bytes[i + 1] == UInt8(ascii: "-") {
                    guard bytes[i + 2] == UInt8(ascii: ">") else { throw fail("'--' is not allowed inside a comment") }
                    i += 3
                    return
                }
                // The same characters as in text: no control character but tab, LF and CR.
                if bytes[i] < 0x20, !isSpace(bytes[i]) {
                    throw fail("the control character 0x\(String(bytes[i], radix: 16)) is not allowed in XML")
                }
                advance()
            }
            throw fail("unterminated comment")
        }

        /// Reads an element whose `<` is at `i`, iteratively (an explicit stack), so deep input
        /// cannot overflow the call stack.
        /// Namespace bindings in scope, innermost last; prefix "" is the default namespace.
        @usableFromInline var bindings: [(prefix: String, uri: String)] = [("xml", FragmentNames.xmlNamespace)]

        /// The namespace bound to `prefix`, or the default namespace for nil.
        @inlinable
        func namespace(for prefix: Slice<UnsafeBufferPointer<UInt8>>?) -> String? {
            var k = bindings.count - 1
            while k >= 0 {
                let matches = prefix.map { bindings[k].prefix.utf8.elementsEqual($0) } ?? bindings[k].prefix.isEmpty
                if matches { return bindings[k].uri }
                k -= 1
            }
            return nil
        }

        @inlinable
        mutating func element() throws(XMLReadError) {
            var stack: [Open] = []
            // Text goes to the sink run by run, as it is read; this counts the current text node.
            var textLength = 0
            while true {
                guard i < bytes.count else {
                    throw fail("the fragment ends inside <\(stack.last.map { String(decoding: $0.qualifiedName, as: UTF8.self) } ?? "")>")
                }
                let b = bytes[i]
                if b == UInt8(ascii: "<") {
                    let next: UInt8 = i + 1 < bytes.count ? bytes[i + 1] : 0
                    if next == UInt8(ascii: "/") {
                        textLength = 0
                        let startLine = line
                        let startColumn = column
                        i += 2
                        let closing = try name()
                        skipSpace()
                        guard i < bytes.count, bytes[i] == UInt8(ascii: ">") else { throw fail("expected '>' to end the closing tag") }
                        i += 1
                        guard let open = stack.popLast() else { throw fail("a closing tag without an opening tag") }
                        guard open.qualifiedName.elementsEqual(closing) else {
                            throw XMLReadError(
                                kind: .notWellFormed,
                                message:
                                    "the closing tag </\(String(decoding: closing, as: UTF8.self))> does not match <\(String(decoding: open.qualifiedName, as: UTF8.self))>",
                                line: startLine,
                                column: startColumn
                            )
                        }
                        sink.endElement()
                        bindings.removeLast(bindings.count - open.outerBindings)
                        if stack.isEmpty { return }
                        continue
                    }
                    if next == UInt8(ascii: "!"), peek("<!--") {
                        try comment()
                        continue
                    }
                    if next == UInt8(ascii: "!"), peek("<![CDATA[") {
                        guard !stack.isEmpty else { throw fail("CDATA outside an element") }
                        i += 9
                        let start = i
                        while i + 2 < bytes.count, !(bytes[i] == 0x5D && bytes[i + 1] == 0x5D && bytes[i + 2] == 0x3E) { advance() }
                        guard i + 2 < bytes.count else { throw fail("unterminated CDATA section") }
                        // The same characters as in text: no control character but tab, LF and CR.
                        if let control = bytes[start..<i].first(where: { $0 < 0x20 && !isSpace($0) }) {
                            throw fail("the control character 0x\(String(control, radix: 16)) is not allowed in XML")
                        }
                        // Kept as written, CRs included: libxml2's reader does not apply end-of-line
                        // handling inside CDATA either, and the two must read the same tree.
                        try emitText(bytes[start..<i], &textLength)
                        i += 3
                        continue
                    }
                    guard i + 1 < bytes.count, isNameStart(bytes[i + 1]) else { throw misplacedMarkup() }
                    textLength = 0
                    if stack.count >= limits.maxDepth {
                        throw fail(.limitExceeded, "the fragment nests deeper than maxDepth = \(limits.maxDepth)")
                    }
                    let (open, isEmpty) = try startTag()
                    if isEmpty {
                        // An empty element `<br/>`.
                        sink.endElement()
                        bindings.removeLast(bindings.count - open.outerBindings)
                        if stack.isEmpty { return }
                        continue
                    }
                    stack.append(open)
                    continue
                }
                guard !stack.isEmpty else { throw fail("text outside the root element") }
                if b == UInt8(ascii: "&") {
                    let scalar = try reference()
                    var encoded: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
                    var count = 0
                    withUnsafeMutableBytes(of: &encoded) { raw in
                        UTF8.encode(scalar) { unit in
                            raw[count] = unit
                            count += 1
                        }
                    }
                    try withUnsafeBytes(of: encoded) { raw throws(XMLReadError) in
                        try emitText(UnsafeBufferPointer(start: raw.bindMemory(to: UInt8.self).baseAddress, count: count)[...], &textLength)
                    }
                } else {
                    if b < 0x20, !isSpace(b) { throw fail("the control character 0x\(String(b, radix: 16)) is not allowed in XML") }
                    if b == 0x0D {
                        // End-of-line handling (XML 1.0, 2.11): CR LF and a lone CR are read as
                        // one LF, as libxml2 reads them.
                        advance()
                        if i < bytes.count, bytes[i] == 0x0A { advance() }
                        try emitLineFeed(&textLength)
                        continue
                    }
                    if b == UInt8(ascii: ">"), i >= 2, bytes[i - 1] == 0x5D, bytes[i - 2] == 0x5D {
                        throw fail("']]>' is not allowed in text")
                    }
                    // A run of plain text bytes at once.
                    let start = i
                    FragmentNames.stopsText.withUnsafeBufferPointer { stops in
                        while i < bytes.count, !stops[Int(bytes[i])] { i += 1 }
                    }
                    if i == start {
                        advance()
                    }
                    try emitText(bytes[start..<i], &textLength)
                }
            }
        }

        /// Hands a run of text to the sink, within the limit on one text node's length.
        @inlinable
        func emitText(_ run: Slice<UnsafeBufferPointer<UInt8>>, _ textLength: inout Int) throws(XMLReadError) {
            textLength += run.count
            if textLength > limits.maxTextBytes {
                throw fail(.limitExceeded, "a text node is longer than maxTextBytes = \(limits.maxTextBytes)")
            }
            sink.text(UnsafeBufferPointer(rebasing: run))
        }

        /// One LF, for a line end in text.
        @inlinable
        func emitLineFeed(_ textLength: inout Int) throws(XMLReadError) {
            let lineFeed: UInt8 = 0x0A
            try withUnsafeBytes(of: lineFeed) { raw throws(XMLReadError) in
                try emitText(UnsafeBufferPointer(start: raw.bindMemory(to: UInt8.self).baseAddress, count: 1)[...], &textLength)
            }
        }

        /// Reads `<name attr="v" …>` or `<name …/>` (then `isEmpty` is true).
        @inlinable
        mutating func startTag() throws(XMLReadError) -> (Open, isEmpty: Bool) {
            let startLine = line
            let startColumn = column
            elementCount += 1
            if elementCount > limits.maxElements {
                throw fail(.limitExceeded, "more than maxElements = \(limits.maxElements) elements")
            }
            i += 1
            let qualified = try name()
            var raw: [(name: Slice<UnsafeBufferPointer<UInt8>>, value: String)] = []
            let outerBindings = bindings.count
            var isEmpty = false
            while true {
                let hadSpace = i < bytes.count && isSpace(bytes[i])
                skipSpace()
                guard i < bytes.count else { throw fail("the fragment ends inside a start tag") }
                if bytes[i] == UInt8(ascii: ">") {
                    i += 1
                    break
                }
                if bytes[i] == UInt8(ascii: "/") {
                    guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: ">") else { throw fail("expected '/>'") }
                    i += 2
                    isEmpty = true
                    break
                }
                guard hadSpace else { throw fail("expected white space between attributes") }
                let attributeName = try name()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else { throw fail("expected '=' after an attribute name") }
                i += 1
                skipSpace()
                let value = try attributeValue()
                if raw.contains(where: { $0.name.elementsEqual(attributeName) }) {
                    throw fail("the attribute '\(String(decoding: attributeName, as: UTF8.self))' appears twice")
                }
                if raw.count >= limits.maxAttributes {
                    throw fail(.limitExceeded, "more than maxAttributes = \(limits.maxAttributes) attributes on one element")
                }
                raw.append((attributeName, value))
                if attributeName.elementsEqual(FragmentNames.xmlns) {
                    try checkNamespaceName(attributeName, value)
                    bindings.append(("", XMLNamespaces.interned(value)))
                } else if attributeName.starts(with: FragmentNames.xmlnsPrefix) {
                    _ = try split(attributeName)  // `xmlns:` alone declares no prefix: refused
                    try checkNamespaceName(attributeName, value)
                    bindings.append((String(decoding: attributeName.dropFirst(6), as: UTF8.self), XMLNamespaces.interned(value)))
                }
            }
            let (prefix, local) = try split(qualified)
            let elementNamespace = namespace(for: prefix)
            if let prefix, elementNamespace == nil {
                throw fail("the prefix '\(String(decoding: prefix, as: UTF8.self))' is not bound to a namespace")
            }
            var attributes: [XMLAttribute] = []
            for (rawName, value) in raw {
                if rawName.elementsEqual(FragmentNames.xmlns) || rawName.starts(with: FragmentNames.xmlnsPrefix) { continue }
                let (attributePrefix, attributeLocal) = try split(rawName)
                var attributeNamespace: String?
                if let attributePrefix {
                    guard let bound = namespace(for: attributePrefix) else {
                        throw fail("the prefix '\(String(decoding: attributePrefix, as: UTF8.self))' is not bound to a namespace")
                    }
                    attributeNamespace = bound
                }
                attributes.append(
                    XMLAttribute(
                        localName: String(decoding: attributeLocal, as: UTF8.self),
                        namespaceURI: attributeNamespace,
                        prefix: attributePrefix.map { String(decoding: $0, as: UTF8.self) },
                        value: value
                    )
                )
            }
            sink.startElement(
                XMLStartTag(
                    localName: UnsafeBufferPointer(rebasing: local),
                    prefix: prefix.map { UnsafeBufferPointer(rebasing: $0) },
                    namespaceURI: elementNamespace.flatMap { $0.isEmpty ? nil : $0 },
                    attributes: attributes,
                    line: startLine,
                    column: startColumn
                )
            )
            return (Open(qualifiedName: qualified, outerBindings: outerBindings), isEmpty)
        }

        /// The prefix (nil when there is none) and local name of a qualified name, as bytes.
        @inlinable
        func split(_ qualified: Slice<UnsafeBufferPointer<UInt8>>) throws(XMLReadError) -> (Slice<UnsafeBufferPointer<UInt8>>?, Slice<UnsafeBufferPointer<UInt8>>) {
            if let colon = qualified.firstIndex(of: UInt8(ascii: ":")) {
                // A qualified name is prefix:local, both names (the local part starts as a name
                // does, so not with a digit, '-' or '.'), one colon (as libxml2 requires).
                let prefix = qualified[..<colon]
                let local = qualified[(colon + 1)...]
                guard !prefix.isEmpty, !local.isEmpty, nameStartLength(at: local.startIndex) != nil, !local.contains(UInt8(ascii: ":")) else {
                    throw fail("'\(String(decoding: qualified, as: UTF8.self))' is not a valid qualified name")
                }
                return (prefix, local)
            }
            return (nil, qualified)
        }

        @inlinable
        mutating func attributeValue() throws(XMLReadError) -> String {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") else {
                throw fail("an attribute value must be quoted")
            }
            let quote = bytes[i]
            i += 1
            // Usually the value is plain text: then it is the bytes as they are.
            var end = i
            while end < bytes.count, end - i <= limits.maxTextBytes, FragmentNames.isPlainAttributeByte[Int(bytes[end])] { end += 1 }
            if end < bytes.count, bytes[end] == quote, end - i <= limits.maxTextBytes {
                defer { i = end + 1 }
                return String(decoding: bytes[i..<end], as: UTF8.self)
            }
            var value: [UInt8] = []
            while true {
                guard i < bytes.count else { throw fail("unterminated attribute value") }
                let b = bytes[i]
                if b == quote {
                    i += 1
                    break
                }
                if b == UInt8(ascii: "<") { throw fail("'<' is not allowed in an attribute value") }
                if b == UInt8(ascii: "&") {
                    UTF8.encode(try reference()) { value.append($0) }
                    continue
                }
                if b < 0x20, !isSpace(b) { throw fail("the control character 0x\(String(b, radix: 16)) is not allowed in XML") }
                // End-of-line handling first (CR LF is one line end), then attribute-value
                // normalisation: white space characters become spaces.
                if b == 0x0D, i + 1 < bytes.count, bytes[i + 1] == 0x0A {
                    advance()
                    continue
                }
                value.append(isSpace(b) ? 0x20 : b)
                advance()
            }
            if value.count > limits.maxTextBytes {
                throw fail(.limitExceeded, "an attribute value is longer than maxTextBytes = \(limits.maxTextBytes)")
            }
            return String(decoding: value, as: UTF8.self)
        }

        /// `&lt;` and the other predefined entities, `&#233;`, `&#xE9;`; any other reference is refused.
        @inlinable
        mutating func reference() throws(XMLReadError) -> Unicode.Scalar {
            let start = i
            i += 1
            while i < bytes.count, bytes[i] != UInt8(ascii: ";"), i - start < 12 { i += 1 }
            guard i < bytes.count, bytes[i] == UInt8(ascii: ";") else {
                i = start
                throw fail("'&' must start a character reference or one of &lt; &gt; &amp; &quot; &apos;")
            }
            let body = bytes[(start + 1)..<i]
            i += 1
            switch String(decoding: body, as: UTF8.self) {
            case "lt": return "<"
            case "gt": return ">"
            case "amp": return "&"
            case "quot": return "\""
            case "apos": return "'"
            case let name where name.hasPrefix("#"):
                let digits = name.dropFirst()
                let hexadecimal = digits.hasPrefix("x")
                let number = hexadecimal ? digits.dropFirst() : digits
                // Digits only: UInt32's parser would also take a sign (`&#+13;`), which XML refuses.
                let allDigits = number.allSatisfy { hexadecimal ? $0.isHexDigit : $0.isASCII && $0.isNumber }
                let scalarValue = allDigits ? UInt32(number, radix: hexadecimal ? 16 : 10) : nil
                guard let scalarValue, let scalar = Unicode.Scalar(scalarValue),
                    scalarValue >= 0x20 || scalarValue == 0x09 || scalarValue == 0x0A || scalarValue == 0x0D,
                    scalarValue != 0xFFFE, scalarValue != 0xFFFF
                else {
                    i = start
                    throw fail("'&\(name);' is not a valid character reference")
                }
                return scalar
            case let name:
                i = start
                throw fail(
                    .entityReferenceForbidden,
                    "the entity reference '&\(name);' is not allowed: only &lt; &gt; &amp; &quot; &apos; and character references")
            }
        }
    }
}

@usableFromInline
enum FragmentNames {
    /// Bytes that end a run of plain text: `<`, `&`, `>` and the control characters.
    @usableFromInline static let stopsText: [Bool] = (0..<256).map { $0 < 0x20 || $0 == 0x3C || $0 == 0x26 || $0 == 0x3E }
    /// Bytes an attribute value holds as they are: not `<`, `&`, a quote or a control character
    /// (white space is normalised, so it takes the slow path too).
    @usableFromInline static let isPlainAttributeByte: [Bool] = (0..<256).map {
        $0 >= 0x20 && $0 != 0x3C && $0 != 0x26 && $0 != 0x22 && $0 != 0x27 && $0 != 0x20
    }
    @usableFromInline static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"
    @usableFromInline static let xmlns: [UInt8] = Array("xmlns".utf8)
    @usableFromInline static let xmlnsPrefix: [UInt8] = Array("xmlns:".utf8)
}

/// Receives what `XMLFragmentParser.scan` reads, in document order.
public protocol XMLFragmentSink: AnyObject {
    /// A start tag; its byte views are valid only during the call.
    func startElement(_ tag: XMLStartTag)
    func endElement()
    /// Text with references resolved, valid only during the call; adjacent runs (split at
    /// references, comments and CDATA sections) arrive in several calls.
    func text(_ utf8: UnsafeBufferPointer<UInt8>)
}

/// A start tag as `XMLFragmentParser.scan` reports it. The names are views of the fragment's
/// bytes, so that a sink that only checks them (the narrative rules) makes no strings; they are
/// valid only during the `startElement` call.
public struct XMLStartTag {
    /// The local name's UTF-8.
    public let localName: UnsafeBufferPointer<UInt8>
    /// The prefix's UTF-8, nil when the name has none.
    public let prefix: UnsafeBufferPointer<UInt8>?
    /// nil when the element is in no namespace. The namespaces of `XMLNamespaces` are passed as
    /// those very strings, so comparing with them is quick.
    public let namespaceURI: String?
    /// In document order, namespace declarations left out.
    public let attributes: [XMLAttribute]
    public let line: Int32
    public let column: Int32

    @inlinable
    init(
        localName: UnsafeBufferPointer<UInt8>, prefix: UnsafeBufferPointer<UInt8>?, namespaceURI: String?, attributes: [XMLAttribute],
        line: Int32, column: Int32
    ) {
        self.localName = localName
        self.prefix = prefix
        self.namespaceURI = namespaceURI
        self.attributes = attributes
        self.line = line
        self.column = column
    }

    public var localNameString: String { String(decoding: localName, as: UTF8.self) }
    public var prefixString: String? { prefix.map { String(decoding: $0, as: UTF8.self) } }
}

/// Namespace names the readers share as single string instances.
public enum XMLNamespaces {
    public static let xhtml = "http://www.w3.org/1999/xhtml"

    /// The shared instance when `uri` is one of the known namespaces, else `uri`.
    @usableFromInline
    static func interned(_ uri: String) -> String { uri == xhtml ? xhtml : uri }
}

extension XMLElement {
    /// Replays this tree to `sink` as `XMLFragmentParser.scan` would report it, without recursion.
    public func replay(into sink: any XMLFragmentSink) {
        var stack: [(element: XMLElement, next: Int)] = [(self, 0)]
        startElement(self, into: sink)
        while let top = stack.last {
            guard top.next < top.element.children.count else {
                stack.removeLast()
                sink.endElement()
                continue
            }
            stack[stack.count - 1].next += 1
            switch top.element.children[top.next] {
            case .text(let text):
                var text = text
                text.withUTF8 { sink.text($0) }
            case .element(let child):
                startElement(child, into: sink)
                stack.append((child, 0))
            }
        }
    }

    private func startElement(_ element: XMLElement, into sink: any XMLFragmentSink) {
        var localName = element.localName
        var prefix = element.prefix ?? ""
        localName.withUTF8 { name in
            prefix.withUTF8 { prefixBytes in
                sink.startElement(
                    XMLStartTag(
                        localName: name,
                        prefix: element.prefix == nil ? nil : prefixBytes,
                        namespaceURI: element.namespaceURI.map(XMLNamespaces.interned),
                        attributes: element.attributes,
                        line: element.line,
                        column: element.column
                    )
                )
            }
        }
    }
}

/// Builds the `XMLElement` tree of a fragment.
final class XMLTreeSink: XMLFragmentSink {
    var stack: [XMLElement] = []
    var root: XMLElement?
    /// The text node being read, made into one string when an element starts or ends.
    private var pendingText: [UInt8] = []

    func startElement(_ tag: XMLStartTag) {
        flushText()
        stack.append(
            XMLElement(
                localName: tag.localNameString,
                namespaceURI: tag.namespaceURI,
                prefix: tag.prefixString,
                attributes: tag.attributes,
                children: [],
                line: tag.line,
                column: tag.column
            )
        )
    }

    func endElement() {
        flushText()
        guard let done = stack.popLast() else { return }
        if stack.isEmpty {
            root = done
        } else {
            stack[stack.count - 1].children.append(.element(done))
        }
    }

    func text(_ utf8: UnsafeBufferPointer<UInt8>) {
        guard !stack.isEmpty else { return }
        pendingText.append(contentsOf: utf8)
    }

    private func flushText() {
        guard !pendingText.isEmpty, !stack.isEmpty else { return }
        stack[stack.count - 1].children.append(.text(String(decoding: pendingText, as: UTF8.self)))
        pendingText.removeAll(keepingCapacity: true)
    }
}
