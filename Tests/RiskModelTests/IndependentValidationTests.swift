import FHIRCore
import FHIRModels
import Foundation
import RiskModel
import TestSupport
import Testing

/// The RiskAssessments the model writes pass, in the same run, this project's validator and two
/// independent ones: the official R4 JSON schema (Python's jsonschema) and the R4 XSD (xmllint).
@Suite struct IndependentValidationTests {
    /// Every kind of assessment the model writes: each status (a withdrawal, a preliminary one),
    /// each unit spelling, components, warnings, no probability outside the soft range, several
    /// values, the other probability scale.
    static func assessments() throws -> [RiskAssessment] {
        var cases: [String] = [
            Scoring.bundle([Scoring.adc("0.8"), Scoring.margin("300841009")]),
            Scoring.bundle([Scoring.adc("1.3", status: "corrected")]),
            Scoring.bundle([Scoring.panel(adc: "0.95")]),
            Scoring.bundle([Scoring.adc("2.4")]),
            Scoring.bundle([Scoring.adc("1.1", id: "a"), Scoring.adc("0.7", id: "b"), Scoring.margin("260409000")]),
        ]
        cases += CaseScoringTests.spellings.map { Scoring.bundle([Scoring.adc($0.value, unit: $0.unit)]) }
        var produced: [RiskAssessment] = []
        for json in cases { produced += try Scoring.run(json).assessments }
        let withdrawn = try Scoring.run(
            Scoring.bundle([Scoring.adc("0.8", status: "entered-in-error")]), prior: Scoring.prior(try Scoring.run(cases[0])))
        produced += withdrawn.assessments
        produced += try Scoring.run(Scoring.bundle([Scoring.adc("0.8")], withStudy: false), policy: CasePolicy(scoreWithoutStudy: true)).assessments
        let fraction = try Scoring.parameters { $0 = $0.replacingOccurrences(of: "probabilityScale: percent", with: "probabilityScale: fraction") }
        // The replacement must have happened, or the fraction case would test percent again.
        #expect(fraction.output.probabilityScale == .fraction)
        produced += try Scoring.run(cases[0], parameters: fraction).assessments
        return produced
    }

    @Test func everyAssessmentPassesOurValidatorTheJSONSchemaAndTheXSD() throws {
        let produced = try Self.assessments()
        #expect(produced.count == 16)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("risk-assessments-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var jsonFiles: [String] = []
        var xmlFiles: [String] = []
        for (i, assessment) in produced.enumerated() {
            let issues = FHIRValidator().validate(assessment.node)
            #expect(issues.isEmpty, "assessment \(i): \(issues)")
            let json = folder.appendingPathComponent("RiskAssessment-\(i).json")
            let xml = folder.appendingPathComponent("RiskAssessment-\(i).xml")
            try Data(FHIRJSONWriter(style: .pretty).write(assessment.node)).write(to: json)
            try Data(FHIRXMLWriter(style: .pretty).write(assessment.node)).write(to: xml)
            jsonFiles.append(json.path)
            xmlFiles.append(xml.path)
        }
        let schema = Fixtures.r4.appendingPathComponent("schema")
        let jsonCheck = try run(
            "/usr/bin/env",
            [
                "python3", Fixtures.packageRoot.appendingPathComponent("Tests/Tools/validate_json_schema.py").path,
                schema.appendingPathComponent("fhir.schema.json").path,
            ]
                + jsonFiles
        )
        #expect(jsonCheck.status == 0, "\(jsonCheck.output)")
        #expect(jsonCheck.output.contains("\(jsonFiles.count) file(s), 0 error(s)"), "\(jsonCheck.output)")
        let xmlCheck = try run("/usr/bin/env", ["xmllint", "--noout", "--schema", schema.appendingPathComponent("fhir-single.xsd").path] + xmlFiles)
        #expect(xmlCheck.status == 0, "\(xmlCheck.output)")
        #expect(xmlCheck.output.components(separatedBy: " validates").count - 1 == xmlFiles.count, "\(xmlCheck.output)")
    }

    /// The independent checks can fail: a RiskAssessment with probabilityDecimal 101 and an unknown
    /// element is refused by both.
    @Test func theIndependentChecksRefuseAnInvalidAssessment() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("risk-assessments-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = folder.appendingPathComponent("bad.json")
        try Data(#"{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/p1"},"probability":3}"#.utf8).write(to: json)
        let xml = folder.appendingPathComponent("bad.xml")
        try Data(#"<RiskAssessment xmlns="http://hl7.org/fhir"><status value="final"/><probability value="3"/></RiskAssessment>"#.utf8).write(to: xml)
        let schema = Fixtures.r4.appendingPathComponent("schema")
        let jsonCheck = try run(
            "/usr/bin/env",
            [
                "python3", Fixtures.packageRoot.appendingPathComponent("Tests/Tools/validate_json_schema.py").path,
                schema.appendingPathComponent("fhir.schema.json").path, json.path,
            ]
        )
        #expect(jsonCheck.status == 1, "\(jsonCheck.output)")
        let xmlCheck = try run("/usr/bin/env", ["xmllint", "--noout", "--schema", schema.appendingPathComponent("fhir-single.xsd").path, xml.path])
        #expect(xmlCheck.status != 0, "\(xmlCheck.output)")
    }

    func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
