/// Checks the document's prolog before libxml2 sees it: only UTF-8 is accepted, and a DOCTYPE is
/// refused here, so libxml2 never parses a DTD, an entity declaration or a parameter entity.
/// (The reader refuses DOCTYPE and entity-reference nodes as well, in case anything gets past this.)
enum PrologCheck {
    static func check(_ bytes: UnsafeBufferPointer<UInt8>) throws(XMLReadError) {
        try checkByteOrderMark(bytes)
        var cursor = SourceCursor(bytes)
        if cursor.hasPrefix(SourceCursor.Pattern.xmlDeclarationStart) && isWhitespace(bytes, at: cursor.index + 5) {
            let start = cursor
            cursor.skip(past: SourceCursor.Pattern.processingInstructionEnd)
            if let encoding = declaredEncoding(bytes[start.index..<cursor.index]) {
                let name = encoding.lowercased()
                if name != "utf-8" && name != "utf8" {
                    throw XMLReadError(
                        kind: .invalidUTF8,
                        message: "the document declares encoding \"\(encoding)\"; only UTF-8 is accepted",
                        line: start.line,
                        column: start.column
                    )
                }
            }
        }
        while !cursor.isAtEnd {
            cursor.skipWhitespace()
            if cursor.hasPrefix(SourceCursor.Pattern.commentStart) {
                cursor.advance(by: SourceCursor.Pattern.commentStart.count)
                cursor.skip(past: SourceCursor.Pattern.commentEnd)
            } else if cursor.hasPrefix(SourceCursor.Pattern.doctypeStart) {
                throw XMLReadError(
                    kind: .doctypeForbidden,
                    message: "the document has a DOCTYPE declaration; DTDs and entity declarations are not accepted",
                    line: cursor.line,
                    column: cursor.column
                )
            } else if cursor.hasPrefix(SourceCursor.Pattern.processingInstructionStart) {
                cursor.advance(by: 2)
                cursor.skip(past: SourceCursor.Pattern.processingInstructionEnd)
            } else {
                return
            }
        }
    }

    private static func isWhitespace(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        index < bytes.count && isSpace(bytes[index])
    }

    /// UTF-16 and UTF-32 documents (with a byte order mark, or starting `<` as UTF-16) are refused by name.
    private static func checkByteOrderMark(_ bytes: UnsafeBufferPointer<UInt8>) throws(XMLReadError) {
        let head = Array(bytes.prefix(4))
        let encoding: String? =
            if head.starts(with: [0x00, 0x00, 0xFE, 0xFF]) || head.starts(with: [0xFF, 0xFE, 0x00, 0x00]) {
                "UTF-32"
            } else if head.starts(with: [0xFE, 0xFF]) || head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0x00, 0x3C])
                || head.starts(with: [0x3C, 0x00])
            {
                "UTF-16"
            } else {
                nil
            }
        if let encoding {
            throw XMLReadError(kind: .invalidUTF8, message: "the document is \(encoding); only UTF-8 is accepted", line: 1, column: 1)
        }
    }

    /// The value of the `encoding` pseudo-attribute in an XML declaration, if there is one.
    static func declaredEncoding(_ declaration: Slice<UnsafeBufferPointer<UInt8>>) -> String? {
        let name = Array("encoding".utf8)
        guard let nameStart = declaration.indices.first(where: { declaration[$0...].starts(with: name) }) else { return nil }
        var rest = declaration[(nameStart + name.count)...].drop(while: isSpace)
        guard rest.first == UInt8(ascii: "=") else { return nil }
        rest = rest.dropFirst().drop(while: isSpace)
        guard let quote = rest.first, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { return nil }
        rest = rest.dropFirst()
        guard let end = rest.firstIndex(of: quote) else { return nil }
        return String(decoding: rest[..<end], as: UTF8.self)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
