import FHIRCore
import Foundation
import RiskModel
import StrictJSON
import TestSupport
import Testing

/// The implementation guide in `Profiles/`: valid FHIR, a package manifest for R4, and the
/// project's own codes defined in its CodeSystem.
@Suite struct ProfilesTests {
    static let folder = Fixtures.packageRoot.appendingPathComponent("Profiles")
    static let resources: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        .filter { $0.hasSuffix(".json") && $0 != "package.json" }.sorted()

    func read(_ name: String) throws -> FHIRReadResult {
        FHIRReader().read(Array(try Data(contentsOf: Self.folder.appendingPathComponent(name))))
    }

    @Test(arguments: resources)
    func everyConformanceResourceIsValidFHIR(_ name: String) throws {
        let result = try read(name)
        #expect(result.isValid, "\(name): \(result.issues)")
        let resource = try #require(result.resource)
        // File names follow <ResourceType>-<id>.json, as FHIR packages do.
        #expect(name == "\(resource.type.name)-\(resource.value(of: "id") ?? "").json")
        #expect(resource.value(of: "url")?.hasPrefix(ProjectCanonical.base) == true)
    }

    @Test func thePackageManifestIsForR4() throws {
        let manifest = try JSONReader().read(Array(try Data(contentsOf: Self.folder.appendingPathComponent("package.json"))))
        guard case .object(let members) = manifest else {
            Issue.record("package.json is not an object")
            return
        }
        let fhirVersions = members.first { $0.key == "fhirVersions" }?.value
        #expect(fhirVersions == .array([.string("4.0.1")]))
        #expect(members.first { $0.key == "canonical" }?.value == .string(ProjectCanonical.base))
    }

    @Test func everyProjectCodeUsedInAValueSetIsDefinedInTheCodeSystem() throws {
        let codeSystem = try #require(try read("CodeSystem-fhir-risk-gateway.json").resource)
        let defined = Set(codeSystem.children(named: "concept").compactMap { $0.value(of: "code") })
        for name in Self.resources where name.hasPrefix("ValueSet-") {
            let valueSet = try #require(try read(name).resource)
            for include in valueSet.child(named: "compose")?.children(named: "include") ?? []
            where include.value(of: "system") == ProjectCanonical.codeSystem {
                for concept in include.children(named: "concept") {
                    #expect(defined.contains(concept.value(of: "code") ?? ""), "\(name): \(concept.value(of: "code") ?? "")")
                }
            }
        }
    }

    @Test func everyFeatureHasItsValueSet() {
        for feature in FeatureCodes.Feature.allCases {
            #expect(!Scoring.codes.listing(feature).isEmpty, "\(feature)")
        }
    }
}
