/// The two FHIR formats the gateway reads and writes.
public enum FHIRFormat: String, Sendable, Hashable, CaseIterable {
    case json, xml

    /// The format of a document from its first significant byte: `{` (or `[`, which FHIR then
    /// refuses with a clearer message) is JSON, `<` is XML.
    public static func detect(_ bytes: some Collection<UInt8>) -> FHIRFormat? {
        var rest = bytes[...]
        if rest.starts(with: [0xEF, 0xBB, 0xBF]) { rest = rest.dropFirst(3) }
        for byte in rest {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): return .json
            case UInt8(ascii: "<"): return .xml
            default: return nil
            }
        }
        return nil
    }

    /// The media type FHIR R4 gives the format.
    public var mediaType: String {
        switch self {
        case .json: "application/fhir+json"
        case .xml: "application/fhir+xml"
        }
    }
}
