import FHIRCore
import FHIRModels
import StrictJSON
import TestSupport
import Testing

/// JSON → typed model → JSON keeps every value and every decimal's text, for every JSON example
/// (resources outside the model ride along as element trees inside Bundles).
@Suite struct ModelRoundTripTests {
    @Test(arguments: Fixtures.examples("json"))
    func jsonThroughTheTypedModelKeepsEveryValue(_ name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let tree = try #require(FHIRReader().read(bytes).resource)
        let model = try AnyResource(node: tree)
        if case .other = model { Issue.record("\(name): \(tree.type.name) should have a typed model") }
        let written = try JSONReader().read(FHIRJSONWriter().write(model.node))
        let differences = JSONComparison().differences(written, try JSONReader().read(bytes))
        #expect(differences.isEmpty, "\(name): \(differences.prefix(10).joined(separator: "\n"))")
    }

    @Test func decimalsKeepTheirExactText() throws {
        let json = #"{"resourceType":"Observation","status":"final","code":{"text":"ADC"},"valueQuantity":{"value":0.010,"unit":"mm2/s"}}"#
        let observation = try Observation(resource: try #require(FHIRReader().read(Array(json.utf8)).resource))
        guard case .quantity(let quantity) = observation.value else {
            Issue.record("expected a Quantity")
            return
        }
        #expect(quantity.value?.value?.text == "0.010")
        #expect(FHIRJSONWriter().string(observation.node).contains("\"value\":0.010"))
    }

    @Test func primitivesCarryTheirIdAndExtensions() throws {
        let json = #"""
            {"resourceType":"Patient","birthDate":"1974-12","_birthDate":{"id":"b1","extension":[{"url":"http://example.org/x","valueBoolean":true}]}}
            """#
        let patient = try Patient(resource: try #require(FHIRReader().read(Array(json.utf8)).resource))
        #expect(patient.birthDate?.value?.precision == .month)
        #expect(patient.birthDate?.id == "b1")
        #expect(patient.birthDate?.extension.first?.url == "http://example.org/x")
    }

    @Test func aModelBuiltInCodeValidates() throws {
        var assessment = RiskAssessment(status: "final", subject: Reference(reference: "Patient/p1"))
        assessment.prediction = [
            RiskAssessment.Prediction(probability: .decimal(FHIRPrimitive(FHIRDecimal(stringLiteral: "77.6"))))
        ]
        let tree = assessment.node
        #expect(FHIRValidator().validate(tree).isEmpty, "\(FHIRValidator().validate(tree))")
        let read = try RiskAssessment(resource: try #require(FHIRReader().read(FHIRXMLWriter().write(tree)).resource))
        #expect(read == assessment)
    }

    @Test func wrongResourceTypeIsRefused() throws {
        let tree = try #require(FHIRReader().read(Array(#"{"resourceType":"Patient"}"#.utf8)).resource)
        #expect(throws: FHIRModelError.self) { try Observation(resource: tree) }
    }
}
