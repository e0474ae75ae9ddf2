import Foundation
import Hummingbird
import TestSupport
import Testing

@testable import GatewayServer

/// Incoming resources against the profiles of Profiles/ (`validation.profiles`): refused at the
/// element under `enforce`, accepted and counted under `warn`, not looked at under `off`.
@Suite struct ProfileEnforcementTests {
    /// An ADC whose b-value component has a unit other than the profile's fixed `s/mm2`: the risk
    /// model does not read it, the ADC profile's `bValue` slice refuses it.
    static func adcWithWrongBValueUnit(_ id: String, patient: String) -> String {
        let adc = CaseFixtures.adc(id, patient: patient, study: nil)
        let component =
            #","component":[{"code":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"113240"}]},"valueQuantity":{"value":800,"system":"http://unitsofmeasure.org","code":"s/cm2"}}]}"#
        return String(adc.dropLast()) + component
    }

    func issueCount(_ gateway: InProcessGateway, profile: String, severity: String) -> Int {
        let text = String(decoding: gateway.metrics.render(), as: UTF8.self)
        let prefix = #"fhir_gateway_profile_issues_total{profile="\#(profile)",severity="\#(severity)"} "#
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }

    @Test func enforceRefusesAResourceFailingItsProfileAtTheElementAndStoresNothing() async throws {
        let gateway = try await InProcessGateway()
        let refused = try await gateway.request(.put, "/fhir/Observation/e1", json: Self.adcWithWrongBValueUnit("e1", patient: "pe"))
        #expect(refused.status == .unprocessableContent, "\(refused.text)")
        #expect(refused.firstIssue.expression == ["Observation.component[0].valueQuantity.code"], "\(refused.text)")
        #expect(refused.firstIssue.diagnostics?.contains("icca-adc-observation") == true)
        #expect(issueCount(gateway, profile: "icca-adc-observation", severity: "error") == 1)
        // Nothing was stored: the same id arrives as a first version.
        let fixed = try await gateway.request(.put, "/fhir/Observation/e1", json: CaseFixtures.adc("e1", patient: "pe", study: nil))
        #expect(fixed.status == .created, "\(fixed.text)")
    }

    @Test func enforceRefusesABundleEntryFailingItsProfileWithTheEntrysPath() async throws {
        let gateway = try await InProcessGateway()
        let bundle = #"""
            {"resourceType":"Bundle","type":"transaction","entry":[
             {"resource":\#(CaseFixtures.study("s2", patient: "pb")),"request":{"method":"PUT","url":"ImagingStudy/s2"}},
             {"resource":\#(Self.adcWithWrongBValueUnit("o2", patient: "pb")),"request":{"method":"PUT","url":"Observation/o2"}}]}
            """#
        let refused = try await gateway.request(.post, "/fhir", json: bundle)
        #expect(refused.status == .unprocessableContent, "\(refused.text)")
        #expect(refused.firstIssue.expression == ["Bundle.entry[1].resource.component[0].valueQuantity.code"], "\(refused.text)")
    }

    @Test func warnAcceptsTheResourceAndCountsItsIssues() async throws {
        let gateway = try await InProcessGateway(settings: "validation: {profiles: warn}")
        let accepted = try await gateway.request(.put, "/fhir/Observation/w1", json: Self.adcWithWrongBValueUnit("w1", patient: "pw"))
        #expect(accepted.status == .created, "\(accepted.text)")
        #expect(issueCount(gateway, profile: "icca-adc-observation", severity: "error") == 1)
    }

    @Test func offNeitherRefusesNorCounts() async throws {
        let gateway = try await InProcessGateway(settings: "validation: {profiles: off}")
        let accepted = try await gateway.request(.put, "/fhir/Observation/f1", json: Self.adcWithWrongBValueUnit("f1", patient: "pf"))
        #expect(accepted.status == .created, "\(accepted.text)")
        #expect(issueCount(gateway, profile: "icca-adc-observation", severity: "error") == 0)
    }

    @Test func aClaimedProfileTheGatewayDoesNotHoldIsCountedAsUnknownNotRefused() async throws {
        let gateway = try await InProcessGateway()
        let adc = CaseFixtures.adc("u1", patient: "pu", study: nil)
        let claiming = #"{"resourceType":"Observation","meta":{"profile":["http://example.org/StructureDefinition/other"]},"# + adc.dropFirst(#"{"resourceType":"Observation","#.count)
        let accepted = try await gateway.request(.put, "/fhir/Observation/u1", json: claiming)
        #expect(accepted.status == .created, "\(accepted.text)")
        #expect(issueCount(gateway, profile: "unknown", severity: "information") == 1)
    }

    @Test func theCapabilityStatementNamesTheGuideAndTheProfilesOfEachType() async throws {
        let gateway = try await InProcessGateway()
        let metadata = try await gateway.request(.get, "/fhir/metadata")
        let json = try #require(metadata.json)
        #expect((json["implementationGuide"] as? [String]) == ["http://fhir-risk-gateway.org/fhir/ImplementationGuide/fhir-risk-gateway.icca"])
        let resources = ((json["rest"] as? [[String: Any]])?.first?["resource"] as? [[String: Any]]) ?? []
        let observation = resources.first { $0["type"] as? String == "Observation" }
        let profiles = observation?["supportedProfile"] as? [String] ?? []
        #expect(profiles.contains("http://fhir-risk-gateway.org/fhir/StructureDefinition/icca-adc-observation"), "\(profiles)")
        let assessment = resources.first { $0["type"] as? String == "RiskAssessment" }
        #expect(assessment?["supportedProfile"] as? [String] == ["http://fhir-risk-gateway.org/fhir/StructureDefinition/icca-early-progression-risk"])
        // R4's vital-signs profiles are enforced by R4's rule, not offered as the gateway's own.
        #expect(!profiles.contains { $0.hasPrefix("http://hl7.org/fhir/StructureDefinition/") }, "\(profiles)")
    }

    // MARK: R4's vital-signs profiles (`validation.coreProfiles`)

    /// A systolic pressure sent alone with LOINC 8480-6, as many EHRs send it: R4's rule makes it
    /// subject to `bp`, which wants the panel code 85354-9 and both components.
    static func systolicAlone(_ id: String) -> String {
        #"""
        {"resourceType":"Observation","id":"\#(id)","status":"final",
         "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
         "code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"subject":{"reference":"Patient/pv"},
         "effectiveDateTime":"2026-03-01T08:00:00Z","valueQuantity":{"value":128,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}
        """#
    }

    @Test func aVitalSignBreakingItsR4ProfileIsAcceptedAndCountedByDefault() async throws {
        let gateway = try await InProcessGateway()
        let accepted = try await gateway.request(.put, "/fhir/Observation/v1", json: Self.systolicAlone("v1"))
        #expect(accepted.status == .created, "\(accepted.text)")
        #expect(issueCount(gateway, profile: "bp", severity: "error") == 4)
        #expect(issueCount(gateway, profile: "bp", severity: "information") == 1)
    }

    @Test func coreProfilesEnforceRefusesTheVitalSignAtTheElement() async throws {
        let gateway = try await InProcessGateway(settings: "validation: {coreProfiles: enforce}")
        let refused = try await gateway.request(.put, "/fhir/Observation/v2", json: Self.systolicAlone("v2"))
        #expect(refused.status == .unprocessableContent, "\(refused.text)")
        let issues = (refused.json?["issue"] as? [[String: Any]]) ?? []
        let errors = issues.filter { $0["severity"] as? String == "error" }
        #expect(errors.contains { ($0["expression"] as? [String]) == ["Observation.code.coding"] && ($0["diagnostics"] as? String)?.contains("BPCode") == true }, "\(refused.text)")
        #expect(errors.contains { ($0["expression"] as? [String]) == ["Observation.component"] && ($0["diagnostics"] as? String)?.contains("(profile bp)") == true }, "\(refused.text)")
        // Only the errors are in the refusal, not the information that says why bp applies.
        #expect(issues.count == errors.count)
    }

    @Test func coreProfilesEnforceAcceptsAConformingBloodPressure() async throws {
        let gateway = try await InProcessGateway(settings: "validation: {coreProfiles: enforce}")
        let example = try String(contentsOf: Fixtures.r4.appendingPathComponent("Observation-blood-pressure.json"), encoding: .utf8)
        let accepted = try await gateway.request(.put, "/fhir/Observation/blood-pressure", json: example)
        #expect(accepted.status == .created, "\(accepted.text)")
        #expect(issueCount(gateway, profile: "bp", severity: "error") == 0)
    }

    @Test func coreProfilesOffNeitherRefusesNorCountsWhileTheGuideIsStillEnforced() async throws {
        let gateway = try await InProcessGateway(settings: "validation: {coreProfiles: off}")
        let accepted = try await gateway.request(.put, "/fhir/Observation/v3", json: Self.systolicAlone("v3"))
        #expect(accepted.status == .created, "\(accepted.text)")
        #expect(issueCount(gateway, profile: "bp", severity: "error") == 0)
        #expect(issueCount(gateway, profile: "bp", severity: "information") == 0)
        let refused = try await gateway.request(.put, "/fhir/Observation/e3", json: Self.adcWithWrongBValueUnit("e3", patient: "pe3"))
        #expect(refused.status == .unprocessableContent, "\(refused.text)")
    }
}
