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
        let folder = Fixtures.packageRoot.appendingPathComponent("Profiles")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let valueSets = names.filter { $0.hasPrefix("ValueSet-") }.compactMap { name -> FHIRNode? in
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else { return nil }
            return FHIRReader().read(Array(data)).resource
        }
        do {
            return try FeatureCodes(valueSets: valueSets)
        } catch {
            fatalError("the Profiles ValueSets do not load: \(error)")
        }
    }()

    static let studyURL = "urn:uuid:7d1f5c0e-7a57-4c1b-8d5e-0a4d3b2c1e01"

    /// A collection Bundle: an MR study (unless `withStudy` is false) and the given observations.
    static func bundle(_ observations: [String], withStudy: Bool = true) -> String {
        var entries: [String] = []
        if withStudy {
            entries.append(
                #"""
                {"fullUrl":"\#(studyURL)","resource":{"resourceType":"ImagingStudy","id":"mri-1","identifier":[{"system":"urn:dicom:uid","value":"urn:oid:1.2.840.113619.2.55.3.1"}],"status":"available","modality":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"MR"}],"subject":{"reference":"Patient/p1"},"started":"2026-03-02T09:15:00Z"}}
                """#
            )
        }
        for (i, observation) in observations.enumerated() {
            entries.append(#"{"fullUrl":"urn:uuid:7d1f5c0e-7a57-4c1b-8d5e-0a4d3b2c1f\#(String(format: "%02d", i))","resource":\#(observation)}"#)
        }
        return #"{"resourceType":"Bundle","type":"collection","entry":[\#(entries.joined(separator: ","))]}"#
    }

    static func adcCode(_ code: String = "113041") -> String {
        #"{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"\#(code)"}]}"#
    }

    static func quantity(_ value: String, unit: String?) -> String {
        guard let unit else { return #"{"value":\#(value)}"# }
        return #"{"value":\#(value),"system":"http://unitsofmeasure.org","code":"\#(unit)"}"#
    }

    /// An ADC Observation linked to the study.
    static func adc(
        _ value: String,
        unit: String? = "10*-3.mm2/s",
        status: String = "final",
        id: String = "adc-1",
        effective: String = "2026-03-02T09:15:00Z"
    ) -> String {
        #"""
        {"resourceType":"Observation","id":"\#(id)","status":"\#(status)","code":\#(adcCode()),"subject":{"reference":"Patient/p1"},"effectiveDateTime":"\#(effective)","valueQuantity":\#(quantity(value, unit: unit)),"derivedFrom":[{"reference":"\#(studyURL)"}]}
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
        {"resourceType":"Observation","id":"panel-1","status":"final","code":{"text":"MRI liver tumour findings"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-03-02T09:15:00Z","derivedFrom":[{"reference":"\#(studyURL)"}],"component":[{"code":\#(adcCode()),"valueQuantity":\#(quantity(value, unit: unit))},{"code":{"coding":[{"system":"\#(localSystem)","code":"tumour-margin"}]},"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"\#(marginCode)"}]}}]}
        """#
    }

    struct Outcome {
        var extraction: FeatureExtractor.Result
        var assessments: [RiskAssessment]
        var scores: [ADCScore]
        var errors: [FHIRIssue] { extraction.issues.filter(\.isError) }
    }

    /// Reads, validates, extracts, scores and builds, as `score` does.
    static func run(_ json: String, parameters: ModelParameters? = nil) throws -> Outcome {
        let parameters = try parameters ?? Self.parameters()
        let read = FHIRReader().read(Array(json.utf8))
        #expect(read.isValid, "the test case is not valid FHIR: \(read.issues)")
        let resource = try #require(read.resource)
        let extraction = FeatureExtractor(codes: codes, parameters: parameters).extract(from: try CaseResources(documents: [resource]))
        let model = ADCLogisticModel(parameters: parameters)
        let builder = RiskAssessmentBuilder(parameters: parameters)
        let scores = extraction.cases.map { model.score(adc: $0.adc) }
        let time = try #require(FHIRDateTime(fhirText: "2026-03-03T10:00:00Z"))
        let assessments = zip(extraction.cases, scores).map { builder.build($0, score: $1, assessedAt: time) }
        return Outcome(extraction: extraction, assessments: assessments, scores: scores)
    }
}
