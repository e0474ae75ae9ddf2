/// The forms `Reference.reference` may take in R4: a contained fragment (`#p1`), an absolute URL,
/// `urn:uuid:` / `urn:oid:`, a relative `[type]/[id]` with an optional `/_history/[version]`, and —
/// inside a transaction only — a conditional reference `[type]?[search parameters]`.
public enum ReferenceSyntax {
    public static func problem(_ reference: String, allowConditional: Bool, definitions: R4Definitions = .r4) -> String? {
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
        return valid
            ? nil
            : "The reference '\(reference)' is malformed: relative URLs must be of the format [ResourceType]/[id] (optionally /_history/[version]), a contained '#id', or an absolute URL"
    }

    /// `http:`, `https:`, `urn:` …: an RFC 3986 scheme followed by ':'.
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
