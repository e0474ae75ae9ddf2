/// Numbers: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, kept as their exact source text.
extension JSONParser {
    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    /// Reads the number at `index` and returns its source text. Errors point at the number's first byte.
    mutating func readNumber() throws(JSONSyntaxError) -> String {
        let start = index
        var cursor = index
        if base[cursor] == UInt8(ascii: "-") {
            cursor += 1
            guard cursor < end, Self.isDigit(base[cursor]) else {
                if cursor < end && (base[cursor] == UInt8(ascii: "I") || base[cursor] == UInt8(ascii: "N")) {
                    throw numberError(start, "NaN and Infinity are not allowed")
                }
                throw numberError(start, "a minus sign must be followed by digits")
            }
        }
        if base[cursor] == UInt8(ascii: "0") {
            cursor += 1
            if cursor < end && Self.isDigit(base[cursor]) {
                throw numberError(start, "leading zeros are not allowed")
            }
        } else {
            cursor += 1
            while cursor < end && Self.isDigit(base[cursor]) { cursor += 1 }
        }
        if cursor < end && base[cursor] == UInt8(ascii: ".") {
            cursor += 1
            guard cursor < end, Self.isDigit(base[cursor]) else {
                throw numberError(start, "a decimal point must be followed by digits")
            }
            cursor += 1
            while cursor < end && Self.isDigit(base[cursor]) { cursor += 1 }
        }
        if cursor < end && base[cursor] | 0x20 == UInt8(ascii: "e") {
            cursor += 1
            if cursor < end && (base[cursor] == UInt8(ascii: "+") || base[cursor] == UInt8(ascii: "-")) {
                cursor += 1
            }
            guard cursor < end, Self.isDigit(base[cursor]) else {
                throw numberError(start, "an exponent must have digits")
            }
            cursor += 1
            while cursor < end && Self.isDigit(base[cursor]) { cursor += 1 }
        }
        // A letter, '.', '+', '-' or '_' right after the number means a malformed number such as 1.5.3 or 0x1F.
        if cursor < end && Self.isNumberTokenByte(base[cursor]) {
            throw numberContinuationError(start, cursor)
        }
        index = cursor
        return Self.makeString(UnsafeBufferPointer(start: base + start, count: cursor - start))
    }

    @inline(never)
    func numberError(_ start: Int, _ reason: String) -> JSONSyntaxError {
        error(.invalidNumber, "The number '\(numberToken(from: start))' is not valid JSON: \(reason)", at: start)
    }

    @inline(never)
    func numberContinuationError(_ start: Int, _ cursor: Int) -> JSONSyntaxError {
        let byte = base[cursor]
        let afterZero = base[cursor - 1] == UInt8(ascii: "0") && cursor - start == (base[start] == UInt8(ascii: "-") ? 2 : 1)
        if afterZero && (byte == UInt8(ascii: "x") || byte == UInt8(ascii: "X")) {
            return numberError(start, "hexadecimal numbers are not allowed")
        }
        return numberError(start, "\(describeByte(at: cursor)) cannot follow '\(numberText(start, cursor))'")
    }

    private func numberText(_ start: Int, _ stop: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: stop - start), as: UTF8.self)
    }
}
