import FHIRCore
import FHIRProfiles
import Testing

/// Components sliced by a value discriminator (`code.coding.code`, `code.coding.system`) whose
/// values are fixed inside a slice of the component's `code.coding`, as R4's blood-pressure profile
/// (`bp`) slices `component:SystolicBP` with `code.coding:SBPCode`. The profile here is that shape
/// alone, a snapshot written for the test.
@Suite struct NestedSliceDiscriminatorTests {
    static let url = "http://fhir-risk-gateway.org/fhir/StructureDefinition/test-nested-slices"

    static let definition = """
        {"resourceType": "StructureDefinition", "id": "test-nested-slices", "url": "\(url)",
         "name": "TestNestedSlices", "status": "draft", "kind": "resource", "abstract": false,
         "type": "Observation", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation",
         "derivation": "constraint",
         "snapshot": {"element": [
          {"id": "Observation", "path": "Observation", "min": 0, "max": "*"},
          {"id": "Observation.component", "path": "Observation.component", "min": 2, "max": "*",
           "base": {"path": "Observation.component", "min": 0, "max": "*"},
           "slicing": {"discriminator": [{"type": "value", "path": "code.coding.code"}, {"type": "value", "path": "code.coding.system"}],
                       "ordered": false, "rules": "open"}},
          \(slice("SystolicBP", coding: "SBPCode", code: "8480-6")),
          \(slice("DiastolicBP", coding: "DBPCode", code: "8462-4"))
         ]}}
        """

    /// A component slice as `bp` writes it: its `code.coding` sliced, the slice `coding` fixed to
    /// LOINC `code`, and its quantity's unit fixed to mm[Hg].
    static func slice(_ name: String, coding: String, code: String) -> String {
        let id = "Observation.component:\(name)"
        return """
            {"id": "\(id)", "path": "Observation.component", "sliceName": "\(name)", "min": 1, "max": "1",
             "base": {"path": "Observation.component", "min": 0, "max": "*"}},
            {"id": "\(id).code", "path": "Observation.component.code", "min": 1, "max": "1",
             "base": {"path": "Observation.component.code", "min": 1, "max": "1"}},
            {"id": "\(id).code.coding", "path": "Observation.component.code.coding", "min": 0, "max": "*",
             "base": {"path": "CodeableConcept.coding", "min": 0, "max": "*"},
             "slicing": {"discriminator": [{"type": "value", "path": "code"}, {"type": "value", "path": "system"}], "ordered": false, "rules": "open"}},
            {"id": "\(id).code.coding:\(coding)", "path": "Observation.component.code.coding", "sliceName": "\(coding)",
             "min": 1, "max": "1", "base": {"path": "CodeableConcept.coding", "min": 0, "max": "*"}},
            {"id": "\(id).code.coding:\(coding).system", "path": "Observation.component.code.coding.system",
             "min": 1, "max": "1", "base": {"path": "Coding.system", "min": 0, "max": "1"}, "fixedUri": "http://loinc.org"},
            {"id": "\(id).code.coding:\(coding).code", "path": "Observation.component.code.coding.code",
             "min": 1, "max": "1", "base": {"path": "Coding.code", "min": 0, "max": "1"}, "fixedCode": "\(code)"},
            {"id": "\(id).value[x]", "path": "Observation.component.value[x]", "min": 0, "max": "1",
             "base": {"path": "Observation.component.value[x]", "min": 0, "max": "1"}, "type": [{"code": "Quantity"}]},
            {"id": "\(id).value[x].code", "path": "Observation.component.value[x].code",
             "min": 1, "max": "1", "base": {"path": "Quantity.code", "min": 0, "max": "1"}, "fixedCode": "mm[Hg]"}
            """
    }

    static func observation(systolicUnit: String = "mm[Hg]", diastolicCode: String = "8462-4") -> String {
        """
        {"resourceType": "Observation", "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
         "component": [
          {"code": {"coding": [{"system": "http://snomed.info/sct", "code": "271649006"}, {"system": "http://loinc.org", "code": "8480-6"}]},
           "valueQuantity": {"value": 107, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "\(systolicUnit)"}},
          {"code": {"coding": [{"system": "http://loinc.org", "code": "\(diastolicCode)"}]},
           "valueQuantity": {"value": 60, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
         ]}
        """
    }

    static func issues(_ json: String) throws -> [FHIRIssue] {
        let definition = try #require(FHIRReader().read(Array(definition.utf8)).resource)
        let package = try ConformancePackage(resources: [definition], compile: FHIRPathInvariants.compile)
        let profile = try #require(package.profile(url))
        let resource = try #require(FHIRReader().read(Array(json.utf8)).resource)
        return ProfileValidator(package: package).validate(resource, against: profile).filter(\.isError)
    }

    @Test func componentsMatchTheirSlicesByTheValuesOfNestedSlices() throws {
        let errors = try Self.issues(Self.observation())
        #expect(errors.isEmpty, "\(errors.map(\.description))")
    }

    @Test func aComponentInItsSliceIsHeldToTheSlicesRules() throws {
        let errors = try Self.issues(Self.observation(systolicUnit: "mm[Hg]{hg}"))
        #expect(errors.contains { $0.expression == "Observation.component[0].valueQuantity.code" }, "\(errors.map(\.description))")
    }

    @Test func aRequiredSliceWithoutItsComponentIsReported() throws {
        let errors = try Self.issues(Self.observation(diastolicCode: "8867-4"))
        #expect(errors.contains { $0.diagnostics.contains("'DiastolicBP'") }, "\(errors.map(\.description))")
        #expect(!errors.contains { $0.diagnostics.contains("'SystolicBP'") }, "\(errors.map(\.description))")
    }

    @Test func aProfileElementNoParentTypeHasIsRefused() throws {
        let misnamed = Self.definition.replacing("SystolicBP.value[x]", with: "SystolicBP.valueQuantity")
            .replacing("Observation.component.value[x]", with: "Observation.component.valueQuantity")
        let definition = try #require(FHIRReader().read(Array(misnamed.utf8)).resource)
        #expect(throws: ProfileDefinitionError.self) {
            try ConformancePackage(resources: [definition], compile: FHIRPathInvariants.compile)
        }
    }
}
