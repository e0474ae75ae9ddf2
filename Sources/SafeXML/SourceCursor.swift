/// Walks the raw UTF-8 input alongside libxml2 to give each element the exact line and column of its
/// start tag's `<` (libxml2 records only the line where the start tag ends, and no column).
///
/// In well-formed XML every `<` outside comments, CDATA sections and processing instructions starts
/// markup, and the reader reports elements in document order, so the n-th start tag found here is
/// the n-th element the reader reports. Lines are counted on `\n` bytes and columns in characters,
/// as libxml2 counts them in its error positions.
struct SourceCursor {
    private let bytes: UnsafeBufferPointer<UInt8>
    private(set) var index: Int
    private(set) var line: Int32 = 1
    private(set) var column: Int32 = 1

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        // A UTF-8 byte order mark is not part of the text.
        index = Self.hasUTF8ByteOrderMark(bytes) ? 3 : 0
    }

    static func hasUTF8ByteOrderMark(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
    }

    var isAtEnd: Bool { index >= bytes.count }

    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    /// Moves one byte forward, keeping line and column.
    @inline(__always)
    mutating func advance() {
        let byte = bytes[index]
        index += 1
        if byte == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {
            column += 1
        }
    }

    mutating func advance(by count: Int) {
        for _ in 0..<count where index < bytes.count { advance() }
    }

    /// Whether the bytes at the cursor start with `pattern` (ASCII).
    func hasPrefix(_ pattern: [UInt8]) -> Bool {
        guard bytes.count - index >= pattern.count else { return false }
        for (offset, byte) in pattern.enumerated() where bytes[index + offset] != byte { return false }
        return true
    }

    /// Moves past the next occurrence of `terminator`, or to the end if there is none.
    mutating func skip(past terminator: [UInt8]) {
        guard let first = terminator.first else { return }
        while index < bytes.count {
            if bytes[index] == first && hasPrefix(terminator) {
                advance(by: terminator.count)
                return
            }
            advance()
        }
    }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { advance() }
    }

    /// The position of the next start tag's `<`, moving just past it.
    mutating func nextStartTag() -> (line: Int32, column: Int32)? {
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "<") else {
                advance()
                continue
            }
            let next = index + 1 < bytes.count ? bytes[index + 1] : 0
            switch next {
            case UInt8(ascii: "!"):
                if hasPrefix(Pattern.commentStart) {
                    advance(by: Pattern.commentStart.count)
                    skip(past: Pattern.commentEnd)
                } else if hasPrefix(Pattern.cdataStart) {
                    advance(by: Pattern.cdataStart.count)
                    skip(past: Pattern.cdataEnd)
                } else {
                    skip(past: Pattern.tagEnd)
                }
            case UInt8(ascii: "?"):
                advance(by: 2)
                skip(past: Pattern.processingInstructionEnd)
            case UInt8(ascii: "/"):
                skip(past: Pattern.tagEnd)
            default:
                let position = (line, column)
                advance()
                return position
            }
        }
        return nil
    }

    enum Pattern {
        static let commentStart = Array("<!--".utf8)
        static let commentEnd = Array("-->".utf8)
        static let cdataStart = Array("<![CDATA[".utf8)
        static let cdataEnd = Array("]]>".utf8)
        static let processingInstructionStart = Array("<?".utf8)
        static let processingInstructionEnd = Array("?>".utf8)
        static let tagEnd = Array(">".utf8)
        static let xmlDeclarationStart = Array("<?xml".utf8)
        static let doctypeStart = Array("<!DOCTYPE".utf8)
    }
}
