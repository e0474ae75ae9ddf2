import FHIRCore

/// The fuzz targets, by the name `make fuzz`, the executables in Fuzz/ and the folders of
/// `Tests/Fixtures/fuzz-regressions/` use. `run` reads one input and traps (a precondition
/// failure naming the target and the broken invariant) when an invariant does not hold; an input
/// that is merely refused (a syntax error, a limit) passes.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `JSONReader`: a document that reads writes and re-reads to the same value.
    case strictJSON = "strict-json"
    /// `XMLDocumentReader`: a document that reads serialises and re-reads to the same tree.
    case xmlDocument = "xml-document"
    /// `XMLFragmentParser` (the narrative XHTML of FHIR JSON): what it accepts, libxml2 reads to
    /// the same tree, and it serialises and re-parses to that tree.
    case narrativeXHTML = "narrative-xhtml"
    /// `FHIRReader` on JSON with validation: a valid resource writes and re-reads to the same tree,
    /// in JSON and through XML.
    case fhirJSON = "fhir-json"
    /// `FHIRReader` on XML with validation: the same invariants from the XML side.
    case fhirXML = "fhir-xml"
    /// `GzipBody.inflate`: never more than the cap, and the cap is exact.
    case gzip = "gzip"
    /// `FHIRPathExpression.init` and evaluation against a fixed Observation: no trap.
    case fhirPath = "fhirpath"

    /// Checks one input; traps when an invariant is broken (what the libFuzzer executables call).
    public func run(_ bytes: [UInt8]) {
        if let violation = violation(bytes) {
            // fatalError, not preconditionFailure: its message survives -O, so the crash report says what broke.
            fatalError(violation.description)
        }
    }

    /// Builds what the checks share (the R4 definitions, the reader, the fixed Observation) before
    /// fuzzing starts, so that the first input is not charged with it (under the sanitizer, on a
    /// busy machine, that took longer than libFuzzer's timeout).
    public func prepare() {
        _ = violation(Array(#"{"resourceType":"Basic","code":{"text":"x"}}"#.utf8))
        _ = violation(Array(#"<Basic xmlns="http://hl7.org/fhir"><code><text value="x"/></code></Basic>"#.utf8))
        _ = violation(Array("code.text".utf8))
    }

    /// Checks one input; the broken invariant, or nil when all hold (what the regression tests call).
    public func violation(_ bytes: [UInt8]) -> FuzzInvariantViolation? {
        do throws(FuzzInvariantViolation) {
            switch self {
            case .strictJSON: try StrictJSONTarget.check(bytes)
            case .xmlDocument: try XMLDocumentTarget.check(bytes)
            case .narrativeXHTML: try NarrativeXHTMLTarget.check(bytes)
            case .fhirJSON: try FHIRReaderTarget.check(bytes, format: .json)
            case .fhirXML: try FHIRReaderTarget.check(bytes, format: .xml)
            case .gzip: try GzipTarget.check(bytes)
            case .fhirPath: try FHIRPathTarget.check(bytes)
            }
            return nil
        } catch {
            return error
        }
    }
}

/// An invariant a fuzz target checks that does not hold for an input: the target and what broke.
public struct FuzzInvariantViolation: Error, Equatable, CustomStringConvertible {
    public let target: FuzzTarget
    public let message: String

    public var description: String { "fuzz invariant broken [\(target.rawValue)]: \(message)" }
}

/// Throws the target's violation when `condition` does not hold.
func invariant(_ condition: Bool, _ target: FuzzTarget, _ message: @autoclosure () -> String) throws(FuzzInvariantViolation) {
    if !condition {
        throw FuzzInvariantViolation(target: target, message: message())
    }
}
