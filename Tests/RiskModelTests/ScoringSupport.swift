import FHIRCore
import FHIRModels
import Foundation
import RiskModel
import TestSupport
import Testing

/// The shipped model file and Profiles, and small FHIR cases written as JSON, for the tests.
enum Scoring {
    static let modelText: String = {
        let url = Fixtures.packageRoot.appendingPathComponent("Config/models/sheng2022.yaml")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }()

    static func parameters(_ edit: (inout String) -> Void = { _ in }) throws -> ModelParameters {
        var text = modelText
        edit(&text)
        return try ModelParameters(yaml: text)
    }

    static let codes: FeatureCodes = {
        do {
            return try FeatureCodes(valueSets: Fixtures.valueSetFiles().compactMap { FHIRReader().read($0).resource })
        } catch {
            fatalError("the Profiles ValueSets do not load: \(error)")
        }
    }()

    static let studyURL = "urn:uuid:7d1f5c0e-7a57-4c1b-8d5e-0a4d3b2c1e01"
    static let conditionURL = "urn:uuid:7d1f5c0e-7a57-4c1b-8d5e-0a4d3b2c1e00"
    static let studyUID = "urn:oid:1.2.840.113619.2.55.3.1"
    /// The time the tests' cases are assessed at (and arrive at): the day after the study.
    static let now = Date(timeIntervalSince1970: 1_772_532_000)  // 2026-03-03T10:00:00Z

    static let dcm = "http://dicom.nema.org/resources/ontology/DCM"
    static let liver = #"{"coding":[{"system":"http://snomed.info/sct","code":"10200004","display":"Liver"}]}"#
    static let mean = #"{"coding":[{"system":"http://snomed.info/sct","code":"373098007","display":"Mean"}]}"#

    /// A confirmed, active intrahepatic cholangiocarcinoma (ICD-10 C22.1) of Patient/p1.
    static func condition(
        code: String = #"{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"C22.1"}]}"#, clinical: String = "active",
        verification: String = "confirmed", id: String = "icca-1", bodySite: String? = nil
    ) -> String {
        let site = bodySite.map { #","bodySite":[\#($0)]"# } ?? ""
        return #"""
            {"resourceType":"Condition","id":"\#(id)","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"\#(clinical)"}]},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"\#(verification)"}]},"code":\#(code)\#(site),"subject":{"reference":"Patient/p1"}}
            """#
    }

    /// An MR study of Patient/p1.
    static func study(
        id: String = "mri-1", uid: String = studyUID, started: String = "2026-03-02T09:15:00Z", status: String = "available", modality: String = "MR",
        reason: String? = nil
    ) -> String {
        let reasonCode = reason.map { #","reasonCode":[\#($0)]"# } ?? ""
        return #"""
            {"resourceType":"ImagingStudy","id":"\#(id)","identifier":[{"system":"urn:dicom:uid","value":"\#(uid)"}],"status":"\#(status)","modality":[{"system":"\#(dcm)","code":"\#(modality)"}],"subject":{"reference":"Patient/p1"},"started":"\#(started)"\#(reasonCode)}
            """#
    }

    /// A collection Bundle: the iCCA Condition (unless `withCondition` is false), an MR study
    /// (unless `withStudy` is false) and the given resources.
    static func bundle(_ observations: [String], withStudy: Bool = true, withCondition: Bool = true) -> String {
        var entries: [String] = []
        if withCondition { entries.append(#"{"fullUrl":"\#(conditionURL)","resource":\#(condition())}"#) }
        if withStudy { entries.append(#"{"fullUrl":"\#(studyURL)","resource":\#(study())}"#) }
        for (i, observation) in observations.enumerated() {
            entries.append(#"{"fullUrl":"urn:uuid:7d1f5c0e-7a57-4c1b-8d5e-0a4d3b2c1f\#(String(format: "%02d", i))","resource":\#(observation)}"#)
        }
        return #"{"resourceType":"Bundle","type":"collection","entry":[\#(entries.joined(separator: ","))]}"#
    }

    static func adcCode(_ code: String = "113041") -> String {
        #"{"coding":[{"system":"\#(dcm)","code":"\#(code)"}]}"#
    }

    static func quantity(_ value: String, unit: String?) -> String {
        guard let unit else { return #"{"value":\#(value)}"# }
        return #"{"value":\#(value),"system":"http://unitsofmeasure.org","code":"\#(unit)"}"#
    }

    /// An ADC Observation of the tumour in the liver, linked to the study (`link`: the reference
    /// in derivedFrom, nil for none).
    static func adc(
        _ value: String,
        unit: String? = "10*-3.mm2/s",
        status: String = "final",
        id: String = "adc-1",
        effective: String = "2026-03-02T09:15:00Z",
        site: String? = liver,
        method: String? = nil,
        link: String? = studyURL
    ) -> String {
        let bodySite = site.map { #","bodySite":\#($0)"# } ?? ""
        let methodText = method.map { #","method":\#($0)"# } ?? ""
        let derivedFrom = link.map { #","derivedFrom":[{"reference":"\#($0)"}]"# } ?? ""
        return #"""
            {"resourceType":"Observation","id":"\#(id)","status":"\#(status)","code":\#(adcCode()),"subject":{"reference":"Patient/p1"},"effectiveDateTime":"\#(effective)"\#(bodySite)\#(methodText),"valueQuantity":\#(quantity(value, unit: unit))\#(derivedFrom)}
            """#
    }

    static let localSystem = "http://fhir-risk-gateway.org/fhir/CodeSystem/fhir-risk-gateway"

    static func margin(_ snomed: String, id: String = "margin-1") -> String {
        #"""
        {"resourceType":"Observation","id":"\#(id)","status":"final","code":{"coding":[{"system":"\#(localSystem)","code":"tumour-margin"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-03-02","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"\#(snomed)"}]},"partOf":[{"reference":"\#(studyURL)"}]}
        """#
    }

    /// One Observation carrying the ADC and the margin as components.
    static func panel(adc value: String, unit: String = "10*-3.mm2/s", marginCode: String = "300841009") -> String {
        #"""
        {"resourceType":"Observation","id":"panel-1","status":"final","code":{"text":"MRI liver tumour findings"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-03-02T09:15:00Z","bodySite":\#(liver),"derivedFrom":[{"reference":"\#(studyURL)"}],"component":[{"code":\#(adcCode()),"valueQuantity":\#(quantity(value, unit: unit))},{"code":{"coding":[{"system":"\#(localSystem)","code":"tumour-margin"}]},"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"\#(marginCode)"}]}}]}
        """#
    }

    struct Outcome {
        var result: CaseAssessor.Result
        var cases: [CaseFeatures] { result.cases }
        var assessments: [RiskAssessment] { result.decisions.map(\.assessment) }
        var scores: [ADCScore] {
            result.decisions.compactMap { decision in
                if case .assessed(let score) = decision.kind { return score }
                return nil
            }
        }
        var errors: [FHIRIssue] { result.issues.filter(\.isError) }
        var information: [FHIRIssue] { result.issues.filter { $0.severity == .information } }
        var held: [String] { result.held.map(\.reason.diagnostics) }
    }

    static func resources(_ json: String) throws -> CaseResources {
        let read = FHIRReader().read(Array(json.utf8))
        #expect(read.isValid, "the test case is not valid FHIR: \(read.issues)")
        return try CaseResources(documents: [try #require(read.resource)])
    }

    /// Reads, validates and assesses, as `score` does (and the daemon, with what it issued before
    /// as `prior`).
    static func run(
        _ json: String, parameters: ModelParameters? = nil, policy: CasePolicy = CasePolicy(), prior: [CaseAssessor.PriorAssessment] = [],
        now: Date = Scoring.now
    ) throws -> Outcome {
        let assessor = CaseAssessor(codes: codes, parameters: try parameters ?? Self.parameters(), policy: policy)
        return Outcome(result: assessor.assess(try resources(json), prior: prior, now: now))
    }

    /// The assessments of `outcome` as the daemon keeps them, for the next decision.
    static func prior(_ outcome: Outcome) -> [CaseAssessor.PriorAssessment] {
        outcome.result.decisions.map { CaseAssessor.PriorAssessment(identifier: $0.identifier, caseKey: $0.caseKey, assessment: $0.assessment) }
    }
}
