#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

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
    /// Where `nextStartTag` resumes (it may be past `index`, which is where line and column are).
    private var scanIndex = 0

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

    /// Moves past the next occurrence of `terminator`, or to the end if there is none (returning false).
    @discardableResult
    mutating func skip(past terminator: [UInt8]) -> Bool {
        guard let first = terminator.first else { return false }
        while index < bytes.count {
            if bytes[index] == first && hasPrefix(terminator) {
                advance(by: terminator.count)
                return true
            }
            advance()
        }
        return false
    }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { advance() }
    }

    /// Whether the rest of the input is only whitespace, comments and processing instructions (the
    /// XML declaration is one), each complete: a document with nothing else has no root element.
    func restIsProlog() -> Bool {
        var cursor = self
        while true {
            cursor.skipWhitespace()
            if cursor.isAtEnd { return true }
            if cursor.hasPrefix(Pattern.commentStart) {
                cursor.advance(by: Pattern.commentStart.count)
                guard cursor.skip(past: Pattern.commentEnd) else { return false }
            } else if cursor.hasPrefix(Pattern.processingInstructionStart) {
                cursor.advance(by: Pattern.processingInstructionStart.count)
                guard cursor.skip(past: Pattern.processingInstructionEnd) else { return false }
            } else {
                return false
            }
        }
    }

    /// The position of the next start tag's `<`, moving the cursor to it (and the scan just past it).
    mutating func nextStartTag() -> (line: Int32, column: Int32)? {
        let count = bytes.count
        var scan = max(index, scanIndex)
        while true {
            scan = find(UInt8(ascii: "<"), from: scan)
            guard scan + 1 < count else { return nil }
            switch bytes[scan + 1] {
            case UInt8(ascii: "!"):
                if matches(Pattern.commentStart, at: scan) {
                    scan = end(of: Pattern.commentEnd, from: scan + Pattern.commentStart.count)
                } else if matches(Pattern.cdataStart, at: scan) {
                    scan = end(of: Pattern.cdataEnd, from: scan + Pattern.cdataStart.count)
                } else {
                    scan = end(of: Pattern.tagEnd, from: scan + 2)
                }
            case UInt8(ascii: "?"):
                scan = end(of: Pattern.processingInstructionEnd, from: scan + 2)
            case UInt8(ascii: "/"):
                scan = end(of: Pattern.tagEnd, from: scan + 2)
            default:
                move(to: scan)
                scanIndex = scan + 1
                return (line, column)
            }
        }
    }

    private func matches(_ pattern: [UInt8], at position: Int) -> Bool {
        guard bytes.count - position >= pattern.count else { return false }
        for (offset, byte) in pattern.enumerated() where bytes[position + offset] != byte { return false }
        return true
    }

    /// The index just past the next `terminator` at or after `position`, or the end of the input.
    private func end(of terminator: [UInt8], from position: Int) -> Int {
        let count = bytes.count
        guard let first = terminator.first else { return count }
        var scan = position
        while scan < count {
            scan = find(first, from: scan)
            if matches(terminator, at: scan) { return scan + terminator.count }
            scan &+= 1
        }
        return count
    }

    /// The index of the next `byte` at or after `position` and before `limit` (default: the end of
    /// the input), or `limit` if there is none (memchr).
    @inline(__always)
    private func find(_ byte: UInt8, from position: Int, before limit: Int? = nil) -> Int {
        let end = limit ?? bytes.count
        guard let base = bytes.baseAddress, position < end else { return end }
        guard let found = memchr(base + position, Int32(byte), end - position) else { return end }
        return UnsafeRawPointer(found) - UnsafeRawPointer(base)
    }

    /// Moves forward to `target`, counting lines (memchr from newline to newline) and columns.
    private mutating func move(to target: Int) {
        guard target > index else { return }
        var lineStart = index
        var newline = find(UInt8(ascii: "\n"), from: index, before: target)
        if newline < target {
            var newlines: Int32 = 0
            while newline < target {
                newlines &+= 1
                lineStart = newline + 1
                newline = find(UInt8(ascii: "\n"), from: lineStart, before: target)
            }
            line &+= newlines
            column = 1
        }
        var characters: Int32 = 0
        for position in lineStart..<target where bytes[position] & 0xC0 != 0x80 { characters &+= 1 }
        column &+= characters
        index = target
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
