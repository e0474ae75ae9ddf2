/// Strings: a scan that validates everything (escapes, control characters, UTF-8, the length limit), then either one
/// copy of the source bytes (no escapes, the common case) or one decoding pass.
extension JSONParser {
    /// Reads the string whose opening quote is at `index`; leaves `index` after the closing quote.
    mutating func readString() throws(JSONSyntaxError) -> String {
        let quote = index
        let contentStart = quote + 1
        var cursor = contentStart
        // Bytes that escapes save: the decoded length at `cursor` is `cursor - contentStart - saved`.
        var saved = 0
        // The string is too long once `cursor` passes `budgetEnd` without reaching the closing quote.
        let maxLength = min(limits.maxStringBytes, end)
        var budgetEnd = contentStart + maxLength

        while true {
            let stop = min(end, budgetEnd + 1)
            // Eight bytes at a time while none of them is '"', '\', a control character or non-ASCII.
            while stop - cursor >= 8 {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + cursor).loadUnaligned(as: UInt64.self))
                let special = Self.specialBytes(word)
                if special != 0 {
                    cursor += special.trailingZeroBitCount >> 3
                    break
                }
                cursor += 8
            }
            while cursor < stop {
                let byte = base[cursor]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
                cursor += 1
            }
            guard cursor < stop else {
                if cursor >= end {
                    throw error(.unexpectedEndOfInput, "The document ends inside a string", at: cursor)
                }
                throw stringLimitError(quote)
            }
            let byte = base[cursor]
            if byte == UInt8(ascii: "\"") {
                break
            } else if byte == UInt8(ascii: "\\") {
                let (length, decoded) = try scanEscape(at: cursor)
                cursor += length
                saved += length - decoded
                budgetEnd = contentStart + maxLength + saved
            } else if byte >= 0x80 {
                let length = UTF8Validation.sequenceLength(base, at: cursor, end: end)
                guard length > 0 else {
                    throw error(.invalidUTF8, UTF8Validation.problem(base, at: cursor, end: end), at: cursor)
                }
                cursor += length
            } else {
                let hex = UTF8Validation.hexByte(byte)
                throw error(
                    .controlCharacterInString,
                    "A string contains the raw control character U+00\(hex); write it as an escape such as \\n or \\u00\(hex)",
                    at: cursor
                )
            }
            if cursor > budgetEnd { throw stringLimitError(quote) }
        }

        index = cursor + 1
        let source = UnsafeBufferPointer(start: base + contentStart, count: cursor - contentStart)
        if saved == 0 {
            return Self.makeString(source)
        }
        return Self.decodeEscapes(source, decodedCount: source.count - saved)
    }

    /// A string of the (valid UTF-8) bytes of `source`. Up to 15 bytes, `String(unsafeUninitializedCapacity:)`
    /// builds the inline small-string form directly and skips re-validating ASCII; longer strings go through
    /// `String(decoding:)`.
    @inline(__always)
    static func makeString(_ source: UnsafeBufferPointer<UInt8>) -> String {
        let count = source.count
        guard count <= 15, let input = source.baseAddress else {
            return String(decoding: source, as: UTF8.self)
        }
        return String(unsafeUninitializedCapacity: count) { output in
            guard let outputBase = output.baseAddress else { return 0 }
            outputBase.update(from: input, count: count)
            return count
        }
    }

    /// A word with the high bit set in every byte that is '"', '\', below 0x20 or 0x80 and above. Bits above the
    /// first such byte may be wrong (borrows), so only the lowest set bit is meaningful.
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let hasQuote = (quotes &- ones) & ~quotes
        let hasBackslash = (backslashes &- ones) & ~backslashes
        let hasControl = (word &- ones &* 0x20) & ~word
        return (hasQuote | hasBackslash | hasControl | word) & highs
    }

    @inline(never)
    func stringLimitError(_ quote: Int) -> JSONSyntaxError {
        error(.limitExceeded, "A string longer than \(limits.maxStringBytes) bytes (maxStringBytes)", at: quote)
    }

    /// Checks the escape at `offset` (a backslash) and returns its source length and decoded UTF-8 length.
    mutating func scanEscape(at offset: Int) throws(JSONSyntaxError) -> (length: Int, decoded: Int) {
        guard offset + 1 < end else {
            throw error(.unexpectedEndOfInput, "The document ends inside an escape sequence", at: offset)
        }
        switch base[offset + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
            UInt8(ascii: "r"), UInt8(ascii: "t"):
            return (2, 1)
        case UInt8(ascii: "u"):
            let unit = try hexQuad(at: offset)
            switch unit {
            case 0..<0x80: return (6, 1)
            case 0x80..<0x800: return (6, 2)
            case 0xD800..<0xDC00:
                guard end - offset >= 12, base[offset + 6] == UInt8(ascii: "\\"), base[offset + 7] == UInt8(ascii: "u") else {
                    throw error(
                        .invalidEscape,
                        "The escape \\u\(Self.hex4(unit)) is a high surrogate that is not followed by a low surrogate escape",
                        at: offset
                    )
                }
                let low = try hexQuad(at: offset + 6)
                guard low >= 0xDC00 && low < 0xE000 else {
                    throw error(
                        .invalidEscape,
                        "The escape \\u\(Self.hex4(unit)) is a high surrogate followed by \\u\(Self.hex4(low)), which is not a low surrogate",
                        at: offset
                    )
                }
                return (12, 4)
            case 0xDC00..<0xE000:
                throw error(.invalidEscape, "The escape \\u\(Self.hex4(unit)) is a low surrogate without a high surrogate before it", at: offset)
            default:
                return (6, 3)
            }
        default:
            let what = describeByte(at: offset + 1)
            if base[offset + 1] >= 0x80 && UTF8Validation.sequenceLength(base, at: offset + 1, end: end) == 0 {
                throw error(.invalidUTF8, UTF8Validation.problem(base, at: offset + 1, end: end), at: offset + 1)
            }
            throw error(.invalidEscape, "A backslash followed by \(what) is not a valid escape", at: offset)
        }
    }

    /// The value of the four hex digits after `\u` at `offset`.
    func hexQuad(at offset: Int) throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for position in offset + 2..<offset + 6 {
            guard position < end else {
                throw error(.unexpectedEndOfInput, "The document ends inside a \\u escape", at: position)
            }
            guard let digit = Self.hexValue(base[position]) else {
                throw error(.invalidEscape, "A \\u escape must be followed by four hexadecimal digits", at: offset)
            }
            value = value << 4 | digit
        }
        return value
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte &- UInt8(ascii: "A") &+ 10)
        default: nil
        }
    }

    static func hex4(_ value: UInt32) -> String {
        var text = String(value, radix: 16, uppercase: true)
        while text.count < 4 { text = "0" + text }
        return text
    }

    /// Decodes a string body that `readString` has fully validated; `decodedCount` is its exact decoded length.
    static func decodeEscapes(_ source: UnsafeBufferPointer<UInt8>, decodedCount: Int) -> String {
        String(unsafeUninitializedCapacity: decodedCount) { output in
            guard let input = source.baseAddress, let outputBase = output.baseAddress else { return 0 }
            let count = source.count
            var read = 0
            var written = 0
            while read < count {
                // Copy the run up to the next backslash in one go.
                let runEnd = nextBackslash(input, from: read, count: count)
                if runEnd > read {
                    (outputBase + written).update(from: input + read, count: runEnd - read)
                    written += runEnd - read
                    read = runEnd
                }
                guard read < count else { break }
                let kind = input[read + 1]
                read += 2
                switch kind {
                case UInt8(ascii: "b"): output[written] = 0x08
                case UInt8(ascii: "f"): output[written] = 0x0C
                case UInt8(ascii: "n"): output[written] = 0x0A
                case UInt8(ascii: "r"): output[written] = 0x0D
                case UInt8(ascii: "t"): output[written] = 0x09
                case UInt8(ascii: "u"):
                    var scalar = quad(source, read)
                    read += 4
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        let low = quad(source, read + 2)
                        read += 6
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    written += encode(scalar, into: output, at: written)
                    continue
                default: output[written] = kind  // '"', '\' and '/'
                }
                written += 1
            }
            return written
        }
    }

    /// The offset of the first backslash at or after `start`, or `count` when there is none.
    @inline(__always)
    private static func nextBackslash(_ input: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        var position = start
        while count - position >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(input + position).loadUnaligned(as: UInt64.self)) ^ (ones &* 0x5C)
            let found = (word &- ones) & ~word & (ones &* 0x80)
            if found != 0 { return position + found.trailingZeroBitCount >> 3 }
            position += 8
        }
        while position < count && input[position] != UInt8(ascii: "\\") { position += 1 }
        return position
    }

    @inline(__always)
    private static func quad(_ source: UnsafeBufferPointer<UInt8>, _ offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for position in offset..<offset + 4 {
            value = value << 4 | (hexValue(source[position]) ?? 0)
        }
        return value
    }

    @inline(__always)
    private static func encode(_ scalar: UInt32, into output: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        switch scalar {
        case 0..<0x80:
            output[offset] = UInt8(truncatingIfNeeded: scalar)
            return 1
        case 0x80..<0x800:
            output[offset] = UInt8(truncatingIfNeeded: 0xC0 | scalar >> 6)
            output[offset + 1] = UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F)
            return 2
        case 0x800..<0x10000:
            output[offset] = UInt8(truncatingIfNeeded: 0xE0 | scalar >> 12)
            output[offset + 1] = UInt8(truncatingIfNeeded: 0x80 | scalar >> 6 & 0x3F)
            output[offset + 2] = UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F)
            return 3
        default:
            output[offset] = UInt8(truncatingIfNeeded: 0xF0 | scalar >> 18)
            output[offset + 1] = UInt8(truncatingIfNeeded: 0x80 | scalar >> 12 & 0x3F)
            output[offset + 2] = UInt8(truncatingIfNeeded: 0x80 | scalar >> 6 & 0x3F)
            output[offset + 3] = UInt8(truncatingIfNeeded: 0x80 | scalar & 0x3F)
            return 4
        }
    }
}
