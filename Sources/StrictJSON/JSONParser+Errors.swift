/// Building errors: kept out of line so the reading paths stay small.
extension JSONParser {
    /// An error at byte `offset`, which must be on the current line (true for every caller: line feeds only occur in
    /// whitespace, and the whitespace skipper keeps `line` and `lineStart` up to date).
    @inline(never)
    func error(_ kind: JSONSyntaxError.Kind, _ message: String, at offset: Int) -> JSONSyntaxError {
        JSONSyntaxError(
            kind: kind,
            message: message,
            line: Int32(clamping: line),
            column: Int32(clamping: offset - lineStart + 1)
        )
    }

    /// A `.unexpectedCharacter` error at `offset` ("<expectation> but found <what>"), or `.invalidUTF8` when the byte
    /// there starts an ill-formed UTF-8 sequence.
    @inline(never)
    func unexpected(_ expectation: String, at offset: Int, hint: String = "") -> JSONSyntaxError {
        if let invalid = invalidUTF8(at: offset) { return invalid }
        return error(.unexpectedCharacter, "\(expectation) but found \(describeByte(at: offset))\(hint)", at: offset)
    }

    /// The `.invalidUTF8` error for `offset` when the byte there starts an ill-formed UTF-8 sequence.
    func invalidUTF8(at offset: Int) -> JSONSyntaxError? {
        guard offset < end, base[offset] >= 0x80, UTF8Validation.sequenceLength(base, at: offset, end: end) == 0 else { return nil }
        return error(.invalidUTF8, UTF8Validation.problem(base, at: offset, end: end), at: offset)
    }

    @inline(never)
    func trailingContentError() -> JSONSyntaxError {
        invalidUTF8(at: index) ?? error(.trailingContent, "Unexpected \(describeByte(at: index)) after the end of the JSON value", at: index)
    }

    @inline(never)
    func arrayLimitError() -> JSONSyntaxError {
        error(.limitExceeded, "An array with more than \(limits.maxArrayCount) elements (maxArrayCount)", at: index)
    }

    /// The error for a byte that cannot start a value.
    @inline(never)
    func unexpectedValueStart() -> JSONSyntaxError {
        let byte = base[index]
        switch byte {
        case UInt8(ascii: "+"):
            return error(.invalidNumber, "The number '\(numberToken(from: index))' is not valid JSON: a number must not start with '+'", at: index)
        case UInt8(ascii: "."):
            return error(
                .invalidNumber,
                "The number '\(numberToken(from: index))' is not valid JSON: a number must start with a digit, not a decimal point",
                at: index
            )
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            return error(.invalidNumber, "'\(numberToken(from: index))' is not valid JSON: NaN and Infinity are not allowed", at: index)
        case UInt8(ascii: "]"), UInt8(ascii: "}"):
            return unexpected("Expected a value", at: index, hint: " (a trailing comma is not allowed)")
        case UInt8(ascii: "'"):
            return unexpected("Expected a value", at: index, hint: " (strings need double quotes)")
        default:
            return unexpected("Expected a value", at: index)
        }
    }

    /// The byte (or character) at `offset` in words, e.g. `'x'`, `the control character U+0007`, `'é' (U+00E9)`.
    /// For invalid UTF-8 it names the byte.
    func describeByte(at offset: Int) -> String {
        guard offset < end else { return "the end of the document" }
        let byte = base[offset]
        switch byte {
        case 0x21...0x7E:
            return "'\(Character(Unicode.Scalar(byte)))'"
        case 0x20:
            return "a space"
        case 0x00..<0x20, 0x7F:
            return "the control character U+00\(UTF8Validation.hexByte(byte))"
        default:
            let length = UTF8Validation.sequenceLength(base, at: offset, end: end)
            guard length > 0 else { return "the invalid UTF-8 byte 0x\(UTF8Validation.hexByte(byte))" }
            let text = String(decoding: UnsafeBufferPointer(start: base + offset, count: length), as: UTF8.self)
            let scalar = text.unicodeScalars.first?.value ?? 0
            var hex = String(scalar, radix: 16, uppercase: true)
            while hex.count < 4 { hex = "0" + hex }
            return "'\(text)' (U+\(hex))"
        }
    }

    /// The run of number-like bytes (digits, letters, '.', '+', '-', '_') starting at `offset`, for messages; at most
    /// 40 bytes, then "…".
    func numberToken(from offset: Int) -> String {
        var stop = offset
        while stop < end && Self.isNumberTokenByte(base[stop]) {
            if stop - offset == 40 {
                return String(decoding: UnsafeBufferPointer(start: base + offset, count: 40), as: UTF8.self) + "…"
            }
            stop += 1
        }
        return String(decoding: UnsafeBufferPointer(start: base + offset, count: stop - offset), as: UTF8.self)
    }

    static func isNumberTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }
}
