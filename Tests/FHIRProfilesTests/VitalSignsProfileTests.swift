import FHIRCore
import FHIRProfiles
import Foundation
import TestSupport
import Testing

/// R4's vital-signs profiles (Profiles/r4-core/): chosen by R4's rule on the Observation's code
/// (profile-selection.json) or by a claim, never by a key element; R4's own vital-signs examples
/// conform, and the invalid cases whose fault is a vital-signs profile are refused at the element.
@Suite struct VitalSignsProfileTests {
    func findings(_ file: String, in folder: URL = Fixtures.invalid) throws -> [ConformancePackage.Finding] {
        let result = FHIRReader().read(try Fixtures.bytes(file, in: folder))
        let resource = try #require(result.resource, "\(file): \(result.issues)")
        return try ProfilesPackage.load().validate(resource, at: resource.type.name)
    }

    static func resource(_ json: String) throws -> FHIRNode {
        let result = FHIRReader().read(Array(json.utf8))
        return try #require(result.resource, "\(result.issues)")
    }

    struct Expectation: Sendable, CustomTestStringConvertible {
        var file: String
        var profile: String
        var expression: String
        /// Words the diagnostics must contain.
        var words: String
        var testDescription: String { "\(file): \(expression)" }
    }

    /// What HL7's validator reports for these cases (invalid/expected/*.outcome.json), at the
    /// element: a slice's absence at the sliced element (`code.coding`), where HL7's validator
    /// names its parent.
    static let refused: [Expectation] = [
        .init(file: "obs-temp-bad.json", profile: "bodytemp", expression: "Observation.code.coding", words: "Slice 'BodyTempCode'"),
        .init(file: "obs-vs-1.json", profile: "bp", expression: "Observation.code.coding", words: "Slice 'BPCode'"),
        .init(file: "obs-vs-2.json", profile: "bp", expression: "Observation.code.coding", words: "Slice 'BPCode'"),
        .init(file: "observation-ucum.xml", profile: "bp", expression: "Observation.category", words: "Slice 'VSCat'"),
        .init(file: "observation-ucum.xml", profile: "bp", expression: "Observation.component[0].valueQuantity.code", words: "exactly mm[Hg]"),
        .init(file: "observation-ucum.xml", profile: "bp", expression: "Observation.component[1].valueQuantity.code", words: "exactly mm[Hg]"),
        .init(file: "obs-quantity.json", profile: "bp", expression: "Observation.category", words: "At least 1 category"),
        .init(file: "obs-quantity.json", profile: "bp", expression: "Observation.subject", words: "At least 1 subject"),
        .init(file: "obs-quantity.json", profile: "bp", expression: "Observation.effective", words: "At least 1 effective[x]"),
        .init(file: "obs-quantity.json", profile: "bp", expression: "Observation.component", words: "Slice 'SystolicBP'"),
        .init(file: "obs-quantity.json", profile: "bp", expression: "Observation.component", words: "Slice 'DiastolicBP'"),
    ]

    @Test(arguments: refused)
    func invalidVitalSignIsRefusedAtTheElement(_ expectation: Expectation) throws {
        let errors = try findings(expectation.file).filter(\.issue.isError)
        #expect(
            errors.contains {
                $0.profile == expectation.profile && $0.origin == .core && $0.issue.expression == expectation.expression
                    && $0.issue.diagnostics.contains(expectation.words)
            },
            "\(errors.map(\.issue.description).joined(separator: "\n"))")
    }

    @Test func theRuleNamesTheCodeThatSelectedTheProfile() throws {
        let selected = try findings("obs-vs-1.json").filter { $0.issue.severity == .information && $0.origin == .core }
        #expect(selected.count == 1)
        #expect(selected.first?.issue.diagnostics.contains("http://loinc.org|76534-7") == true)
        #expect(selected.first?.issue.diagnostics.contains("http://hl7.org/fhir/StructureDefinition/bp") == true)
    }

    /// R4's examples of every vital-signs profile (f202, a body temperature without
    /// `effective[x]`, is the one R4 example that breaks its profile).
    static let conformingExamples = [
        "Observation-blood-pressure.json", "Observation-blood-pressure.xml", "Observation-blood-pressure-dar.json",
        "Observation-blood-pressure-cancel.json", "Observation-body-temperature.json", "Observation-body-temperature.xml",
        "Observation-heart-rate.json", "Observation-respiratory-rate.json", "Observation-satO2.json", "Observation-body-height.json",
        "Observation-body-length.json", "Observation-head-circumference.json", "Observation-example.json", "Observation-bmi.json",
        "Observation-vitals-panel.json",
    ]

    @Test(arguments: conformingExamples)
    func r4VitalSignsExampleConformsToItsProfile(_ file: String) throws {
        let found = try findings(file, in: Fixtures.r4)
        #expect(found.contains { $0.origin == .core && $0.issue.code == .informational }, "no vital-signs profile selected")
        let problems = found.filter { $0.issue.severity != .information }
        #expect(problems.isEmpty, "\(problems.map(\.issue.description).joined(separator: "\n"))")
    }

    @Test func theR4ExampleWithoutEffectiveBreaksBodytemp() throws {
        let errors = try findings("Observation-f202.json", in: Fixtures.r4).filter(\.issue.isError)
        #expect(errors.map(\.issue.expression) == ["Observation.effective"])
        #expect(errors.first?.profile == "bodytemp")
    }

    /// R4's examples claim `vitalsigns`; a blood pressure is also selected for `bp`, which derives
    /// from it and holds its constraints: it is checked against `bp` alone, each fault once.
    @Test func aBloodPressureClaimingVitalsignsIsCheckedOnceThroughBp() throws {
        let example = try #require(
            try JSONSerialization.jsonObject(with: Data(try Fixtures.bytes("Observation-blood-pressure.json"))) as? [String: Any])
        let withoutSubject = try JSONSerialization.data(withJSONObject: example.filter { $0.key != "subject" })
        let resource = try #require(FHIRReader().read(Array(withoutSubject)).resource)
        let package = try ProfilesPackage.load()
        #expect(package.selection(for: resource).profiles.map(\.name) == ["bp"])
        let errors = package.validate(resource, at: "Observation").filter(\.issue.isError)
        #expect(errors.map(\.issue.expression) == ["Observation.subject"], "\(errors.map(\.issue.description))")
        #expect(errors.first?.profile == "bp")
    }

    /// The transcription holds R4's vital-signs invariants: vs-1 (a dateTime precise to the day),
    /// vs-2 (a value, members or a data-absent reason), vs-3 (each component's value or reason).
    @Test(arguments: [
        (#""effectiveDateTime":"2020-03","valueQuantity":{"value":60,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}"#, "Observation.effectiveDateTime", "vs-1"),
        (#""effectiveDateTime":"2020-03-01""#, "Observation", "vs-2"),
        (#""effectiveDateTime":"2020-03-01","component":[{"code":{"text":"position"}}]"#, "Observation.component[0]", "vs-3"),
    ])
    func aVitalSignBreakingAnInvariantIsRefusedAtTheElement(_ members: String, _ expression: String, _ key: String) throws {
        let heartRate = #"""
            {"resourceType":"Observation","status":"final",
             "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
             "code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/p"},
            """# + members + "}"
        let errors = try ProfilesPackage.load().validate(try Self.resource(heartRate), at: "Observation").filter(\.issue.isError)
        #expect(errors.map(\.issue.expression) == [expression], "\(errors.map(\.issue.description))")
        #expect(errors.first?.issue.code == .invariant)
        #expect(errors.first?.issue.diagnostics.contains(key) == true)
        #expect(errors.first?.profile == "heartrate")
    }

    @Test func aUnitOutsideTheRequiredValueSetIsRefused() throws {
        let weight = #"""
            {"resourceType":"Observation","status":"final",
             "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
             "code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/p"},
             "effectiveDateTime":"2020-03-01","valueQuantity":{"value":70,"unit":"stone","system":"http://unitsofmeasure.org","code":"[stone_av]"}}
            """#
        let errors = try ProfilesPackage.load().validate(try Self.resource(weight), at: "Observation").filter(\.issue.isError)
        #expect(errors.map(\.issue.expression) == ["Observation.valueQuantity.code"], "\(errors.map(\.issue.description))")
        #expect(errors.first?.profile == "bodyweight")
    }

    /// `vitalsigns` constrains every Observation's shape and has no required code: chosen by its
    /// key element it would take the ADC. The guide's examples select no R4 core profile.
    @Test func noGuideExampleSelectsAnR4CoreProfile() throws {
        let package = try ProfilesPackage.load()
        for name in ProfilesPackage.exampleNames {
            let selection = package.selection(for: try ProfilesPackage.example(name))
            #expect(selection.rule == nil, "\(name)")
            #expect(selection.profiles.allSatisfy { $0.origin == .guide }, "\(name): \(selection.profiles.map(\.name))")
        }
    }

    @Test func aClaimOfAnR4CoreProfileSelectsIt() throws {
        let claiming = #"{"resourceType":"Observation","meta":{"profile":["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},"status":"final","code":{"text":"x"}}"#
        let selection = try ProfilesPackage.load().selection(for: try Self.resource(claiming))
        #expect(selection.profiles.map(\.name) == ["vitalsigns"])
    }

    /// The rules are tried in order: SNOMED CT 363811000 is in the head-circumference and the
    /// body-weight rows, and the first wins, as in HL7's validator.
    @Test func theFirstRuleMetSelectsTheProfile() throws {
        let observation = #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://snomed.info/sct","code":"363811000"}]}}"#
        let selection = try ProfilesPackage.load().selection(for: try Self.resource(observation))
        #expect(selection.profiles.map(\.name) == ["headcircum"])
        #expect(selection.rule?.code == "363811000")
    }

    @Test func everyRuleNamesAProfileTheGatewayHolds() throws {
        let package = try ProfilesPackage.load()
        let rules = try ProfileSelectionRules(json: Array(try Data(contentsOf: ProfilesPackage.folder.appendingPathComponent("r4-core/profile-selection.json"))))
        #expect(rules.rules.count == 20)
        for rule in rules.rules {
            #expect(package.profile(rule.profile)?.origin == .core, "\(rule.profile)")
        }
    }

    @Test func aRuleWhoseProfileIsNotHeldIsReportedAsNotChecked() throws {
        let rules = ProfileSelectionRules(rules: [
            .init(profile: "http://example.org/StructureDefinition/pulse", resourceType: "Observation", element: "code", system: "http://loinc.org", codes: ["8867-4"])
        ])
        let package = try ConformancePackage(resources: [], selectionRules: rules, compile: FHIRPathInvariants.compile)
        let found = package.validate(try Self.resource(#"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]}}"#), at: "Observation")
        #expect(found.map(\.issue.severity) == [.information])
        #expect(found.first?.issue.code == .notSupported)
        #expect(found.first?.profile == "unknown")
    }

    @Test func aRuleSelectingAGuideProfileIsRefused() throws {
        let resources = Fixtures.profileFiles().compactMap { FHIRReader().read($0).resource }
        let rules = ProfileSelectionRules(rules: [
            .init(
                profile: "http://fhir-risk-gateway.org/fhir/StructureDefinition/icca-adc-observation", resourceType: "Observation", element: "code",
                system: "http://loinc.org", codes: ["8867-4"])
        ])
        #expect(throws: ProfileDefinitionError.self) {
            try ConformancePackage(resources: resources, selectionRules: rules, compile: FHIRPathInvariants.compile)
        }
    }

    @Test(arguments: [
        (#"{"description":"d","source":"s","rules":[{"profile":"p","resourceType":"Observation","element":"code","system":"s","code":["1"]}]}"#, "\"code\", which is not known"),
        (#"{"description":"d","rules":[{"profile":"p","resourceType":"Observation","element":"code","system":"s","codes":["1"]}]}"#, "\"source\""),
        (#"{"description":"d","source":"s","rules":[]}"#, "\"rules\""),
        (#"{"description":"d","source":"s","rules":[{"profile":"p","resourceType":"Observation","element":"code","system":"s","codes":[1]}]}"#, "every code"),
        (#"{"description":"d","source":"s","rules":[{"profile":"","resourceType":"Observation","element":"code","system":"s","codes":["1"]}]}"#, "\"profile\""),
    ])
    func aBrokenRulesFileIsRefusedWithTheReason(_ text: String, _ words: String) {
        do {
            _ = try ProfileSelectionRules(json: Array(text.utf8))
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description.contains(words), "\(error.description)")
        }
    }
}
