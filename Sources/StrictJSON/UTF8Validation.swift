/// UTF-8 checks on raw bytes, as RFC 3629 defines UTF-8: no overlong forms, no encoded surrogates, nothing above
/// U+10FFFF, no truncated sequences.
enum UTF8Validation {
    /// The length (2...4) of the well-formed multi-byte sequence that starts at `index`, or 0 when it is not
    /// well-formed. The byte at `index` must be 0x80 or above and `index < end`.
    @inline(__always)
    static func sequenceLength(_ base: UnsafePointer<UInt8>, at index: Int, end: Int) -> Int {
        let lead = base[index]
        // The length, and the allowed range of the second byte (narrower than 80...BF where overlong forms,
        // surrogates or code points above U+10FFFF would start).
        let (length, low, high): (Int, UInt8, UInt8)
        switch lead {
        case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
        case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (length, low, high) = (3, 0x80, 0xBF)
        case 0xED: (length, low, high) = (3, 0x80, 0x9F)
        case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
        case 0xF4: (length, low, high) = (4, 0x80, 0x8F)
        default: return 0
        }
        guard end - index >= length else { return 0 }
        let second = base[index + 1]
        guard second >= low && second <= high else { return 0 }
        if length >= 3 {
            guard base[index + 2] & 0xC0 == 0x80 else { return 0 }
            if length == 4 {
                guard base[index + 3] & 0xC0 == 0x80 else { return 0 }
            }
        }
        return length
    }

    /// Why the sequence at `index` is not well-formed UTF-8, in plain words (only called on the error path).
    @inline(never)
    static func problem(_ base: UnsafePointer<UInt8>, at index: Int, end: Int) -> String {
        let lead = base[index]
        let hex = hexByte(lead)
        switch lead {
        case 0x80...0xBF:
            return "Invalid UTF-8: byte 0x\(hex) is a continuation byte without a lead byte"
        case 0xC0, 0xC1:
            return "Invalid UTF-8: byte 0x\(hex) starts an overlong encoding"
        case 0xF5...0xFF:
            return "Invalid UTF-8: byte 0x\(hex) never appears in UTF-8"
        default:
            break
        }
        let length = lead >= 0xF0 ? 4 : (lead >= 0xE0 ? 3 : 2)
        var offset = 1
        while offset < length {
            guard index + offset < end else {
                return "Invalid UTF-8: the sequence starting with byte 0x\(hex) is cut off by the end of the input"
            }
            let byte = base[index + offset]
            guard byte & 0xC0 == 0x80 else {
                return "Invalid UTF-8: the sequence starting with byte 0x\(hex) is cut off (byte 0x\(hexByte(byte)) is not a continuation byte)"
            }
            offset += 1
        }
        let second = base[index + 1]
        if lead == 0xED && second >= 0xA0 {
            return "Invalid UTF-8: the sequence 0x\(hex) 0x\(hexByte(second)) encodes a UTF-16 surrogate, which UTF-8 does not allow"
        }
        if lead == 0xF4 && second >= 0x90 {
            return "Invalid UTF-8: the sequence 0x\(hex) 0x\(hexByte(second)) encodes a code point above U+10FFFF"
        }
        return "Invalid UTF-8: the sequence 0x\(hex) 0x\(hexByte(second)) is an overlong encoding"
    }

    static func hexByte(_ byte: UInt8) -> String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
