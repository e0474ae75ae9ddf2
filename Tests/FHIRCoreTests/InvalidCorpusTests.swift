import FHIRCore
import TestSupport
import Testing

/// The invalid instances of the corpus (invalid/MANIFEST.tsv): every one whose fault is in format,
/// structure, cardinality, primitive values, references' syntax or the checked invariants is
/// refused with an error whose expression points at the fault.
@Suite struct InvalidCorpusTests {
    struct Expectation: Sendable, CustomTestStringConvertible {
        var file: String
        /// The FHIRPath the error must carry; nil for documents that cannot be parsed at all,
        /// where the error carries the line instead.
        var expression: String?
        var line: Int32?
        /// Words the diagnostics must contain.
        var words: String
        var testDescription: String { file }
    }

    static let refused: [Expectation] = [
        .init(file: "Observation-ex-pain.json", expression: "Observation.code", words: "minimum required = 1"),
        .init(file: "Observation-ex-pain.xml", expression: "Observation.status", words: "Undefined attribute '@something'"),
        .init(file: "obs-quantity.json", expression: "Observation.code", words: "minimum required = 1"),
        .init(file: "obs-vs-2.json", expression: "Observation.text.div", words: "minimum required = 1"),
        .init(file: "observation-with-trailing-dot.json", expression: "Observation.referenceRange[0].high.value", line: 22, words: "925."),
        .init(file: "risk-assessment-probability-range.json", expression: "RiskAssessment.prediction[0].probabilityDecimal", words: "ras-2"),
        .init(file: "bundle-with-extensions.xml", expression: "Bundle.entry[0]", words: "must have a fullUrl"),
        .init(file: "bundle-id-search-4.json", expression: "Bundle.entry[0].resource", words: "search.mode = outcome"),
        .init(
            file: "bundle-document-versioned-references-bad.json",
            expression: "Bundle.entry[0].resource.section[0].entry[1].reference",
            words: "Multiple matches"
        ),
        .init(file: "bundle-duplicate-id.json", expression: "Bundle.entry[0].fullUrl", words: "absolute URL"),
        .init(file: "message-empty-entry.xml", expression: "Bundle.entry[5]", words: "bdl-5"),
        .init(file: "bundle-conditional-reference-bad.json", expression: "Bundle.entry[0].resource.device.reference", words: "malformed"),
        .init(file: "bundle-bad-empty.json", expression: "Bundle.entry[0].fullUrl", words: "empty"),
        .init(file: "bad-json-close-1.json", expression: "Bundle.entry[0].resource.name[0].given", line: 15, words: "found ']'"),
        .init(file: "bad-json-close-2.json", expression: "Bundle.entry[0].resource.name[0].given", line: 15, words: "found '#'"),
        .init(file: "bad-json-close-3.json", expression: "Bundle.entry[0].resource.name[1]", line: 16, words: "found '}'"),
        .init(file: "xml-fail.xml", expression: "Bundle.entry[0].resource.connectionType", words: "Unknown element <coding>"),
        .init(file: "obs-3.f1.fail.xml", expression: "Observation.referenceRange[0]", words: "obs-3"),
        .init(file: "obs-6.f1.fail.json", expression: "Observation.dataAbsentReason", words: "obs-6"),
        .init(file: "obs-7.f1.fail.json", expression: "Observation.component[0].code", words: "obs-7"),
        .init(file: "bdl-7.f1.fail.xml", expression: "Bundle.entry[1].fullUrl", words: "bdl-7"),
    ]

    /// Faults of R4's vital-signs profiles, which base validation does not apply: refused at
    /// their element by the profile validator (`FHIRProfilesTests.VitalSignsProfileTests`, with
    /// obs-quantity's and obs-vs-2's vital-signs faults).
    static let refusedByVitalSignsProfiles = ["obs-temp-bad.json", "obs-vs-1.json", "observation-ucum.xml"]

    /// Faults that need a terminology server (an unknown SNOMED CT code) or narrative hyperlink
    /// resolution: not checked (the README lists them).
    static let notChecked = ["obs-temp-code2.json", "bundle-with-contained.json"]

    @Test func everyManifestCaseIsAccountedFor() throws {
        let files = Set(try Fixtures.invalidManifest().compactMap { $0["file"] })
        #expect(files.count == 26)
        #expect(files == Set(Self.refused.map(\.file) + Self.refusedByVitalSignsProfiles + Self.notChecked))
    }

    @Test(arguments: refused)
    func invalidCaseIsRefusedAtItsFault(_ expectation: Expectation) throws {
        let result = FHIRReader().read(try Fixtures.bytes(expectation.file, in: Fixtures.invalid))
        #expect(!result.isValid)
        let errors = result.issues.filter(\.isError)
        let matching = errors.filter { issue in
            issue.expression == expectation.expression && issue.diagnostics.contains(expectation.words)
                && (expectation.line == nil || issue.line == expectation.line)
        }
        #expect(!matching.isEmpty, "\(expectation.file): \(errors.map(\.description).joined(separator: "\n"))")
    }

    /// The checks that do not apply here still leave the rest of the case readable: no error is
    /// invented.
    @Test(arguments: notChecked + refusedByVitalSignsProfiles)
    func caseNeedingTerminologyOrProfilesParses(_ file: String) throws {
        let result = FHIRReader().read(try Fixtures.bytes(file, in: Fixtures.invalid))
        #expect(result.resource != nil)
    }
}
