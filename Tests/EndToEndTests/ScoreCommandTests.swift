import FHIRCore
import Foundation
import TestSupport
import Testing

/// `fhir-risk-gateway score`, run as a separate process.
@Suite struct ScoreCommandTests {
    static let casePath = Fixtures.packageRoot.appendingPathComponent("Tests/Fixtures/cases/icca-case.json").path

    @Test func scoresACaseBundleIntoARiskAssessment() throws {
        let run = try GatewayBinary.run(["score", Self.casePath, "--assessed-at", "2026-03-03T10:00:00Z"])
        #expect(run.status == 0, "\(run.standardError)")
        let result = FHIRReader().read(Array(run.standardOutput))
        #expect(result.isValid, "\(result.issues)")
        let assessment = try #require(result.resource)
        #expect(assessment.type.name == "RiskAssessment")
        let prediction = assessment.child(named: "prediction")
        #expect(prediction?.value(of: "probabilityDecimal") == "78")
        #expect(prediction?.child(named: "qualitativeRisk")?.child(named: "coding")?.value(of: "code") == "high")
        #expect(prediction?.value(of: "rationale")?.contains("poorly defined tumour margin") == true)
        #expect(assessment.value(of: "occurrenceDateTime") == "2026-03-03T10:00:00Z")
    }

    @Test func writesXMLWhenAsked() throws {
        let run = try GatewayBinary.run(["score", Self.casePath, "--format", "xml", "--assessed-at", "2026-03-03T10:00:00Z"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.output.hasPrefix("<?xml"))
        #expect(FHIRReader().read(Array(run.standardOutput)).isValid)
    }

    @Test func theSameCaseAlwaysGetsTheSameIdentity() throws {
        let first = try GatewayBinary.run(["score", Self.casePath, "--compact", "--assessed-at", "2026-03-03T10:00:00Z"])
        let second = try GatewayBinary.run(["score", Self.casePath, "--compact", "--assessed-at", "2026-03-04T11:00:00+01:00"])
        let identifier = { (run: GatewayBinary.Run) in
            FHIRReader().read(Array(run.standardOutput)).resource?.child(named: "identifier")?.value(of: "value")
        }
        #expect(identifier(first) != nil)
        #expect(identifier(first) == identifier(second))
    }

    /// The case without its diagnosis: no assessment, and the OperationOutcome says why.
    @Test func aCaseThatIsHeldExitsOneWithTheReason() throws {
        let text = try String(contentsOfFile: Self.casePath, encoding: .utf8).replacingOccurrences(of: "\"C22.1\"", with: "\"K80.2\"")
        let run = try GatewayBinary.run(["score", "-", "--compact", "--assessed-at", "2026-03-03T10:00:00Z"], input: Data(text.utf8))
        #expect(run.status == 1)
        let outcome = try #require(FHIRReader().read(Array(run.standardOutput)).resource)
        #expect(outcome.type.name == "OperationOutcome")
        #expect(outcome.child(named: "issue")?.value(of: "diagnostics")?.hasPrefix("Not eligible") == true, "\(run.output)")
        // The same case as of today: its study is too old to be a baseline now.
        let late = try GatewayBinary.run(["score", Self.casePath, "--compact", "--assessed-at", "2026-12-01T10:00:00Z"])
        #expect(late.status == 1)
        #expect(late.output.contains("cases.maxStudyAgeDays"))
        // Unless the site allows it, with the same flag as the daemon's key.
        let allowed = try GatewayBinary.run(["score", Self.casePath, "--assessed-at", "2026-12-01T10:00:00Z", "--max-study-age-days", "365"])
        #expect(allowed.status == 0, "\(allowed.output)")
    }

    /// `score` and the daemon make the same decision for the same resources: one code path.
    @Test func scoreGivesTheDaemonsDecision() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        try harness.startGateway()
        defer { harness.stopAll() }
        // The example case as of yesterday, so that its study is a recent baseline.
        let text = try String(contentsOfFile: Self.casePath, encoding: .utf8).replacingOccurrences(of: "2026-03-02", with: CaseFixtures.day)
            .replacingOccurrences(of: "2026-02-20", with: CaseFixtures.day)
        let posted = try harness.request("POST", "/fhir", body: Data(text.utf8))
        #expect(posted.status == 200, "\(posted.text)")
        let daemon = try #require(try DaemonTests.assessments(harness, patient: "p1").first)
        let run = try GatewayBinary.run(["score", "-", "--compact"], input: Data(text.utf8))
        #expect(run.status == 0, "\(run.output)")
        let offline = try #require(try JSONSerialization.jsonObject(with: run.standardOutput) as? [String: Any])
        for key in ["identifier", "status", "prediction", "method"] {
            let left = try JSONSerialization.data(withJSONObject: daemon[key] ?? NSNull(), options: [.sortedKeys, .fragmentsAllowed])
            let right = try JSONSerialization.data(withJSONObject: offline[key] ?? NSNull(), options: [.sortedKeys, .fragmentsAllowed])
            #expect(left == right, "\(key) differs:\n\(String(decoding: left, as: UTF8.self))\n\(String(decoding: right, as: UTF8.self))")
        }
        #expect((daemon["basis"] as? [Any])?.count == (offline["basis"] as? [Any])?.count)
        #expect(daemon["condition"] != nil && offline["condition"] != nil)
    }

    /// None of the official Observation examples is an ADC: never a guess.
    @Test func theOfficialObservationExamplesAnswerThatNoADCWasFound() throws {
        let examples = Fixtures.examples("json").filter { $0.hasPrefix("Observation-") }
        #expect(examples.count == 64)
        for name in examples {
            let run = try GatewayBinary.run(["score", "--compact", Fixtures.r4.appendingPathComponent(name).path])
            #expect(run.status == 1, "\(name)")
            let outcome = FHIRReader().read(Array(run.standardOutput)).resource
            #expect(outcome?.type.name == "OperationOutcome", "\(name)")
            #expect(outcome?.child(named: "issue")?.value(of: "diagnostics")?.contains("No ADC observation was found") == true, "\(name)")
        }
    }

    @Test func invalidInputAnswersWithTheValidationOutcome() throws {
        let run = try GatewayBinary.run(["score", Fixtures.invalid.appendingPathComponent("obs-6.f1.fail.json").path])
        #expect(run.status == 1)
        #expect(run.output.contains("obs-6"))
    }

    @Test func aMissingModelFileIsAConfigurationError() throws {
        let run = try GatewayBinary.run(["score", Self.casePath, "--model", "/nonexistent/model.yaml"])
        #expect(run.status == 2)
        #expect(run.standardError.contains("/nonexistent/model.yaml"))
    }
}
