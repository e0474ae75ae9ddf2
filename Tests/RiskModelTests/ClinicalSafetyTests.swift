import FHIRCore
import FHIRModels
import Foundation
import RiskModel
import Testing

/// Who and what is scored: eligibility, the right ADC (site, derivation, study, baseline), values
/// outside the soft range, what was not understood, and the lifecycle of an assessment, all
/// through `CaseAssessor` with no server.
@Suite struct ClinicalSafetyTests {
    static let second = "urn:uuid:7d1f5c0e-7a57-4c1b-8d5e-0a4d3b2c1e02"

    /// A collection Bundle of the given (fullUrl, resource) pairs.
    static func collection(_ entries: [(String, String)]) -> String {
        #"{"resourceType":"Bundle","type":"collection","entry":[\#(entries.map { #"{"fullUrl":"\#($0.0)","resource":\#($0.1)}"# }.joined(separator: ","))]}"#
    }

    static func coding(_ system: String, _ code: String) -> String {
        #"{"coding":[{"system":"\#(system)","code":"\#(code)"}]}"#
    }

    static let sct = "http://snomed.info/sct"
    static let icdO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"

    func rationale(_ outcome: Scoring.Outcome) -> String {
        outcome.assessments.first?.prediction.first?.rationale?.value ?? ""
    }

    // MARK: - Eligibility

    @Test func aPatientWithoutTheDiagnosisIsHeldWithTheReason() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("0.8")], withCondition: false))
        #expect(outcome.assessments.isEmpty)
        #expect(outcome.errors.isEmpty)
        #expect(outcome.held.first?.hasPrefix("Not eligible") == true, "\(outcome.held)")
    }

    @Test(arguments: [("provisional", "active"), ("confirmed", "resolved"), ("refuted", "active"), ("entered-in-error", "active")])
    func aConditionThatIsNotConfirmedAndActiveDoesNotMakeThePatientEligible(verification: String, clinical: String) throws {
        let json = Self.collection([
            (Scoring.conditionURL, Scoring.condition(clinical: clinical, verification: verification)),
            (Scoring.studyURL, Scoring.study()), ("urn:uuid:a", Scoring.adc("0.8")),
        ])
        let outcome = try Scoring.run(json)
        #expect(outcome.assessments.isEmpty)
        #expect(outcome.held.first?.hasPrefix("Not eligible") == true)
    }

    @Test func aConfirmedActiveICCAConditionMakesThePatientEligibleAndIsTheAssessmentsCondition() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("0.8")]))
        let assessment = try #require(outcome.assessments.first)
        #expect(assessment.condition?.reference?.value == Scoring.conditionURL)
    }

    @Test func morphologyCountsOnlyWithTheIntrahepaticTopography() throws {
        let morphology = Self.coding(Self.icdO3, "8160/3")
        let withTopography = Self.collection([
            (Scoring.conditionURL, Scoring.condition(code: morphology, bodySite: Self.coding(Self.icdO3, "C22.1"))),
            (Scoring.studyURL, Scoring.study()), ("urn:uuid:a", Scoring.adc("0.8")),
        ])
        #expect(try Scoring.run(withTopography).assessments.count == 1)
        let alone = Self.collection([
            (Scoring.conditionURL, Scoring.condition(code: morphology)), (Scoring.studyURL, Scoring.study()), ("urn:uuid:a", Scoring.adc("0.8")),
        ])
        #expect(try Scoring.run(alone).assessments.isEmpty)
    }

    @Test func theStudysReasonCodeMakesThePatientEligible() throws {
        let json = Self.collection([
            (Scoring.studyURL, Scoring.study(reason: Self.coding("http://hl7.org/fhir/sid/icd-10", "C22.1"))), ("urn:uuid:a", Scoring.adc("0.8")),
        ])
        let assessment = try #require(try Scoring.run(json).assessments.first)
        #expect(assessment.condition == nil)
    }

    @Test func eligibilityAnyScoresEveryPatientAndSaysSo() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("0.8")], withCondition: false), policy: CasePolicy(eligibility: .any))
        let assessment = try #require(outcome.assessments.first)
        #expect(assessment.note.contains { $0.text.value?.hasPrefix("Eligibility not checked") == true })
    }

    // MARK: - The right measurement

    @Test func anADCOfAnotherOrganIsSetAsideWithAnInformationIssue() throws {
        let prostate = Self.coding(Self.sct, "41216001")
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("0.8", site: prostate)]))
        #expect(outcome.assessments.isEmpty)
        let information = try #require(outcome.information.first)
        #expect(information.diagnostics.contains("not in the liver or the intrahepatic bile ducts"))
        #expect(information.expression == "Bundle.entry[2].resource.bodySite")
        #expect(outcome.held.contains { $0.hasPrefix("No ADC of this case qualifies") })
    }

    @Test func anADCWithoutABodySiteCountsOnlyWhenTheSiteSaysSo() throws {
        let json = Scoring.bundle([Scoring.adc("0.8", site: nil)])
        let strict = try Scoring.run(json)
        #expect(strict.assessments.isEmpty)
        #expect(strict.information.first?.diagnostics.contains("gives no body site") == true)
        let lenient = try Scoring.run(json, policy: CasePolicy(requireBodySite: false))
        let assessment = try #require(lenient.assessments.first)
        #expect(assessment.note.contains { $0.text.value?.contains("cases.requireBodySite is false") == true })
        #expect(assessment.prediction.first?.rationale?.value?.contains("with no body site given, counted under cases.requireBodySite: false") == true)
    }

    @Test func aBackgroundLiverADCIsNotTheTumours() throws {
        let background = Self.coding(Scoring.localSystem, "background-liver")
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("1.3", id: "bg", site: background), Scoring.adc("0.9", id: "tumour")]))
        #expect(outcome.cases.first?.adc == 0.9)
        #expect(outcome.information.contains { $0.diagnostics.contains("reference region") })
    }

    @Test func theBodySiteOfTheLesionInFocusCounts() throws {
        let lesion = Scoring.condition(
            code: Self.coding(Self.sct, "126851005"), id: "lesion-1", bodySite: Scoring.liver)
        var adc = Scoring.adc("0.8", site: nil)
        adc = adc.replacingOccurrences(of: #""valueQuantity""#, with: #""focus":[{"reference":"urn:uuid:7d1f5c0e-7a57-4c1b-8d5e-0a4d3b2c1e0a"}],"valueQuantity""#)
        let json = Self.collection([
            (Scoring.conditionURL, Scoring.condition()), ("urn:uuid:7d1f5c0e-7a57-4c1b-8d5e-0a4d3b2c1e0a", lesion), (Scoring.studyURL, Scoring.study()), ("urn:uuid:a", adc),
        ])
        #expect(try Scoring.run(json).assessments.count == 1)
    }

    @Test(arguments: ["255605001", "56851009", "386136009", "373099004"])
    func aMinimumMaximumOrStandardDeviationIsNeverTheScoredValue(_ derivation: String) throws {
        let outcome = try Scoring.run(
            Scoring.bundle([
                Scoring.adc("0.25", id: "derived", method: Self.coding(Self.sct, derivation)), Scoring.adc("1.1", id: "mean", method: Scoring.mean),
            ]))
        #expect(outcome.cases.first?.adc == 1.1)
        #expect(outcome.information.contains { $0.diagnostics.contains(derivation) && $0.diagnostics.contains("not the mean") })
        #expect(!rationale(outcome).contains("0.25"))
    }

    @Test func aFittingMethodLeavesTheDerivationUnstatedAndTheADCCounts() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("0.8", method: Self.coding(Scoring.dcm, "113250"))]))
        #expect(outcome.assessments.count == 1)
    }

    @Test func severalLesionMeansAreAllListedAndTheLowestDecides() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("1.10", id: "a"), Scoring.adc("0.70", id: "b")]))
        #expect(outcome.cases.first?.adc == 0.70)
        #expect(rationale(outcome).contains("of the 2 lesion means considered: 1.10 10*-3.mm2/s in Liver, 0.70 10*-3.mm2/s in Liver"))
    }

    @Test func aWithdrawnStudyIsNotScored() throws {
        let json = Self.collection([
            (Scoring.conditionURL, Scoring.condition()), (Scoring.studyURL, Scoring.study(status: "entered-in-error")),
            ("urn:uuid:a", Scoring.adc("0.8")),
        ])
        let outcome = try Scoring.run(json)
        #expect(outcome.assessments.isEmpty)
        #expect(outcome.held.contains { $0.contains("'entered-in-error'") }, "\(outcome.held)")
    }

    @Test func anADCThatNamesACTStudyIsNeverMatchedToAnMRStudyByDate() throws {
        let json = Self.collection([
            (Scoring.conditionURL, Scoring.condition()), (Scoring.studyURL, Scoring.study()),
            (Self.second, Scoring.study(id: "ct-1", uid: "urn:oid:1.2.3.4", modality: "CT")),
            ("urn:uuid:a", Scoring.adc("0.8", link: Self.second)),
        ])
        let outcome = try Scoring.run(json)
        #expect(outcome.assessments.isEmpty)
        #expect(outcome.held.contains { $0.contains("not an MR study") }, "\(outcome.held)")
    }

    @Test func onlyTheBaselineStudyIsScored() throws {
        let followUp = Scoring.study(id: "mri-2", uid: "urn:oid:1.2.3.5", started: "2026-05-02T09:15:00Z")
        let json = Self.collection([
            (Scoring.conditionURL, Scoring.condition()), (Scoring.studyURL, Scoring.study()), (Self.second, followUp),
            ("urn:uuid:a", Scoring.adc("1.3")),
            ("urn:uuid:b", Scoring.adc("0.6", id: "adc-2", effective: "2026-05-02T09:15:00Z", link: Self.second)),
        ])
        let earliest = try Scoring.run(json, now: Date(timeIntervalSince1970: 1_777_800_000))
        #expect(earliest.assessments.count == 1)
        #expect(earliest.cases.first?.caseKey == Scoring.studyUID)
        #expect(earliest.held.contains { $0.contains("not the patient's baseline") })
        let latest = try Scoring.run(json, policy: CasePolicy(baseline: .latest), now: Date(timeIntervalSince1970: 1_777_800_000))
        #expect(latest.cases.map(\.caseKey) == ["urn:oid:1.2.3.5"])
    }

    @Test func aStudyOlderThanTheLimitWhenItArrivesIsNotScored() throws {
        let json = Scoring.bundle([Scoring.adc("0.8")])
        // 2026-09-01: the study of 2026-03-02 is 183 days old.
        let late = Date(timeIntervalSince1970: 1_788_220_800)
        let outcome = try Scoring.run(json, now: late)
        #expect(outcome.assessments.isEmpty)
        #expect(outcome.held.contains { $0.contains("183 days") && $0.contains("cases.maxStudyAgeDays (120)") }, "\(outcome.held)")
        #expect(try Scoring.run(json, policy: CasePolicy(maxStudyAgeDays: 200), now: late).assessments.count == 1)
    }

    // MARK: - Out of range, not understood, method

    @Test(arguments: ["0.25", "3.2"])
    func outsideTheSoftRangeTheStratumIsGivenWithoutAProbability(_ value: String) throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc(value)]))
        let prediction = try #require(outcome.assessments.first?.prediction.first)
        #expect(prediction.probability == nil)
        #expect(prediction.relativeRisk == nil)
        #expect(prediction.qualitativeRisk?.coding.first?.code?.value == (value == "0.25" ? "high" : "low"))
        #expect(prediction.rationale?.value?.contains("No probability is given") == true)
        #expect(outcome.result.issues.contains { $0.severity == .warning && $0.diagnostics.contains("without a probability") })
    }

    @Test func theProbabilityIsAWholePercentWithItsBasisInWords() throws {
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("0.8")]))
        guard case .decimal(let value) = outcome.assessments.first?.prediction.first?.probability else {
            Issue.record("no probability")
            return
        }
        #expect(value.value?.text == "78")
        #expect(rationale(outcome).contains("78 %, to the nearest whole percent (the model rests on 43 patients"))
    }

    @Test func anObservationNotRecognisedIsListedAndNoAdverseFeatureIsNotClaimed() throws {
        let textOnly = #"""
            {"resourceType":"Observation","id":"m-text","status":"final","code":{"text":"Tumour margin"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-03-02","valueString":"ill-defined","partOf":[{"reference":"\#(Scoring.studyURL)"}]}
            """#
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("1.2"), textOnly]))
        let text = rationale(outcome)
        #expect(text.contains("Not recognised, so not considered"))
        #expect(text.contains("\"Tumour margin\" (text only, no coding)"))
        #expect(!text.contains("No adverse secondary feature"))
        let understood = try Scoring.run(Scoring.bundle([Scoring.adc("1.2"), Scoring.margin("260409000")]))
        #expect(rationale(understood).contains("No adverse secondary feature was reported"))
    }

    @Test func theMethodCodingCarriesNoModelVersion() throws {
        let method = try #require(try Scoring.run(Scoring.bundle([Scoring.adc("0.8")])).assessments.first?.method)
        #expect(method.coding.first?.version == nil)
        #expect(method.text?.value == "Sheng 2022 JMRI ADC model, model version 1")
    }

    // MARK: - Lifecycle

    @Test func aPreliminaryAssessmentAndItsFinalVersionShareOneIdentity() throws {
        let policy = CasePolicy(scoreWithoutStudy: true)
        let adc = Scoring.adc("0.8", link: nil)
        let preliminary = try Scoring.run(Scoring.bundle([adc], withStudy: false), policy: policy)
        #expect(preliminary.assessments.first?.status.value == "preliminary")
        let final = try Scoring.run(Scoring.bundle([adc]), policy: policy, prior: Scoring.prior(preliminary))
        #expect(final.result.decisions.count == 1)
        #expect(final.assessments.first?.status.value == "final")
        #expect(final.assessments.first?.identifier == preliminary.assessments.first?.identifier)
        // Decided again with the final one as prior: still the one identity, nothing withdrawn.
        let again = try Scoring.run(Scoring.bundle([adc]), policy: policy, prior: Scoring.prior(final))
        #expect(again.result.decisions.map(\.identifier) == final.result.decisions.map(\.identifier))
        // A preliminary assessment stored before the gateway kept case keys is continued too.
        var legacy = Scoring.prior(preliminary)
        legacy[0].caseKey = nil
        legacy[0].identifier = "urn:uuid:00000000-0000-4000-8000-0000000000aa"
        legacy[0].assessment.identifier[0].value = "urn:uuid:00000000-0000-4000-8000-0000000000aa"
        let continued = try Scoring.run(Scoring.bundle([adc], withStudy: false), policy: policy, prior: legacy)
        #expect(continued.result.decisions.map(\.identifier) == ["urn:uuid:00000000-0000-4000-8000-0000000000aa"])
    }

    @Test func anADCReCodedOrMovedToAnotherOrganWithdrawsTheAssessment() throws {
        let first = try Scoring.run(Scoring.bundle([Scoring.adc("0.8")]))
        let recoded = Scoring.adc("0.8").replacingOccurrences(of: "113041", with: "999999")
        let prostate = Scoring.adc("0.8", site: Self.coding(Self.sct, "41216001"))
        for changed in [recoded, prostate] {
            let outcome = try Scoring.run(Scoring.bundle([changed]), prior: Scoring.prior(first))
            let decision = try #require(outcome.result.decisions.first)
            #expect(decision.assessment.status.value == "entered-in-error")
            #expect(decision.identifier == first.result.decisions.first?.identifier)
        }
    }

    @Test func aReLinkedADCWithdrawsTheFirstStudysAssessmentAndScoresNoSecond() throws {
        let followUp = Scoring.study(id: "mri-2", uid: "urn:oid:1.2.3.5", started: "2026-03-20T09:15:00Z")
        let first = try Scoring.run(
            Self.collection([
                (Scoring.conditionURL, Scoring.condition()), (Scoring.studyURL, Scoring.study()), (Self.second, followUp),
                ("urn:uuid:a", Scoring.adc("0.8")),
            ]), now: Date(timeIntervalSince1970: 1_774_000_000))
        #expect(first.assessments.count == 1)
        let relinked = try Scoring.run(
            Self.collection([
                (Scoring.conditionURL, Scoring.condition()), (Scoring.studyURL, Scoring.study()), (Self.second, followUp),
                ("urn:uuid:a", Scoring.adc("0.8", link: Self.second)),
            ]), prior: Scoring.prior(first), now: Date(timeIntervalSince1970: 1_774_000_000))
        #expect(relinked.result.decisions.map { $0.assessment.status.value } == ["entered-in-error"])
    }

    @Test func eligibilityWithdrawnWithdrawsTheAssessment() throws {
        let first = try Scoring.run(Scoring.bundle([Scoring.adc("0.8")]))
        let json = Self.collection([
            (Scoring.conditionURL, Scoring.condition(verification: "entered-in-error")), (Scoring.studyURL, Scoring.study()),
            ("urn:uuid:a", Scoring.adc("0.8")),
        ])
        let outcome = try Scoring.run(json, prior: Scoring.prior(first))
        let decision = try #require(outcome.result.decisions.first)
        #expect(decision.assessment.status.value == "entered-in-error")
        guard case .withdrawn(let reason) = decision.kind else {
            Issue.record("not withdrawn")
            return
        }
        #expect(reason.hasPrefix("Not eligible"))
    }
}
