import FHIRCore
import FHIRModels
import Foundation
import RiskModel
import TestSupport
import Testing

/// From FHIR resources to a RiskAssessment: units, components, refusals, secondary features and
/// the assessment's status.
@Suite struct CaseScoringTests {
    func probability(_ assessment: RiskAssessment?) -> String? {
        guard case .decimal(let value) = assessment?.prediction.first?.probability else { return nil }
        return value.value?.text
    }

    func rationale(_ assessment: RiskAssessment?) -> String {
        assessment?.prediction.first?.rationale?.value ?? ""
    }

    /// ADC 0.800 ×10⁻³ mm²/s written in every accepted spelling.
    static let spellings: [(value: String, unit: String)] = [
        ("0.0008", "mm2/s"), ("0.800", "10*-3.mm2/s"), ("0.800", "um2/ms"), ("800", "um2/s"), ("800", "10*-6.mm2/s"),
        ("0.800", "10-3.mm2/s"), ("0.800", "10^-3.mm2/s"), ("800", "10-6.mm2/s"),
    ]

    @Test func everyAcceptedUnitSpellingGivesTheSameAssessment() throws {
        var results: Set<[String]> = []
        for (value, unit) in Self.spellings {
            let outcome = try Scoring.run(Scoring.bundle([Scoring.adc(value, unit: unit)]))
            #expect(outcome.errors.isEmpty, "\(unit): \(outcome.errors)")
            let assessment = try #require(outcome.assessments.first, "\(unit)")
            #expect(probability(assessment) == "78", "\(unit)")
            let prediction = assessment.prediction.first
            // The default model's horizon is 12 months: its outcome carries the CodeSystem's code.
            #expect(prediction?.outcome?.coding.map { $0.code?.value } == ["early-progression-12mo"])
            results.insert([
                probability(assessment) ?? "", prediction?.qualitativeRisk?.coding.first?.code?.value ?? "",
                prediction?.relativeRisk?.value?.text ?? "", assessment.identifier.first?.value?.value ?? "", assessment.status.value ?? "",
            ])
        }
        #expect(results.count == 1, "\(results)")
    }

    @Test func componentsWorkAsWellAsSeparateObservations() throws {
        let separate = try Scoring.run(Scoring.bundle([Scoring.adc("0.95"), Scoring.margin("300841009")]))
        let panel = try Scoring.run(Scoring.bundle([Scoring.panel(adc: "0.95")]))
        #expect(panel.errors.isEmpty, "\(panel.errors)")
        #expect(probability(panel.assessments.first) == probability(separate.assessments.first))
        #expect(panel.cases.first?.margin == .poorlyDefined)
        #expect(rationale(panel.assessments.first).contains("poorly defined tumour margin"))
    }

    @Test func aValueWithoutUnitIsRefused() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("0.8", unit: nil)]))
        #expect(outcome.assessments.isEmpty)
        let error = try #require(outcome.errors.first)
        #expect(error.diagnostics.contains("no unit"))
        #expect(error.expression == "Bundle.entry[2].resource.valueQuantity.code")
    }

    @Test func anUnknownUnitIsRefused() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("0.8", unit: "mm2/ms")]))
        #expect(outcome.assessments.isEmpty)
        #expect(outcome.errors.first?.diagnostics.contains("'mm2/ms' is not an ADC unit") == true)
    }

    @Test(arguments: ["0.05", "4.5", "4500"])
    func implausibleValuesAreRefused(_ value: String) throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc(value)]))
        #expect(outcome.assessments.isEmpty)
        #expect(outcome.errors.first?.diagnostics.contains("outside the plausible range") == true, "\(outcome.errors)")
        #expect(outcome.errors.first?.expression == "Bundle.entry[2].resource.valueQuantity.value")
    }

    @Test func anAtypicalButPlausibleValueIsScoredWithAWarning() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("2.4")]))
        let assessment = try #require(outcome.assessments.first)
        #expect(assessment.note.contains { $0.text.value?.contains("outside the typical range") == true })
    }

    @Test func aPoorlyDefinedMarginIsInBasisAndRationale() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("1.2"), Scoring.margin("300841009")]))
        let assessment = try #require(outcome.assessments.first)
        let basis = assessment.basis.compactMap { $0.reference?.value }
        #expect(basis == [Scoring.studyURL, "urn:uuid:7d1f5c0e-7a57-4c1b-8d5e-0a4d3b2c1f00", "urn:uuid:7d1f5c0e-7a57-4c1b-8d5e-0a4d3b2c1f01"])
        #expect(rationale(assessment).contains("poorly defined tumour margin"))
        // It does not enter the probability.
        let without = try Scoring.run(Scoring.bundle([Scoring.adc("1.2")]))
        #expect(probability(assessment) == probability(without.assessments.first))
    }

    @Test func aWellDefinedMarginIsNotAnAdverseFeature() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("1.2"), Scoring.margin("260409000")]))
        #expect(outcome.cases.first?.margin == .wellDefined)
        #expect(rationale(outcome.assessments.first).contains("No adverse secondary feature"))
    }

    @Test func withdrawingTheADCWithdrawsTheAssessmentIssuedUnderTheSameIdentity() throws {
        let scored = try Scoring.run(Scoring.bundle([Scoring.adc("0.8")]))
        let withdrawn = try Scoring.run(Scoring.bundle([Scoring.adc("0.8", status: "entered-in-error")]), prior: Scoring.prior(scored))
        let decision = try #require(withdrawn.result.decisions.first)
        guard case .withdrawn(let reason) = decision.kind else {
            Issue.record("not withdrawn: \(decision.kind)")
            return
        }
        #expect(reason.contains("withdrawn"), "\(reason)")
        #expect(decision.assessment.status.value == "entered-in-error")
        #expect(decision.assessment.identifier == scored.assessments.first?.identifier)
        #expect(decision.assessment.note.last?.text.value?.hasPrefix("Withdrawn:") == true)
    }

    @Test func nothingIsWithdrawnForACaseThatNeverHadAnAssessment() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("0.8", status: "entered-in-error")]))
        #expect(outcome.result.decisions.isEmpty)
        #expect(outcome.held.contains { $0.contains("withdrawn") }, "\(outcome.held)")
    }

    @Test func aCorrectedADCReScoresUnderTheSameIdentity() throws {
        let first = try Scoring.run(Scoring.bundle([Scoring.adc("0.8")]))
        let corrected = try Scoring.run(Scoring.bundle([Scoring.adc("1.3", status: "corrected")]), prior: Scoring.prior(first))
        let assessment = try #require(corrected.assessments.first)
        #expect(corrected.assessments.count == 1)
        #expect(assessment.status.value == "amended")
        #expect(assessment.identifier == first.assessments.first?.identifier)
        #expect(probability(assessment) == "28")
    }

    @Test func aPreliminaryADCIsHeld() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("0.8", status: "preliminary")]))
        #expect(outcome.assessments.isEmpty)
        #expect(outcome.errors.isEmpty)
        #expect(outcome.held.first?.contains("'preliminary'") == true, "\(outcome.held)")
    }

    @Test func aCaseWithoutItsStudyIsHeldOrPreliminaryAsConfigured() throws {
        let json = Scoring.bundle([Scoring.adc("0.8")], withStudy: false)
        let held = try Scoring.run(json)
        #expect(held.assessments.isEmpty)
        #expect(held.held.first?.contains("Waiting for the MR ImagingStudy") == true, "\(held.held)")
        let preliminary = try Scoring.run(json, policy: CasePolicy(scoreWithoutStudy: true))
        #expect(preliminary.assessments.first?.status.value == "preliminary")
    }

    @Test func severalADCValuesUseTheLowestByDefault() throws {
        let values = [
            Scoring.adc("1.20", id: "a", effective: "2026-03-02T09:15:00Z"), Scoring.adc("0.90", id: "b", effective: "2026-03-02T09:10:00Z"),
            Scoring.adc("1.05", id: "c", effective: "2026-03-02T09:20:00Z"),
        ]
        let lowest = try Scoring.run(Scoring.bundle(values))
        #expect(lowest.cases.first?.adc == 0.90)
        #expect(rationale(lowest.assessments.first).contains("the lowest"))
        let mean = try Scoring.run(
            Scoring.bundle(values),
            parameters: try Scoring.parameters { $0 = $0.replacingOccurrences(of: "multipleADC: lowest", with: "multipleADC: mean") })
        #expect(abs((mean.cases.first?.adc ?? 0) - 1.05) < 1e-9)
        let latest = try Scoring.run(
            Scoring.bundle(values),
            parameters: try Scoring.parameters { $0 = $0.replacingOccurrences(of: "multipleADC: lowest", with: "multipleADC: latest") })
        #expect(latest.cases.first?.adc == 1.05)
    }

    @Test func resourcesWithoutAnADCAnswerNotFound() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.margin("300841009")]))
        #expect(outcome.assessments.isEmpty)
        #expect(outcome.errors.first?.code == .notFound)
        #expect(outcome.errors.first?.diagnostics.contains("No ADC observation was found") == true)
    }

    @Test func everyAssessmentPassesTheProjectsOwnValidator() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("0.8"), Scoring.margin("300841009")]))
        for assessment in outcome.assessments {
            let issues = FHIRValidator().validate(assessment.node)
            #expect(issues.isEmpty, "\(issues)")
            for format in [FHIRFormat.json, .xml] {
                let bytes = format == .json ? FHIRJSONWriter().write(assessment.node) : FHIRXMLWriter().write(assessment.node)
                let read = FHIRReader().read(bytes)
                #expect(read.isValid, "\(read.issues)")
                #expect(try RiskAssessment(resource: try #require(read.resource)) == assessment)
            }
        }
    }
}

/// The secondary features coded the other ways the issue names, and a site's own code added to a
/// ValueSet — data, not Swift.
@Suite struct SecondaryFeatureTests {
    static func finding(_ code: String, system: String = Scoring.localSystem, value: String, id: String) -> String {
        #"""
        {"resourceType":"Observation","id":"\#(id)","status":"final","code":{"coding":[{"system":"\#(system)","code":"\#(code)"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-03-02","\#(value),"derivedFrom":[{"reference":"\#(Scoring.studyURL)"}]}
        """#
    }

    @Test func enhancementAndLymphNodesAsBooleanOrCodedValues() throws {
        let outcome = try Scoring.run(
            Scoring.bundle([
                Scoring.adc("1.2"),
                Self.finding("arterial-peritumoral-enhancement", value: #"valueBoolean":true"#, id: "ape"),
                Self.finding(
                    "21906-3",
                    system: "http://loinc.org",
                    value: #"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"52101004"}]}"#,
                    id: "ln"
                ),
            ])
        )
        let features = try #require(outcome.cases.first)
        #expect(features.arterialPeritumoralEnhancement == true)
        #expect(features.lymphNodeMetastasis == true)
        #expect(features.basis.count == 4)
        let rationale = outcome.assessments.first?.prediction.first?.rationale?.value ?? ""
        #expect(rationale.contains("arterial peritumoral enhancement"))
        #expect(rationale.contains("lymph-node metastasis"))

        let absent = try Scoring.run(
            Scoring.bundle([
                Scoring.adc("1.2"),
                Self.finding(
                    "lymph-node-metastasis", value: #"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"2667000"}]}"#,
                    id: "ln"),
            ])
        )
        #expect(absent.cases.first?.lymphNodeMetastasis == false)
    }

    @Test func aSiteCodeAddedToAValueSetIsRecognised() throws {
        let local = Self.finding(
            "ADC-LOCAL", system: "http://hospital.example/codes",
            value: #"bodySite":\#(Scoring.liver),"valueQuantity":{"value":0.8,"system":"http://unitsofmeasure.org","code":"10*-3.mm2/s"}"#, id: "a")
        let before = try Scoring.run(Scoring.bundle([local]))
        #expect(before.cases.isEmpty)

        // The site's copy of ValueSet-adc.json with one more include.
        let folder = Fixtures.packageRoot.appendingPathComponent("Profiles")
        var valueSets: [FHIRNode] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasPrefix("ValueSet-") {
            var text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            if name == "ValueSet-adc.json" {
                text = text.replacingOccurrences(
                    of: #""include": ["#,
                    with: #""include": [{"system": "http://hospital.example/codes", "concept": [{"code": "ADC-LOCAL"}]},"#
                )
            }
            valueSets.append(try #require(FHIRReader().read(Array(text.utf8)).resource))
        }
        let codes = try FeatureCodes(valueSets: valueSets)
        let node = try #require(FHIRReader().read(Array(Scoring.bundle([local]).utf8)).resource)
        let after = FeatureExtractor(codes: codes, parameters: try Scoring.parameters()).extract(
            from: try CaseResources(documents: [node]), now: Scoring.now)
        #expect(after.cases.first?.adc == 0.8)
    }
}
