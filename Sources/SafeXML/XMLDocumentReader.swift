import CLibXML2

/// A hardened XML reader on libxml2's streaming reader (xmlTextReader): no DTD, no entities other
/// than the five predefined ones and character references, no network or file access, UTF-8 only,
/// and limits on size, depth, element count, attributes and text. Each call uses its own libxml2
/// reader, so one `XMLDocumentReader` can be used from many threads at once.
public struct XMLDocumentReader: Sendable {
    public var limits: XMLLimits
    /// Whether the prolog is checked in Swift before libxml2 runs (always, except in tests that
    /// exercise libxml2's own handling of DOCTYPEs and entities).
    let checksProlog: Bool

    public init(limits: XMLLimits = .default) {
        self.init(limits: limits, checksProlog: true)
    }

    /// For tests: `checksProlog: false` leaves DOCTYPE detection to the reader's node checks.
    @_spi(Testing)
    public init(limits: XMLLimits = .default, checksProlog: Bool) {
        self.limits = limits
        self.checksProlog = checksProlog
    }

    /// Reads a whole document and returns its root element.
    public func read(_ bytes: [UInt8]) throws(XMLReadError) -> XMLElement {
        let result: Result<XMLElement, XMLReadError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(XMLReadError) in try read(buffer) }
        }
        return try result.get()
    }

    /// Reads an XML fragment that is a single element (FHIR narrative XHTML carried as a JSON
    /// string), with the same protections as `read`.
    public func readFragment(_ text: String) throws(XMLReadError) -> XMLElement {
        try read(Array(text.utf8))
    }

    private static let parserInitialised: Void = xmlInitParser()

    /// NONET, and none of NOENT, DTDLOAD, DTDATTR, DTDVALID, HUGE, RECOVER or XINCLUDE. IGNORE_ENC:
    /// the bytes are always decoded as UTF-8, whatever the document declares.
    private static let options = Int32(bitPattern: XML_PARSE_NONET.rawValue | XML_PARSE_IGNORE_ENC.rawValue | XML_PARSE_BIG_LINES.rawValue)

    private func read(_ buffer: UnsafeBufferPointer<UInt8>) throws(XMLReadError) -> XMLElement {
        guard let base = buffer.baseAddress, !buffer.isEmpty else {
            throw XMLReadError(kind: .emptyDocument, message: "the document is empty", line: 1, column: 1)
        }
        guard buffer.count <= limits.maxBytes, buffer.count <= Int(Int32.max) else {
            throw XMLReadError(
                kind: .limitExceeded,
                message: "the document is \(buffer.count) bytes, more than the limit maxBytes = \(limits.maxBytes)"
            )
        }
        if checksProlog { try PrologCheck.check(buffer) }

        _ = Self.parserInitialised
        let reader = base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
            xmlReaderForMemory($0, Int32(buffer.count), nil, "UTF-8", Self.options)
        }
        guard let reader else {
            throw XMLReadError(kind: .notWellFormed, message: "libxml2 could not create a reader for the document")
        }
        defer { xmlFreeTextReader(reader) }
        let errors = LibXMLErrorCapture()
        errors.install(on: reader)
        return try withExtendedLifetime(errors) { () throws(XMLReadError) in
            var builder = TreeBuilder(reader: reader, limits: limits, source: SourceCursor(buffer))
            return try builder.build(errors: errors)
        }
    }
}
