import FHIRCore
import FHIRModels

/// Whether a patient is in the model's population: unresectable intrahepatic cholangiocarcinoma.
extension FeatureExtractor {
    static let clinicalStatusSystem = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    static let verificationStatusSystem = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    /// `active` and the two codes below it in the condition-clinical hierarchy.
    static let activeStatuses: Set<String> = ["active", "recurrence", "relapse"]

    /// Why the patient is eligible, or nil when they are not (under `eligibility: diagnosis`).
    func eligibility(of subject: String, study: StudyCatalogue.Study?, resources: CaseResources) -> CaseFeatures.Eligibility? {
        if policy.eligibility == .any { return .notChecked }
        for entry in resources.entries {
            guard case .condition(let condition) = entry.resource, condition.subject.reference?.value == subject,
                isConfirmedAndActive(condition), isIntrahepaticCholangiocarcinoma(codes: condition.code.map { [$0] } ?? [], sites: condition.bodySite)
            else { continue }
            return .condition(Reference(reference: entry.reference.map { FHIRPrimitive($0) }))
        }
        if let study, isIntrahepaticCholangiocarcinoma(codes: study.study.reasonCode, sites: []) { return .studyReason }
        return nil
    }

    func isConfirmedAndActive(_ condition: Condition) -> Bool {
        let clinical = condition.clinicalStatus?.coding.contains {
            $0.system?.value == Self.clinicalStatusSystem && Self.activeStatuses.contains($0.code?.value ?? "")
        }
        let verified = condition.verificationStatus?.coding.contains {
            $0.system?.value == Self.verificationStatusSystem && $0.code?.value == "confirmed"
        }
        return clinical == true && verified == true
    }

    /// A diagnosis code of the ValueSet, or a cholangiocarcinoma morphology with an intrahepatic
    /// bile duct topography (in the codes or the body sites).
    func isIntrahepaticCholangiocarcinoma(codes concepts: [CodeableConcept], sites: [CodeableConcept]) -> Bool {
        let found = codes.features(of: concepts.flatMap(\.systemCodes))
        if found.contains(.iccaDiagnosis) { return true }
        guard found.contains(.iccaMorphology) else { return false }
        return codes.features(of: (concepts + sites).flatMap(\.systemCodes)).contains(.iccaTopography)
    }
}
