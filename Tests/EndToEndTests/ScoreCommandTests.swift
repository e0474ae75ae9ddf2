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
        #expect(prediction?.value(of: "probabilityDecimal") == "77.6")
        #expect(prediction?.child(named: "qualitativeRisk")?.child(named: "coding")?.value(of: "code") == "high")
        #expect(prediction?.value(of: "rationale")?.contains("poorly defined tumour margin") == true)
        #expect(assessment.value(of: "occurrenceDateTime") == "2026-03-03T10:00:00Z")
    }

    @Test func writesXMLWhenAsked() throws {
        let run = try GatewayBinary.run(["score", Self.casePath, "--format", "xml"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.output.hasPrefix("<?xml"))
        #expect(FHIRReader().read(Array(run.standardOutput)).isValid)
    }

    @Test func theSameCaseAlwaysGetsTheSameIdentity() throws {
        let first = try GatewayBinary.run(["score", Self.casePath, "--compact"])
        let second = try GatewayBinary.run(["score", Self.casePath, "--compact"])
        let identifier = { (run: GatewayBinary.Run) in
            FHIRReader().read(Array(run.standardOutput)).resource?.child(named: "identifier")?.value(of: "value")
        }
        #expect(identifier(first) != nil)
        #expect(identifier(first) == identifier(second))
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
