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

    /// The scalar whose UTF-8 encoding starts at `index`, and its length in bytes. The parser
    /// reads Swift strings, so the bytes are valid UTF-8; the length never runs past the end.
    @inlinable
    static func scalar(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (value: UInt32, length: Int) {
        let lead = UInt32(bytes[index])
        func continuation(_ k: Int) -> UInt32 { index + k < bytes.count ? UInt32(bytes[index + k] & 0x3F) : 0 }
        let left = bytes.count - index
        if lead < 0x80 { return (lead, 1) }
        if lead < 0xE0 { return ((lead & 0x1F) << 6 | continuation(1), Swift.min(2, left)) }
        if lead < 0xF0 { return ((lead & 0x0F) << 12 | continuation(1) << 6 | continuation(2), Swift.min(3, left)) }
        return ((lead & 0x07) << 18 | continuation(1) << 12 | continuation(2) << 6 | continuation(3), Swift.min(4, left))
    }
}
