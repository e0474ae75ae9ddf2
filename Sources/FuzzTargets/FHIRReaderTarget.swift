import FHIRCore
import SafeXML

/// `FHIRReader` with validation, on JSON or XML. Reading must never trap, whatever the input; a
/// resource that reads without errors must write (in its own format) and re-read without errors to
/// the same tree, and must go through the other format to the same tree up to the narrative's XHTML
/// text, whose XML tree must be the same (FHIR XML carries the narrative as XML, so its text comes
/// back canonical: `&quot;` as `"`, attributes re-quoted).
enum FHIRReaderTarget {
    static let reader = FHIRReader()

    static func check(_ bytes: [UInt8], format: FHIRFormat) throws(FuzzInvariantViolation) {
        let target: FuzzTarget = format == .json ? .fhirJSON : .fhirXML
        let result = reader.read(bytes, format: format, validate: true)
        guard result.isValid, let resource = result.resource else { return }

        let sameFormat = write(resource, format)
        let again = reader.read(sameFormat, format: format, validate: true)
        try invariant(again.isValid, target, "the written resource does not re-read without errors: \(diagnostics(again))")
        try invariant(again.resource == resource, target, "the re-read resource differs from the one read")

        let other: FHIRFormat = format == .json ? .xml : .json
        let crossed = reader.read(write(resource, other), format: other, validate: true)
        guard crossed.isValid, let crossedResource = crossed.resource else {
            try invariant(false, target, "the resource written as \(other) does not read without errors: \(diagnostics(crossed))")
            return
        }
        try invariant(sameResource(crossedResource, resource), target, "the resource read back from \(other) differs from the one read")
    }

    /// Tree equality, with narrative `div`s compared as XHTML trees rather than as text.
    static func sameResource(_ lhs: FHIRNode, _ rhs: FHIRNode) -> Bool {
        guard lhs.name == rhs.name, lhs.type === rhs.type, lhs.children.count == rhs.children.count else { return false }
        if lhs.type.name == "xhtml", let left = lhs.value, let right = rhs.value, left != right {
            let parser = XMLFragmentParser()
            guard let a = try? parser.parse(left), let b = try? parser.parse(right) else { return false }
            guard XMLTreeComparison.same(a, b) else { return false }
        } else if lhs.value != rhs.value {
            return false
        }
        return zip(lhs.children, rhs.children).allSatisfy { sameResource($0, $1) }
    }

    static func write(_ resource: FHIRNode, _ format: FHIRFormat) -> [UInt8] {
        format == .json ? FHIRJSONWriter().write(resource) : FHIRXMLWriter().write(resource)
    }

    static func diagnostics(_ result: FHIRReadResult) -> String {
        result.issues.filter(\.isError).map(\.diagnostics).joined(separator: "; ")
    }
}
