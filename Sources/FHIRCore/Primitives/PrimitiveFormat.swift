/// Checks a primitive value against its R4 type. Each check is written out by hand to match the
/// type's regular expression in the R4 schema (a test holds them against those expressions), because
/// a regex engine per value would cost more than the whole rest of validation. Where the schema's
/// expression is known to be wrong (`^true|false$` and `^[0]|([1-9][0-9]*)$` bind their
/// alternation wrongly), the check follows the specification's prose; integers are also held to the
/// 32-bit range the specification gives, and dates to real calendar days.
public enum PrimitiveFormat {
    /// Why `value` is not a valid `type`, or nil when it is.
    public static func problem(_ value: String, kind: PrimitiveKind) -> String? {
        isValid(value, kind: kind) ? nil : problem(value, type: kind.rawValue)
    }

    public static func isValid(_ value: String, type: String) -> Bool {
        guard let kind = PrimitiveKind(rawValue: type) else { return true }
        return isValid(value, kind: kind)
    }

    /// Why `value` is not a valid `type`, or nil when it is.
    public static func problem(_ value: String, type: String) -> String? {
        if isValid(value, type: type) { return nil }
        switch type {
        case "integer": return "The value '\(value)' is not a valid integer (a whole number from -2147483648 to 2147483647)"
        case "unsignedInt": return "The value '\(value)' is not a valid unsignedInt (a whole number from 0 to 2147483647)"
        case "positiveInt": return "The value '\(value)' is not a valid positiveInt (a whole number from 1 to 2147483647)"
        case "decimal": return "The value '\(value)' is not a valid decimal"
        case "boolean": return "The value '\(value)' is not a valid boolean (true or false)"
        case "date": return "The value '\(value)' is not a valid date (YYYY, YYYY-MM or YYYY-MM-DD, a real calendar day)"
        case "dateTime":
            return "The value '\(value)' is not a valid dateTime (a date, or YYYY-MM-DDThh:mm:ss with an optional fraction and a required time zone)"
        case "instant": return "The value '\(value)' is not a valid instant (YYYY-MM-DDThh:mm:ss with an optional fraction and a time zone)"
        case "time": return "The value '\(value)' is not a valid time (hh:mm:ss with an optional fraction)"
        case "id": return "The value '\(value)' is not a valid id (1 to 64 letters, digits, '-' and '.')"
        case "code": return "The value '\(value)' is not a valid code (no leading, trailing or repeated white space, no control characters)"
        case "oid": return "The value '\(value)' is not a valid oid (urn:oid: followed by a dotted number)"
        case "uuid": return "The value '\(value)' is not a valid uuid (urn:uuid: followed by a lower-case UUID)"
        case "uri", "url", "canonical": return "The value '\(value)' is not a valid \(type): it must not contain white space or control characters"
        case "base64Binary": return "The value is not valid base64"
        case "string", "markdown":
            return "The \(type) contains a control character; only tab, carriage return and line feed are allowed"
        default: return "The value '\(value)' is not a valid \(type)"
        }
    }

    public static func isValid(_ value: String, kind: PrimitiveKind) -> Bool {
        if let valid = value.utf8.withContiguousStorageIfAvailable({ isValid(value, utf8: $0, kind: kind) }) { return valid }
        var text = value
        return text.withUTF8 { isValid(value, utf8: $0, kind: kind) }
    }

    /// The check over the value's UTF-8, contiguous: iterating `UnsafeBufferPointer<UInt8>` byte by byte
    /// costs several times more.
    static func isValid(_ value: String, utf8: UnsafeBufferPointer<UInt8>, kind: PrimitiveKind) -> Bool {
        switch kind {
        case .boolean: return value == "true" || value == "false"
        case .integer: return integer(utf8, allowNegative: true, allowZero: true)
        case .unsignedInt: return integer(utf8, allowNegative: false, allowZero: true)
        case .positiveInt: return integer(utf8, allowNegative: false, allowZero: false)
        case .decimal: return decimal(utf8)
        case .string, .markdown: return !utf8.isEmpty && utf8.allSatisfy { $0 >= 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        case .code: return code(utf8)
        case .id: return utf8.count >= 1 && utf8.count <= 64 && utf8.allSatisfy { isAlnum($0) || $0 == 0x2D || $0 == 0x2E }
        case .uri, .url, .canonical: return utf8.allSatisfy { !isSpace($0) && !isControl($0) }
        case .oid: return oid(utf8)
        case .uuid: return uuid(utf8)
        case .base64Binary: return base64(utf8)
        case .date: return FHIRTemporal.date(value) != nil
        case .dateTime: return FHIRTemporal.dateTime(value) != nil
        case .instant: return FHIRTemporal.instant(value) != nil
        case .time: return FHIRTemporal.time(value) != nil
        case .xhtml: return true
        }
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    @inline(__always) static func isAlnum(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }
    /// The ASCII white space of `\s`; non-ASCII bytes are never white space here.
    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
    /// A character below U+0020 that no FHIR primitive allows, as for strings (tab, line feed and
    /// carriage return are white space, which each type's own rule decides).
    @inline(__always) static func isControl(_ b: UInt8) -> Bool { b < 0x20 && b != 0x09 && b != 0x0A && b != 0x0D }

    static func integer(_ utf8: UnsafeBufferPointer<UInt8>, allowNegative: Bool, allowZero: Bool) -> Bool {
        var bytes = utf8[...]
        var negative = false
        if bytes.first == UInt8(ascii: "-") {
            guard allowNegative else { return false }
            negative = true
            bytes = bytes.dropFirst()
        }
        guard let first = bytes.first, isDigit(first), bytes.count <= 10 else { return false }
        if first == UInt8(ascii: "0") { return bytes.count == 1 && allowZero }
        var magnitude: Int64 = 0
        for b in bytes {
            guard isDigit(b) else { return false }
            magnitude = magnitude * 10 + Int64(b - 0x30)
        }
        return negative ? magnitude <= 2_147_483_648 : magnitude <= 2_147_483_647
    }

    static func decimal(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        var it = utf8.makeIterator()
        var c = it.next()
        if c == UInt8(ascii: "-") { c = it.next() }
        guard let first = c, isDigit(first) else { return false }
        c = it.next()
        if first != UInt8(ascii: "0") {
            while let d = c, isDigit(d) { c = it.next() }
        }
        if c == UInt8(ascii: ".") {
            c = it.next()
            guard let d = c, isDigit(d) else { return false }
            while let d = c, isDigit(d) { c = it.next() }
        }
        if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            c = it.next()
            if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { c = it.next() }
            guard let d = c, isDigit(d) else { return false }
            while let d = c, isDigit(d) { c = it.next() }
        }
        return c == nil
    }

    static func code(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = utf8.first, let last = utf8.last, !isSpace(first), !isSpace(last) else { return false }
        var previousSpace = false
        for b in utf8 {
            if isControl(b) { return false }
            let space = isSpace(b)
            if space && previousSpace { return false }
            previousSpace = space
        }
        return true
    }

    static func oid(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        let prefix = "urn:oid:".utf8
        guard utf8.starts(with: prefix) else { return false }
        let rest = Array(utf8.dropFirst(prefix.count))
        guard rest.count >= 3, rest[0] >= 0x30, rest[0] <= 0x32 else { return false }
        var i = 1
        var arcs = 0
        while i < rest.count {
            guard rest[i] == UInt8(ascii: "."), i + 1 < rest.count, isDigit(rest[i + 1]) else { return false }
            let start = i + 1
            i = start
            while i < rest.count, isDigit(rest[i]) { i += 1 }
            if rest[start] == UInt8(ascii: "0"), i - start > 1 { return false }
            arcs += 1
        }
        return arcs >= 1
    }

    static func uuid(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        let prefix = "urn:uuid:".utf8
        guard utf8.starts(with: prefix) else { return false }
        let rest = Array(utf8.dropFirst(prefix.count))
        guard rest.count == 36 else { return false }
        for (i, b) in rest.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard b == UInt8(ascii: "-") else { return false }
            } else {
                guard isDigit(b) || (b >= 0x61 && b <= 0x66) else { return false }
            }
        }
        return true
    }

    static func base64(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        var count = 0
        for b in utf8 {
            if isSpace(b) {
                guard count % 4 == 0 else { return false }
                continue
            }
            guard isAlnum(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: "/") || b == UInt8(ascii: "=") else { return false }
            count += 1
        }
        return count > 0 && count % 4 == 0
    }
}

/// The R4 primitive types.
public enum PrimitiveKind: String, Sendable, Hashable, CaseIterable {
    case boolean, integer, unsignedInt, positiveInt, decimal, string, markdown, code, id, uri, url, canonical
    case oid, uuid, base64Binary, date, dateTime, instant, time, xhtml
}
