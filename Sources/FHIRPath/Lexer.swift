/// One token of a FHIRPath expression, with its UTF-8 offset for error messages.
struct Token: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// A plain identifier; keywords (`and`, `is`, `true`, …) are identifiers too and the parser
        /// tells them apart by position.
        case identifier(String)
        /// A back-quoted identifier: never a keyword.
        case delimitedIdentifier(String)
        case string(String)
        /// Integer or decimal text as written (`1`, `0.010`).
        case number(String)
        /// A date, date-time or time literal without its `@` (`2015-02-04`, `T14:34`).
        case temporal(String)
        /// `%name`, `%\`name\`` or `%'name'`, without the `%`.
        case externalConstant(String)
        /// `$this`, `$index`, `$total`, without the `$`.
        case special(String)
        case symbol(String)
        case end
    }

    let kind: Kind
    let offset: Int
}

/// Splits an expression into tokens, skipping white space and comments.
struct Lexer {
    private let bytes: [UInt8]
    private let text: String
    private var i = 0

    init(_ text: String) {
        self.text = text
        self.bytes = Array(text.utf8)
    }

    static func tokens(_ text: String) throws(FHIRPathError) -> [Token] {
        var lexer = Lexer(text)
        var tokens: [Token] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private func error(_ message: String, at offset: Int) -> FHIRPathError {
        FHIRPathError(.syntax, message, at: offset, in: text)
    }

    private func peek(_ ahead: Int = 0) -> UInt8? { i + ahead < bytes.count ? bytes[i + ahead] : nil }

    private static func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private mutating func skipSpaceAndComments() throws(FHIRPathError) {
        while let b = peek() {
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C {
                i += 1
            } else if b == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "/") {
                while let c = peek(), c != 0x0A { i += 1 }
            } else if b == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") {
                let start = i
                i += 2
                while true {
                    guard let c = peek() else { throw error("The comment is not closed with */", at: start) }
                    if c == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") {
                        i += 2
                        break
                    }
                    i += 1
                }
            } else {
                return
            }
        }
    }

    mutating func next() throws(FHIRPathError) -> Token {
        try skipSpaceAndComments()
        let start = i
        guard let b = peek() else { return Token(kind: .end, offset: i) }
        if Self.isLetter(b) {
            return Token(kind: .identifier(identifier()), offset: start)
        }
        if Self.isDigit(b) {
            while let c = peek(), Self.isDigit(c) { i += 1 }
            if peek() == UInt8(ascii: "."), let c = peek(1), Self.isDigit(c) {
                i += 1
                while let c = peek(), Self.isDigit(c) { i += 1 }
            }
            return Token(kind: .number(String(decoding: bytes[start..<i], as: UTF8.self)), offset: start)
        }
        switch b {
        case UInt8(ascii: "'"):
            return Token(kind: .string(try quoted(UInt8(ascii: "'"))), offset: start)
        case UInt8(ascii: "`"):
            return Token(kind: .delimitedIdentifier(try quoted(UInt8(ascii: "`"))), offset: start)
        case UInt8(ascii: "@"):
            i += 1
            return Token(kind: .temporal(try temporal(start: start)), offset: start)
        case UInt8(ascii: "%"):
            i += 1
            guard let c = peek() else { throw error("'%' must be followed by a name", at: start) }
            if c == UInt8(ascii: "`") { return Token(kind: .externalConstant(try quoted(c)), offset: start) }
            if c == UInt8(ascii: "'") { return Token(kind: .externalConstant(try quoted(c)), offset: start) }
            guard Self.isLetter(c) else { throw error("'%' must be followed by a name", at: start) }
            return Token(kind: .externalConstant(identifier()), offset: start)
        case UInt8(ascii: "$"):
            i += 1
            guard let c = peek(), Self.isLetter(c) else { throw error("'$' must be followed by this, index or total", at: start) }
            let name = identifier()
            guard name == "this" || name == "index" || name == "total" else {
                throw error("Unknown special variable $\(name): only $this, $index and $total exist", at: start)
            }
            return Token(kind: .special(name), offset: start)
        default:
            break
        }
        let two: String? = i + 1 < bytes.count ? String(decoding: bytes[i..<(i + 2)], as: UTF8.self) : nil
        if let two, ["<=", ">=", "!=", "!~"].contains(two) {
            i += 2
            return Token(kind: .symbol(two), offset: start)
        }
        let single = Character(Unicode.Scalar(b))
        if "()[]{}.,+-*/&|=~<>".contains(single) {
            i += 1
            return Token(kind: .symbol(String(single)), offset: start)
        }
        throw error("Unexpected character '\(String(decoding: bytes[start..<min(start + 1, bytes.count)], as: UTF8.self))'", at: start)
    }

    private mutating func identifier() -> String {
        let start = i
        while let c = peek(), Self.isLetter(c) || Self.isDigit(c) { i += 1 }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    /// A string or delimited identifier, with its escapes resolved.
    private mutating func quoted(_ quote: UInt8) throws(FHIRPathError) -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek() else {
                throw error(quote == UInt8(ascii: "'") ? "The string is not closed with '" : "The identifier is not closed with `", at: start)
            }
            i += 1
            if c == quote { break }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                continue
            }
            guard let e = peek() else { throw error("The string ends in the middle of an escape", at: start) }
            i += 1
            switch e {
            case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "`"), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard i + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16),
                    let scalar = Unicode.Scalar(code)
                else { throw error("\\u must be followed by four hexadecimal digits", at: i - 2) }
                i += 4
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw error("Unknown escape \\\(Character(Unicode.Scalar(e)))", at: i - 2)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The text of a date/time literal after `@`: `YYYY[-MM[-DD]][T[hh[:mm[:ss[.fff]]]][zone]]` or
    /// `Thh[:mm[:ss[.fff]]]`; checked for shape here, for values by `FHIRPathTemporal`.
    private mutating func temporal(start: Int) throws(FHIRPathError) -> String {
        let begin = i
        func digits(_ count: Int) -> Bool {
            guard i + count <= bytes.count else { return false }
            for k in i..<(i + count) where !Self.isDigit(bytes[k]) { return false }
            i += count
            return true
        }
        func time() {
            guard digits(2) else { return }
            guard peek() == UInt8(ascii: ":"), i + 3 <= bytes.count, Self.isDigit(bytes[i + 1]) else { return }
            i += 1
            _ = digits(2)
            guard peek() == UInt8(ascii: ":"), i + 3 <= bytes.count, Self.isDigit(bytes[i + 1]) else { return }
            i += 1
            _ = digits(2)
            if peek() == UInt8(ascii: "."), let d = peek(1), Self.isDigit(d) {
                i += 1
                while let c = peek(), Self.isDigit(c) { i += 1 }
            }
        }
        if peek() == UInt8(ascii: "T") {
            i += 1
            time()
            if i == begin + 1 { throw error("A time literal needs at least an hour: @Thh", at: start) }
            return String(decoding: bytes[begin..<i], as: UTF8.self)
        }
        guard digits(4) else { throw error("A date literal starts with a four-digit year: @YYYY", at: start) }
        if peek() == UInt8(ascii: "-"), digits2After(1) {
            i += 1
            _ = digits(2)
            if peek() == UInt8(ascii: "-"), digits2After(1) {
                i += 1
                _ = digits(2)
            }
        }
        if peek() == UInt8(ascii: "T") {
            i += 1
            time()
            if peek() == UInt8(ascii: "Z") {
                i += 1
            } else if let c = peek(), c == UInt8(ascii: "+") || c == UInt8(ascii: "-"), digits2After(1), peek(3) == UInt8(ascii: ":") {
                i += 1
                _ = digits(2)
                i += 1
                guard digits(2) else { throw error("A time zone is written ±hh:mm", at: start) }
            }
        }
        return String(decoding: bytes[begin..<i], as: UTF8.self)
    }

    private func digits2After(_ ahead: Int) -> Bool {
        guard let a = peek(ahead), let b = peek(ahead + 1) else { return false }
        return Self.isDigit(a) && Self.isDigit(b)
    }
}
