import FHIRCore
import Foundation
import StrictJSON
import TestSupport
import Testing

/// `fhir-risk-gateway fhirpath`, run as a separate process the way an integration engineer runs it.
@Suite struct FHIRPathCommandTests {
    @Test func fhirpathPrintsTheResultAsTypedJSON() throws {
        let file = Fixtures.r4.appendingPathComponent("Observation-example.json").path
        let run = try GatewayBinary.run(["fhirpath", "Observation.value.ofType(Quantity).value | status | value.exists()", file])
        #expect(run.status == 0, "\(run.output) \(run.standardError)")
        let result = try JSONReader().read(Array(run.standardOutput))
        guard case .array(let items) = result else {
            Issue.record("expected a JSON array: \(run.output)")
            return
        }
        #expect(items.count == 3, "\(run.output)")
        #expect(run.output.contains(#"{"type": "decimal", "value": 185}"#), "\(run.output)")
        #expect(run.output.contains(#"{"type": "code", "value": "final"}"#), "\(run.output)")
        #expect(run.output.contains(#"{"type": "boolean", "value": true}"#), "\(run.output)")
    }

    @Test func fhirpathReadsStandardInput() throws {
        let run = try GatewayBinary.run(["fhirpath", "Patient.active"], input: Data(#"{"resourceType":"Patient","active":true}"#.utf8))
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains(#""value": true"#))
    }

    @Test func fhirpathExitsOneWithAnOperationOutcomeForASyntaxError() throws {
        let file = Fixtures.r4.appendingPathComponent("Observation-example.json").path
        let run = try GatewayBinary.run(["fhirpath", "status = (1 +", file])
        #expect(run.status == 1)
        let outcome = FHIRReader().read(Array(run.standardOutput))
        #expect(outcome.resource?.type.name == "OperationOutcome", "\(run.output)")
        let diagnostics = outcome.resource?.children(named: "issue").first?.value(of: "diagnostics") ?? ""
        #expect(diagnostics.contains("syntax error"), "\(diagnostics)")
        #expect(diagnostics.contains("column"), "\(diagnostics)")
    }
}
