/// The forms `Reference.reference` may take in R4: a contained fragment (`#p1`), an absolute URL,
/// `urn:uuid:` / `urn:oid:`, a relative `[type]/[id]` with an optional `/_history/[version]`, and —
/// inside a transaction only — a conditional reference `[type]?[search parameters]`.
public enum ReferenceSyntax {
    public static func problem(_ reference: String, allowConditional: Bool, definitions: R4Definitions = .r4) -> String? {
        // The usual form, `Patient/123`, checked over the bytes without splitting into strings.
        var text = reference
        if let valid = text.withUTF8({ plainRelative($0, definitions) }) {
            return valid ? nil : malformedRelative(reference)
        }
        if reference.utf8.contains(where: PrimitiveFormat.isSpace) {
            return "The reference '\(reference)' contains white space"
        }
        if reference.utf8.first == UInt8(ascii: "#") { return nil }
        if reference.hasPrefix("urn:uuid:") {
            return PrimitiveFormat.isValid(reference, type: "uuid") ? nil : "The reference '\(reference)' is not a valid urn:uuid (a lower-case UUID)"
        }
        if reference.hasPrefix("urn:oid:") {
            return PrimitiveFormat.isValid(reference, type: "oid") ? nil : "The reference '\(reference)' is not a valid urn:oid"
        }
        if hasScheme(reference) { return nil }
        if reference.utf8.contains(UInt8(ascii: "?")), let question = reference.firstIndex(of: "?") {
            let type = String(reference[..<question])
            let query = reference[reference.index(after: question)...]
            let wellFormed =
                definitions.resourceType(type) != nil && !query.isEmpty
                && query.split(separator: "&", omittingEmptySubsequences: false).allSatisfy { (parameter: Substring) -> Bool in
                    guard let equals = parameter.firstIndex(of: "=") else { return false }
                    let name: Substring = parameter[parameter.startIndex..<equals]
                    return !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || "-_.:".contains($0) }
                }
            if !wellFormed {
                return
                    "The reference '\(reference)' is malformed: relative URLs must be of the format [ResourceType]/[id], or a search URL is allowed ([type]?parameters)"
            }
            if !allowConditional {
                return "The conditional reference '\(reference)' is only allowed inside a transaction Bundle"
            }
            return nil
        }
        let parts = reference.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let valid: Bool =
            switch parts.count {
            case 2: isType(parts[0], definitions) && isID(parts[1])
            case 4: isType(parts[0], definitions) && isID(parts[1]) && parts[2].elementsEqual("_history".utf8) && isID(parts[3])
            default: false
            }
        return valid ? nil : malformedRelative(reference)
    }

    static func malformedRelative(_ reference: String) -> String {
        "The reference '\(reference)' is malformed: relative URLs must be of the format [ResourceType]/[id] (optionally /_history/[version]), a contained '#id', or an absolute URL"
    }

    /// Whether a reference made only of letters, digits, '-', '.', '_' and '/' (no scheme, query,
    /// fragment or white space) is a valid `[type]/[id]` or `[type]/[id]/_history/[version]`; nil
    /// when it holds any other byte, for the general checks.
    static func plainRelative(_ utf8: UnsafeBufferPointer<UInt8>, _ definitions: R4Definitions) -> Bool? {
        // Where the first three slashes are; a fourth makes the reference malformed.
        var slashes = (0, 0, 0)
        var count = 0
        for offset in utf8.indices {
            let byte = utf8[offset]
            if byte == UInt8(ascii: "/") {
                switch count {
                case 0: slashes.0 = offset
                case 1: slashes.1 = offset
                case 2: slashes.2 = offset
                default: return false
                }
                count += 1
            } else if !(PrimitiveFormat.isAlnum(byte) || byte == 0x2D || byte == 0x2E || byte == 0x5F) {
                return nil
            }
        }
        guard count == 1 || count == 3 else { return false }
        func isID(_ range: Range<Int>) -> Bool {
            range.count >= 1 && range.count <= 64 && utf8[range].allSatisfy { PrimitiveFormat.isAlnum($0) || $0 == 0x2D || $0 == 0x2E }
        }
        let typeName = String(decoding: utf8[0..<slashes.0], as: UTF8.self)
        guard definitions.resourceType(typeName) != nil else { return false }
        guard count == 3 else { return isID((slashes.0 + 1)..<utf8.count) }
        return isID((slashes.0 + 1)..<slashes.1) && utf8[(slashes.1 + 1)..<slashes.2].elementsEqual("_history".utf8)
            && isID((slashes.2 + 1)..<utf8.count)
    }

    static func hasScheme(_ reference: String) -> Bool {
        var sawLetter = false
        for byte in reference.utf8 {
            if byte == UInt8(ascii: ":") { return sawLetter }
            let letter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            if !sawLetter {
                guard letter else { return false }
                sawLetter = true
            } else if !(letter || PrimitiveFormat.isDigit(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "."))
            {
                return false
            }
        }
        return false
    }

    static func isType(_ text: Substring.UTF8View, _ definitions: R4Definitions) -> Bool {
        definitions.resourceType(String(Substring(text))) != nil
    }

    /// `[A-Za-z0-9\-\.]{1,64}`, the id format.
    static func isID(_ text: Substring.UTF8View) -> Bool {
        text.count >= 1 && text.count <= 64 && text.allSatisfy { PrimitiveFormat.isAlnum($0) || $0 == 0x2D || $0 == 0x2E }
    }
}
