import FHIRCore
import Foundation
import TestSupport
import Testing

/// JSON is validated while it is read (each node as soon as it is complete); that must find exactly
/// what reading without validation and then running `FHIRValidator` over the tree finds.
struct ValidationWhileReadingTests {
    static let documents: [(name: String, directory: URL)] =
        Fixtures.examples("json").map { ($0, Fixtures.r4) }
        + ((try? FileManager.default.contentsOfDirectory(atPath: Fixtures.invalid.path)) ?? [])
        .filter { $0.hasSuffix(".json") }.sorted().map { ($0, Fixtures.invalid) }

    /// An issue in comparable form.
    static func key(_ issue: FHIRIssue) -> String {
        "\(issue.severity) \(issue.code) \(issue.expression ?? "-") \(issue.line ?? 0):\(issue.column ?? 0) \(issue.diagnostics)"
    }

    @Test func theCorpusHasInvalidJSONCasesToo() {
        #expect(Self.documents.count > 125)
    }

    @Test(arguments: documents.map(\.name))
    func validatingWhileReadingFindsWhatTheValidatorFinds(_ name: String) throws {
        let directory = try #require(Self.documents.first { $0.name == name }?.directory)
        let bytes = try Fixtures.bytes(name, in: directory)
        let reader = FHIRReader()
        let together = reader.read(bytes, format: .json)
        let apart = reader.read(bytes, format: .json, validate: false)
        var expected = apart.issues
        if let resource = apart.resource { expected += FHIRValidator().validate(resource) }
        #expect(together.resource == apart.resource)
        #expect(together.issues.map(Self.key).sorted() == expected.map(Self.key).sorted())
    }

    @Test func aConditionalReferenceIsRefusedOutsideATransactionWhereverTheBundleTypeIs() {
        let entry =
            #"{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=a|b"}}}"#
        for (type, refused) in [("transaction", false), ("batch", true)] {
            for typeFirst in [true, false] {
                let members = typeFirst ? #""type":"\#(type)","entry":[\#(entry)]"# : #""entry":[\#(entry)],"type":"\#(type)""#
                let json = #"{"resourceType":"Bundle",\#(members)}"#
                let issues = FHIRReader().read(Array(json.utf8), format: .json).issues
                let found = issues.contains {
                    $0.expression == "Bundle.entry[0].resource.subject.reference" && $0.diagnostics.contains("transaction")
                }
                #expect(found == refused, "\(type), type first: \(typeFirst): \(issues)")
            }
        }
    }
}
