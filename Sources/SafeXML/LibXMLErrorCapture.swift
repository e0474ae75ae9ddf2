import CLibXML2

/// The first error libxml2 raised for one reader, captured by a per-reader structured error handler
/// (so nothing is printed to stderr and no process-global handler is changed).
package final class LibXMLErrorCapture {
    struct CapturedError {
        var domain: Int32
        var code: Int32
        var message: String
        var line: Int32
        var column: Int32
    }

    private(set) var first: CapturedError?

    /// Installs the handler on `reader`; `self` must outlive the reader.
    func install(on reader: xmlTextReaderPtr) {
        xmlTextReaderSetStructuredErrorHandler(reader, libXMLStructuredErrorHandler, Unmanaged.passUnretained(self).toOpaque())
    }

    fileprivate func record(_ error: xmlError) {
        // Warnings (e.g. a relative namespace URI) are not failures; errors and fatal errors are.
        guard first == nil, error.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
        let text = error.message.map { String(cString: $0) } ?? "unknown libxml2 error"
        first = CapturedError(
            domain: error.domain,
            code: error.code,
            message: Self.trim(text),
            line: error.line,
            column: error.int2
        )
    }

    private static func trim(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        let line = oneLine(String(String.UnicodeScalarView(scalars)))
        // Messages quote names from the document, which may be up to 50,000 bytes long.
        return line.count > maxMessageLength ? line.prefix(maxMessageLength) + "…" : line
    }

    /// The text on one line, as messages carry it: libxml2 sometimes adds a second line with a copy
    /// of the offending bytes, and a quoted name or value may hold line ends.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    private static let maxMessageLength = 300

    /// The captured error as an `XMLReadError` of the most specific kind.
    func readError() -> XMLReadError? {
        guard let first else { return nil }
        let kind = Self.kind(for: first)
        var message = "libxml2: \(first.message)"
        if kind == .limitExceeded {
            let limit =
                first.message.contains("depth")
                ? "256 levels of nesting"
                : "10,000,000 bytes in one text node, attribute value or comment, 50,000 in a name"
            message = "a hard limit of libxml2 was reached (at most \(limit)): \(message)"
        }
        return XMLReadError(kind: kind, message: message, line: first.line, column: first.column)
    }

    private static func kind(for error: CapturedError) -> XMLReadError.Kind {
        // libxml2's own hard limits (256 levels, 10,000,000-byte text, names, comments) have no codes of their own.
        let limitWords = ["Excessive depth", "huge text", "too long", "too big"]
        if limitWords.contains(where: { error.message.contains($0) }) { return .limitExceeded }
        switch xmlParserErrors(rawValue: UInt32(bitPattern: error.code)) {
        case XML_ERR_UNKNOWN_ENCODING, XML_ERR_UNSUPPORTED_ENCODING, XML_I18N_CONV_FAILED:
            return .invalidUTF8
        case XML_ERR_INVALID_CHAR where error.message.contains("not proper UTF-8") || isDecodedNonScalar(error.message):
            return .invalidUTF8
        case XML_ERR_UNDECLARED_ENTITY, XML_WAR_UNDECLARED_ENTITY, XML_ERR_ENTITY_LOOP, XML_ERR_ENTITY_BOUNDARY,
            XML_ERR_UNPARSED_ENTITY, XML_ERR_ENTITY_IS_EXTERNAL, XML_ERR_ENTITY_IS_PARAMETER, XML_ERR_ENTITY_PE_INTERNAL,
            XML_ERR_ENTITYREF_SEMICOL_MISSING, XML_ERR_PEREF_SEMICOL_MISSING, XML_ERR_ENTITY_NOT_FINISHED,
            XML_ERR_ENTITY_CHAR_ERROR, XML_ERR_ENTITYREF_IN_PROLOG, XML_ERR_ENTITYREF_IN_EPILOG, XML_ERR_ENTITYREF_IN_DTD,
            XML_ERR_PEREF_AT_EOF, XML_ERR_PEREF_IN_PROLOG, XML_ERR_PEREF_IN_EPILOG, XML_ERR_PEREF_IN_INT_SUBSET,
            XML_ERR_ENTITY_PROCESSING, XML_WAR_ENTITY_REDEFINED:
            return .entityReferenceForbidden
        case XML_ERR_DOCTYPE_NOT_FINISHED, XML_ERR_EXT_SUBSET_NOT_FINISHED, XML_ERR_CONDSEC_INVALID,
            XML_ERR_CONDSEC_NOT_FINISHED, XML_ERR_CONDSEC_INVALID_KEYWORD, XML_ERR_ENTITY_NOT_STARTED,
            XML_ERR_PUBID_REQUIRED, XML_ERR_ELEMCONTENT_NOT_STARTED, XML_ERR_ELEMCONTENT_NOT_FINISHED,
            XML_ERR_ATTLIST_NOT_STARTED, XML_ERR_ATTLIST_NOT_FINISHED, XML_ERR_NOTATION_NOT_STARTED,
            XML_ERR_NOTATION_NOT_FINISHED:
            return .doctypeForbidden
        case XML_ERR_NAME_TOO_LONG:
            return .limitExceeded
        default:
            return .notWellFormed
        }
    }
}

extension LibXMLErrorCapture {
    /// libxml2 decodes UTF-8-like byte sequences for surrogates (ED A0 80) and for values above
    /// U+10FFFF (F4 90 80 80, F5…) and then reports "Char 0xD800 out of allowed range": such bytes
    /// are not UTF-8 at all.
    static func isDecodedNonScalar(_ message: String) -> Bool {
        guard let range = message.firstRange(of: "Char 0x") else { return false }
        let hex = message[range.upperBound...].prefix { $0.isHexDigit }
        guard let value = UInt32(hex, radix: 16) else { return false }
        return (0xD800...0xDFFF).contains(value) || value > 0x10FFFF
    }
}

/// The C callback: `userData` is the `LibXMLErrorCapture` passed to `install(on:)`.
private func libXMLStructuredErrorHandler(_ userData: UnsafeMutableRawPointer?, _ error: xmlErrorPtr?) {
    guard let userData, let error else { return }
    Unmanaged<LibXMLErrorCapture>.fromOpaque(userData).takeUnretainedValue().record(error.pointee)
}
