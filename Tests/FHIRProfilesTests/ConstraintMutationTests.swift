import FHIRCore
import FHIRProfiles
import Foundation
import Testing

/// For each kind of constraint a profile holds, a broken copy of a valid example is refused, with
/// the issue's expression at the broken element.
@Suite struct ConstraintMutationTests {
    struct Mutation: Sendable, CustomTestStringConvertible {
        var kind: String
        var example: String
        var expression: String
        /// Words the diagnostics must contain.
        var words: String
        let change: @Sendable (inout [String: Any]) -> Void
        var testDescription: String { kind }
    }

    static let mutations: [Mutation] = [
        Mutation(kind: "cardinality", example: "Observation-example-adc.json", expression: "Observation.subject", words: "At least 1") {
            $0["subject"] = nil
        },
        Mutation(kind: "type", example: "Observation-example-adc.json", expression: "Observation.valueString", words: "not allowed") {
            $0["valueQuantity"] = nil
            $0["valueString"] = "0.92"
        },
        Mutation(kind: "reference target", example: "Observation-example-adc.json", expression: "Observation.subject.reference", words: "Group") {
            $0["subject"] = ["reference": "Group/cohort"]
        },
        Mutation(kind: "fixed", example: "Observation-example-adc.json", expression: "Observation.valueQuantity.system", words: "exactly") {
            var quantity = $0["valueQuantity"] as? [String: Any] ?? [:]
            quantity["system"] = "http://example.org/units"
            $0["valueQuantity"] = quantity
        },
        Mutation(kind: "pattern", example: "RiskAssessment-example-risk.json", expression: "RiskAssessment.method", words: "pattern") {
            $0["method"] = ["coding": [["system": "http://fhir-risk-gateway.org/fhir/CodeSystem/fhir-risk-gateway", "code": "another-model"]]]
        },
        Mutation(kind: "binding", example: "Observation-example-adc.json", expression: "Observation.code", words: "ValueSet") {
            $0["code"] = ["coding": [["system": "http://dicom.nema.org/resources/ontology/DCM", "code": "113042"]]]
        },
        Mutation(kind: "extensible binding", example: "Observation-example-adc.json", expression: "Observation.valueQuantity.code", words: "extensible") {
            var quantity = $0["valueQuantity"] as? [String: Any] ?? [:]
            quantity["code"] = "10-3.mm2/s"
            $0["valueQuantity"] = quantity
        },
        Mutation(
            kind: "slice", example: "RiskAssessment-example-risk.json", expression: "RiskAssessment.prediction[0].qualitativeRisk.coding",
            words: "Slice 'riskProbability'"
        ) {
            var predictions = $0["prediction"] as? [[String: Any]] ?? []
            predictions[0]["qualitativeRisk"] = ["coding": [["system": "http://example.org/risk", "code": "high"]]]
            $0["prediction"] = predictions
        },
        Mutation(kind: "slice member", example: "Observation-example-adc.json", expression: "Observation.component[1].valueQuantity.code", words: "exactly") {
            var components = $0["component"] as? [[String: Any]] ?? []
            var quantity = components[1]["valueQuantity"] as? [String: Any] ?? [:]
            quantity["code"] = "s/cm2"
            components[1]["valueQuantity"] = quantity
            $0["component"] = components
        },
        Mutation(kind: "invariant", example: "RiskAssessment-example-risk.json", expression: "RiskAssessment.prediction[0]", words: "icca-risk-1") {
            var predictions = $0["prediction"] as? [[String: Any]] ?? []
            predictions[0]["probabilityDecimal"] = 250
            $0["prediction"] = predictions
        },
    ]

    static func mutated(_ mutation: Mutation) throws -> FHIRNode {
        let url = ProfilesPackage.folder.appendingPathComponent("examples").appendingPathComponent(mutation.example)
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        mutation.change(&json)
        let bytes = Array(try JSONSerialization.data(withJSONObject: json))
        return try #require(FHIRReader().read(bytes).resource)
    }

    @Test(arguments: mutations)
    func aBrokenCopyIsRefusedAtTheBrokenElement(_ mutation: Mutation) throws {
        let package = try ProfilesPackage.load()
        let broken = try Self.mutated(mutation)
        let url = try #require(broken.child(named: "meta")?.child(named: "profile")?.value)
        let issues = ProfileValidator(package: package).validate(broken, against: try #require(package.profile(url)))
        // An extensible binding warns; every other kind is an error.
        let severity: FHIRIssue.Severity = mutation.kind == "extensible binding" ? .warning : .error
        #expect(
            issues.contains { $0.severity == severity && $0.expression == mutation.expression && $0.diagnostics.contains(mutation.words) },
            "\(mutation.kind): \(issues.map(\.description).joined(separator: "\n"))")
        if severity == .warning { #expect(issues.filter(\.isError).isEmpty, "\(issues)") }
    }

    @Test func anUnbrokenExampleGivesNoErrorForTheSameChecks() throws {
        let package = try ProfilesPackage.load()
        for name in ["Observation-example-adc.json", "RiskAssessment-example-risk.json"] {
            let example = try ProfilesPackage.example(name)
            let url = try #require(example.child(named: "meta")?.child(named: "profile")?.value)
            #expect(ProfileValidator(package: package).validate(example, against: try #require(package.profile(url))).filter(\.isError).isEmpty)
        }
    }
}
