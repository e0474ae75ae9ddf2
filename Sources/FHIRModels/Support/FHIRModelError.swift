/// Why a tree could not become a typed model. The readers and the validator catch these problems
/// first, so this is seen only for trees built by hand or not validated.
public struct FHIRModelError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    static func unknownElement(_ name: String, in type: String) -> FHIRModelError {
        FHIRModelError(description: "Unknown element '\(name)' in \(type)")
    }

    static func missing(_ name: String, in type: String) -> FHIRModelError {
        FHIRModelError(description: "\(type).\(name) is required but missing")
    }

    static func invalidValue(_ text: String?, type: String) -> FHIRModelError {
        FHIRModelError(description: "'\(text ?? "")' is not a valid \(type)")
    }

    static func wrongResource(_ found: String, expected: String) -> FHIRModelError {
        FHIRModelError(description: "Expected a \(expected) resource, found \(found)")
    }
}
