/// The forms `Reference.reference` may take in R4: a contained fragment (`#p1`), an absolute URL,
/// `urn:uuid:` / `urn:oid:`, a relative `[type]/[id]` with an optional `/_history/[version]`, and —
/// inside a transaction only — a conditional reference `[type]?[search parameters]`.
public enum ReferenceSyntax {
    public static func problem(_ reference: String, allowConditional: Bool, definitions: R4Definitions = .r4) -> String? {
        if reference.utf8.contains(where: PrimitiveFormat.isSpace) {
            return "The reference '\(reference)' contains white space"
        }
        if reference.hasPrefix("#") { return nil }
        if reference.hasPrefix("urn:uuid:") {
            return PrimitiveFormat.isValid(reference, type: "uuid") ? nil : "The reference '\(reference)' is not a valid urn:uuid (a lower-case UUID)"
        }
        if reference.hasPrefix("urn:oid:") {
            return PrimitiveFormat.isValid(reference, type: "oid") ? nil : "The reference '\(reference)' is not a valid urn:oid"
        }
        if hasScheme(reference) { return nil }
        if let question = reference.firstIndex(of: "?") {
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
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
        let valid: Bool =
            switch parts.count {
            case 2: isType(parts[0], definitions) && isID(parts[1])
            case 4: isType(parts[0], definitions) && isID(parts[1]) && parts[2] == "_history" && isID(parts[3])
            default: false
            }
        return valid
            ? nil
            : "The reference '\(reference)' is malformed: relative URLs must be of the format [ResourceType]/[id] (optionally /_history/[version]), a contained '#id', or an absolute URL"
    }

    /// `http:`, `https:`, `urn:` …: an RFC 3986 scheme followed by ':'.
    static func hasScheme(_ reference: String) -> Bool {
        guard let colon = reference.firstIndex(of: ":"), colon != reference.startIndex else { return false }
        let scheme = reference[..<colon]
        guard let first = scheme.first, first.isASCII, first.isLetter else { return false }
        return scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
    }

    static func isType(_ text: Substring, _ definitions: R4Definitions) -> Bool {
        definitions.resourceType(String(text)) != nil
    }

    static func isID(_ text: Substring) -> Bool { PrimitiveFormat.isValid(String(text), type: "id") }
}
