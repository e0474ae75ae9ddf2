import FHIRCore
import StrictJSON
import TestSupport
import Testing

/// The official R4 examples: every one must read and validate, in both formats, and the two
/// formats must agree value for value.
@Suite struct CorpusTests {
    static let jsonExamples = Fixtures.examples("json")
    static let xmlExamples = Fixtures.examples("xml")

    @Test func corpusHasEveryExample() {
        #expect(Self.jsonExamples.count == 125)
        #expect(Self.xmlExamples.count == 124)
    }

    @Test(arguments: jsonExamples)
    func jsonExampleValidatesWithoutErrors(_ name: String) throws {
        let result = FHIRReader().read(try Fixtures.bytes(name))
        #expect(result.format == .json)
        #expect(result.resource != nil)
        let errors = result.issues.filter(\.isError)
        #expect(errors.isEmpty, "\(name): \(errors.map(\.description).joined(separator: "\n"))")
    }

    @Test(arguments: xmlExamples)
    func xmlExampleValidatesWithoutErrors(_ name: String) throws {
        let result = FHIRReader().read(try Fixtures.bytes(name))
        #expect(result.format == .xml)
        #expect(result.resource != nil)
        let errors = result.issues.filter(\.isError)
        #expect(errors.isEmpty, "\(name): \(errors.map(\.description).joined(separator: "\n"))")
    }

    /// XML → tree → JSON equals the official JSON twin, numbers by exact text; `Observation-decimal`
    /// writes its numbers differently in the two formats on purpose, so there they compare by value.
    @Test(arguments: xmlExamples)
    func xmlConvertedToJSONEqualsItsOfficialTwin(_ name: String) throws {
        let twin = String(name.dropLast(4)) + ".json"
        let result = FHIRReader().read(try Fixtures.bytes(name))
        let resource = try #require(result.resource)
        let converted = try JSONReader().read(FHIRJSONWriter().write(resource))
        let official = try JSONReader().read(try Fixtures.bytes(twin))
        let comparison = JSONComparison(numbersByValue: name == "Observation-decimal.xml")
        let differences = comparison.differences(converted, official)
        #expect(differences.isEmpty, "\(name): \(differences.prefix(10).joined(separator: "\n"))")
    }

    /// JSON → tree → JSON keeps every value and every decimal's text.
    @Test(arguments: jsonExamples)
    func jsonRoundTripKeepsEveryValue(_ name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let resource = try #require(FHIRReader().read(bytes).resource)
        for style in [FHIRJSONWriter.Style.compact, .pretty] {
            let written = try JSONReader().read(FHIRJSONWriter(style: style).write(resource))
            let differences = JSONComparison().differences(written, try JSONReader().read(bytes))
            #expect(differences.isEmpty, "\(name): \(differences.prefix(10).joined(separator: "\n"))")
        }
    }

    /// JSON → XML → JSON gives the same values: the XML writer loses nothing either.
    @Test(arguments: jsonExamples)
    func jsonThroughXMLKeepsEveryValue(_ name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let resource = try #require(FHIRReader().read(bytes).resource)
        for style in [FHIRXMLWriter.Style.compact, .pretty] {
            let xml = FHIRXMLWriter(style: style).write(resource)
            let back = FHIRReader().read(xml)
            let errors = back.issues.filter(\.isError)
            #expect(errors.isEmpty, "\(name): \(errors.map(\.description).joined(separator: "\n"))")
            let again = try #require(back.resource)
            let differences = JSONComparison().differences(
                try JSONReader().read(FHIRJSONWriter().write(again)),
                try JSONReader().read(bytes)
            )
            #expect(differences.isEmpty, "\(name): \(differences.prefix(10).joined(separator: "\n"))")
        }
    }
}
