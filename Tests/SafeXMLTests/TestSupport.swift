import FoundationEssentials
@_spi(Testing) import SafeXML
import TestSupport
import Testing

/// The FHIR R4 examples of the project's fixtures (Tests/Fixtures).
enum Corpus {
    static let directory: String = Fixtures.r4.path

    /// Every `*.xml` file directly in `directory/subdirectory`, sorted, with its bytes.
    static func xmlFiles(in subdirectory: String = "") throws -> [(name: String, bytes: [UInt8])] {
        let folder = subdirectory.isEmpty ? directory : directory + "/" + subdirectory
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".xml") }.sorted()
        return try names.map { name in
            let data = try #require(FileManager.default.contents(atPath: folder + "/" + name), "cannot read \(folder)/\(name)")
            return (name, [UInt8](data))
        }
    }
}

/// Reads with the prolog check on (as in production) and off (libxml2's own handling and the node
/// checks alone), expecting both to refuse; returns the production error.
@discardableResult
func expectRefused(
    _ bytes: [UInt8],
    limits: XMLLimits = .default,
    as kind: XMLReadError.Kind,
    withoutPrologCheck fallbackKinds: Set<XMLReadError.Kind>? = nil,
    within seconds: Int = 2,
    sourceLocation: SourceLocation = #_sourceLocation
) -> XMLReadError? {
    var productionError: XMLReadError?
    for checksProlog in [true, false] {
        let reader = XMLDocumentReader(limits: limits, checksProlog: checksProlog)
        let clock = ContinuousClock()
        let start = clock.now
        let result = Result { () throws(XMLReadError) in try reader.read(bytes) }
        let elapsed = clock.now - start
        #expect(elapsed < .seconds(seconds), "took \(elapsed)", sourceLocation: sourceLocation)
        switch result {
        case .success(let root):
            Issue.record("accepted (prolog check \(checksProlog)): root <\(root.localName)>", sourceLocation: sourceLocation)
        case .failure(let error):
            let expected = checksProlog ? [kind] : (fallbackKinds ?? [kind])
            #expect(expected.contains(error.kind), "prolog check \(checksProlog): \(error)", sourceLocation: sourceLocation)
            #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
            if checksProlog { productionError = error }
        }
    }
    return productionError
}

/// The tree with every line and column set to 0, for comparing trees read from different text.
func withoutPositions(_ element: XMLElement) -> XMLElement {
    var copy = element
    copy.line = 0
    copy.column = 0
    copy.children = element.children.map {
        if case .element(let child) = $0 { return .element(withoutPositions(child)) }
        return $0
    }
    return copy
}
