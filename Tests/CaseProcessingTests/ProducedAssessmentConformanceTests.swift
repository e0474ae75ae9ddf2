import CaseProcessing
import FHIRCore
import FHIRProfiles
import Foundation
import Storage
import TestSupport
import Testing

/// Every RiskAssessment the gateway makes conforms to its own profile: across the whole range of
/// ADC values, each unit it converts, preliminary and final inputs, amendments and withdrawals.
/// The processor holds a case whose assessment would not conform (a defect); here that never
/// happens.
@Suite struct ProducedAssessmentConformanceTests {
    typealias Bench = CaseProcessorTests.Bench

    static let profile = "http://fhir-risk-gateway.org/fhir/StructureDefinition/icca-early-progression-risk"

    /// Each stored version of the patient's assessments against the profile; no case held for it.
    static func expectConforming(_ bench: Bench, _ context: String) async throws {
        let package = CaseProcessorTests.conformance
        let profile = try #require(package.profile(Self.profile))
        let stored = try await bench.assessments()
        #expect(!stored.isEmpty, "\(context): nothing was assessed")
        for assessment in stored {
            let node = try #require(FHIRReader().read(assessment.json).resource)
            let errors = ProfileValidator(package: package).validate(node, against: profile).filter(\.isError)
            #expect(errors.isEmpty, "\(context): \(errors.map(\.description).joined(separator: "\n"))")
        }
        let reasons = try await bench.store.held(subject: "Patient/p1")?.reasons ?? []
        #expect(!reasons.contains { $0.contains("does not conform") }, "\(context): \(reasons)")
    }

    @Test(arguments: ["0.1", "0.4", "0.8", "1.028", "1.029", "1.5", "2.2", "4.0"])
    func anAssessmentOfAnyADCConforms(_ value: String) async throws {
        let bench = try await Bench()
        _ = try await bench.send(CaseProcessorTests.condition, CaseProcessorTests.study(), CaseProcessorTests.adc(value))
        try await Self.expectConforming(bench, "ADC \(value)")
    }

    @Test(arguments: [("0.0008", "mm2/s"), ("800", "um2/s"), ("0.8", "um2/ms"), ("800", "10*-6.mm2/s")])
    func anAssessmentOfAConvertedUnitConforms(_ value: String, _ unit: String) async throws {
        let bench = try await Bench()
        _ = try await bench.send(CaseProcessorTests.condition, CaseProcessorTests.study(), CaseProcessorTests.adc(value, unit: unit))
        try await Self.expectConforming(bench, "\(value) \(unit)")
    }

    @Test func preliminaryAmendedAndWithdrawnVersionsConform() async throws {
        let bench = try await Bench()
        _ = try await bench.send(CaseProcessorTests.condition, CaseProcessorTests.study(), CaseProcessorTests.adc("0.9", status: "preliminary"))
        _ = try await bench.send(CaseProcessorTests.adc("0.9"))
        _ = try await bench.send(CaseProcessorTests.adc("1.3"))
        _ = try await bench.send(CaseProcessorTests.adc("1.3", code: "999999"))
        #expect(try await bench.assessments().first?.version ?? 0 >= 3)
        try await Self.expectConforming(bench, "versions")
    }

    /// The shipped profiles, with the RiskAssessment profile's `code` made required: the gateway
    /// writes no `RiskAssessment.code`, so what it makes no longer conforms.
    static func stricterConformance() throws -> ConformancePackage {
        var resources: [FHIRNode] = []
        for bytes in Fixtures.profileFiles() {
            var json = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            if json["url"] as? String == Self.profile {
                var snapshot = json["snapshot"] as? [String: Any] ?? [:]
                var elements = snapshot["element"] as? [[String: Any]] ?? []
                let index = try #require(elements.firstIndex { $0["id"] as? String == "RiskAssessment.code" })
                elements[index]["min"] = 1
                snapshot["element"] = elements
                json["snapshot"] = snapshot
            }
            resources.append(try #require(FHIRReader().read(Array(try JSONSerialization.data(withJSONObject: json))).resource))
        }
        return try ConformancePackage(resources: resources, compile: FHIRPathInvariants.compile)
    }

    @Test func anAssessmentThatDoesNotConformIsWithheldAndItsCaseHeld() async throws {
        let bench = try await Bench(conformance: try Self.stricterConformance())
        let outcome = try await bench.send(CaseProcessorTests.condition, CaseProcessorTests.study(), CaseProcessorTests.adc())
        #expect(outcome.scored.isEmpty)
        let withheld = try #require(outcome.withheld.first)
        #expect(withheld.profile == "icca-early-progression-risk" && withheld.path == "RiskAssessment.code")
        #expect(withheld.identifier.hasPrefix("urn:uuid:"))
        #expect(try await bench.assessments().isEmpty)
        #expect(try await bench.pending().isEmpty)
        let reasons = try await bench.store.held(subject: "Patient/p1")?.reasons ?? []
        #expect(reasons.contains { $0.contains("does not conform to the profile icca-early-progression-risk") }, "\(reasons)")
    }
}
