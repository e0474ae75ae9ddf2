import Foundation
@testable import FuzzTargets
import SafeXML
import TestSupport
import Testing

/// Every input a fuzzer once crashed on (`Tests/Fixtures/fuzz-regressions/<target>/`) and a sample
/// of the seed corpus, run through the same checks as the libFuzzer executables in Fuzz/ (which
/// trap where these tests report the broken invariant).
struct FuzzRegressionTests {
    static let regressions = Fixtures.packageRoot.appendingPathComponent("Tests/Fixtures/fuzz-regressions")

    /// The regression inputs of one target, by file name.
    static func inputs(_ target: FuzzTarget) -> [(name: String, bytes: [UInt8])] {
        let folder = regressions.appendingPathComponent(target.rawValue)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { name in
            FileManager.default.contents(atPath: folder.appendingPathComponent(name).path).map { (name, Array($0)) }
        }
    }

    @Test("Every kept crash input passes its target's checks now", arguments: FuzzTarget.allCases)
    func regressionInputsPass(_ target: FuzzTarget) {
        for input in Self.inputs(target) {
            let violation = target.violation(input.bytes)
            #expect(violation == nil, "\(target.rawValue)/\(input.name): \(violation?.description ?? "")")
        }
    }

    @Test("The narrative target excuses libxml2's comment refusals only for a comment opening with '>' or '->'")
    func narrativeTargetExcusesOnlyLibxml2sCommentOpeningWithAngle() {
        let comment = "<!-->" + String(repeating: "x", count: 600) + "--><div xmlns=\"http://www.w3.org/1999/xhtml\"/>"
        #expect(NarrativeXHTMLTarget.refusesCommentOpeningWithAngle("libxml2: Comment not terminated", comment))
        #expect(NarrativeXHTMLTarget.refusesCommentOpeningWithAngle("libxml2: Comment not terminated", "<!--->x--><div/>"))
        #expect(NarrativeXHTMLTarget.refusesCommentOpeningWithAngle("libxml2: Comment not terminated  <!-->>>>", "<!-->>>>x--><div/>"))
        #expect(NarrativeXHTMLTarget.refusesCommentOpeningWithAngle("libxml2: Double hyphen within comment: <!-->>", "<!-->>x<--><div/>"))
        #expect(!NarrativeXHTMLTarget.refusesCommentOpeningWithAngle("libxml2: Comment not terminated", "<!-- >x--><div/>"))
        #expect(!NarrativeXHTMLTarget.refusesCommentOpeningWithAngle("libxml2: Double hyphen within comment: <!-- a", "<!-- a -- b --><div/>"))
        #expect(!NarrativeXHTMLTarget.refusesCommentOpeningWithAngle("libxml2: Opening and ending tag mismatch: p and div", comment))
        // The reader's refusal the rule stands for: when libxml2 reads this comment, the rule can go.
        #expect(throws: XMLReadError.self) { try XMLDocumentReader().readFragment(comment) }
        #expect(FuzzTarget.narrativeXHTML.violation(Array(comment.utf8)) == nil)
    }

    @Test("Every regression folder is named after a fuzz target")
    func regressionFoldersNameTargets() throws {
        let entries = try FileManager.default.contentsOfDirectory(atPath: Self.regressions.path)
        let folders = entries.filter { name in
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: Self.regressions.appendingPathComponent(name).path, isDirectory: &isFolder) && isFolder.boolValue
        }
        let known = Set(FuzzTarget.allCases.map(\.rawValue))
        #expect(folders.filter { !known.contains($0) }.isEmpty)
    }

    @Test("The R4 examples (JSON and XML) pass the reader targets' round trips")
    func examplesPassReaderTargets() throws {
        for name in Fixtures.examples("json") {
            let bytes = try Fixtures.bytes(name)
            #expect(FuzzTarget.strictJSON.violation(bytes) == nil, "\(name)")
            #expect(FuzzTarget.fhirJSON.violation(bytes) == nil, "\(name)")
        }
        for name in Fixtures.examples("xml") {
            let bytes = try Fixtures.bytes(name)
            #expect(FuzzTarget.xmlDocument.violation(bytes) == nil, "\(name)")
            #expect(FuzzTarget.fhirXML.violation(bytes) == nil, "\(name)")
        }
    }
}
