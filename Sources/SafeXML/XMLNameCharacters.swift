/// XML 1.0 (fifth edition) name characters beyond ASCII, as libxml2 reads names by default
/// (https://www.w3.org/TR/xml/#NT-NameStartChar): the narrative parser takes the names libxml2
/// takes, so a narrative reads alike from FHIR JSON and FHIR XML.
@usableFromInline
enum XMLNameCharacters {
    /// NameStartChar, for a scalar from U+0080 up.
    @inlinable
    static func isNameStart(_ c: UInt32) -> Bool {
        switch c {
        case 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x2FF, 0x370...0x37D, 0x37F...0x1FFF, 0x200C...0x200D, 0x2070...0x218F,
            0x2C00...0x2FEF, 0x3001...0xD7FF, 0xF900...0xFDCF, 0xFDF0...0xFFFD, 0x10000...0xEFFFF:
            true
        default: false
        }
    }

    /// NameChar, for a scalar from U+0080 up.
    @inlinable
    static func isNameChar(_ c: UInt32) -> Bool {
        isNameStart(c) || c == 0xB7 || (0x300...0x36F).contains(c) || c == 0x203F || c == 0x2040
    }

    /// The scalar whose UTF-8 encoding starts at `index`, and its length in bytes (the standard
    /// library's UTF-8 parser; the parser reads Swift strings, so the bytes are valid UTF-8, and
    /// anything else reads as U+0000 over one byte, no name character).
    @inlinable
    static func scalar(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (value: UInt32, length: Int) {
        var input = bytes[index...].makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        guard case .valid(let encoded) = parser.parseScalar(from: &input) else { return (0, 1) }
        return (Unicode.UTF8.decode(encoded).value, encoded.count)
    }
}
