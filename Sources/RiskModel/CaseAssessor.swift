import FHIRCore
import FHIRModels
import Foundation

/// The one owner of the clinical pipeline: a patient's resources and the assessments already
/// issued for them in; the issues, the reasons a case is held, and the assessment decisions out.
/// Pure: no I/O, and the time is passed in. `score`, the daemon's case processing and the tests
/// all call it.
///
/// The lifecycle is closed here: an assessment the resources no longer yield (its ADC re-coded,
/// re-linked, back to preliminary or withdrawn; its study withdrawn or no longer the baseline;
/// eligibility withdrawn) is withdrawn under its own identity (`entered-in-error`); nothing is
/// withdrawn that was never issued; a preliminary assessment and its final version share one
/// identity.
public struct CaseAssessor: Sendable {
    public let extractor: FeatureExtractor
    public let model: ADCLogisticModel
    public let builder: RiskAssessmentBuilder

    public init(codes: FeatureCodes, parameters: ModelParameters, policy: CasePolicy) {
        extractor = FeatureExtractor(codes: codes, parameters: parameters, policy: policy)
        model = ADCLogisticModel(parameters: parameters)
        builder = RiskAssessmentBuilder(parameters: parameters)
    }

    public var parameters: ModelParameters { builder.parameters }
    public var policy: CasePolicy { extractor.policy }

    /// An assessment issued earlier for the patient (its latest version).
    public struct PriorAssessment: Sendable {
        public var identifier: String
        /// The identity name of the case it was made for (`RiskAssessmentBuilder.identityName`);
        /// nil for one stored before the gateway kept it.
        public var caseKey: String?
        public var assessment: RiskAssessment

        public init(identifier: String, caseKey: String?, assessment: RiskAssessment) {
            self.identifier = identifier
            self.caseKey = caseKey
            self.assessment = assessment
        }

        var status: String { assessment.status.value ?? "" }
    }

    /// What to send for one assessment identity.
    public struct Decision: Sendable {
        public enum Kind: Sendable {
            /// The case is scored: this is its assessment.
            case assessed(ADCScore)
            /// The case no longer yields the assessment issued earlier: it is withdrawn, why.
            case withdrawn(reason: String)
        }

        public var identifier: String
        /// The identity name of the case (stored with the assessment, for the next decision).
        public var caseKey: String
        public var assessment: RiskAssessment
        public var kind: Kind
    }

    public struct Result: Sendable {
        public var decisions: [Decision]
        /// Errors (the input is wrong), warnings and information (what was set aside, and why).
        public var issues: [FHIRIssue]
        /// Why a patient's resources yield no assessment now.
        public var held: [FeatureExtractor.Held]
        public var cases: [CaseFeatures]
    }

    /// - Parameters:
    ///   - prior: the assessments already issued for the patients of `resources`.
    ///   - now: the time of the decision (the age of a study arriving now, the assessment's time).
    ///   - assessedAt: `occurrenceDateTime` when the caller has it as text; else `now` in UTC.
    public func assess(_ resources: CaseResources, prior: [PriorAssessment], now: Date, assessedAt: FHIRDateTime? = nil) -> Result {
        let extraction = extractor.extract(from: resources, now: now)
        var issues = extraction.issues
        var decisions: [Decision] = []
        var claimed: Set<String> = []
        let currentKeys = Set(extraction.cases.map { builder.identityName(patientKey: $0.patientKey, caseKey: $0.caseKey) })
        let time = assessedAt ?? FHIRDateTime(fhirText: FHIRInstant.text(now))
        for features in extraction.cases {
            guard let time else { break }
            let key = builder.identityName(patientKey: features.patientKey, caseKey: features.caseKey)
            let computed = builder.identifier(patientKey: features.patientKey, caseKey: features.caseKey)
            let samePatient = prior.filter { $0.assessment.subject.reference?.value == features.patientKey }
            let identifier =
                samePatient.first { $0.caseKey == key }?.identifier
                ?? samePatient.first { $0.identifier == computed }?.identifier
                // The patient's case continues the patient's standing preliminary assessment (made
                // before the study arrived, or before its key was kept) rather than leaving it
                // standing beside it: a patient has one case at a time.
                ?? samePatient.first {
                    $0.status == "preliminary" && !claimed.contains($0.identifier) && !currentKeys.contains($0.caseKey ?? "")
                }?.identifier
                ?? computed
            claimed.insert(identifier)
            let score = model.score(adc: features.adc)
            if !parameters.isInSoftRange(features.adc) {
                issues.append(
                    FHIRIssue(
                        severity: .warning, code: .businessRule,
                        diagnostics:
                            "The ADC \(FeatureExtractor.format(features.adc)) ×10⁻³ mm²/s is outside \(parameters.softRangeText), the range on which the model can be read: the assessment states the stratum and the qualitative risk, without a probability"
                    ))
            }
            decisions.append(
                Decision(
                    identifier: identifier, caseKey: key, assessment: builder.build(features, score: score, assessedAt: time, identifier: identifier),
                    kind: .assessed(score)))
        }

        // Every assessment issued earlier that the resources no longer yield is withdrawn.
        for earlier in prior where earlier.status != "entered-in-error" && !claimed.contains(earlier.identifier) {
            let patient = earlier.assessment.subject.reference?.value ?? ""
            let reasons = extraction.held.filter { $0.subject == patient }.map(\.reason.diagnostics)
            var reason: String
            if let caseKey = earlier.caseKey, !caseKey.hasPrefix(builder.identityPrefix) {
                reason = "superseded: the gateway now scores with \(parameters.title), model version \(parameters.version)"
            } else if reasons.isEmpty {
                reason = "its resources no longer yield this assessment"
            } else {
                reason = reasons.joined(separator: "; ")
            }
            if reason.hasSuffix(".") { reason.removeLast() }
            var withdrawn = earlier.assessment
            withdrawn.status = "entered-in-error"
            withdrawn.note.append(Annotation(text: FHIRPrimitive("Withdrawn: \(reason).")))
            decisions.append(Decision(identifier: earlier.identifier, caseKey: earlier.caseKey ?? "", assessment: withdrawn, kind: .withdrawn(reason: reason)))
        }
        return Result(decisions: decisions, issues: issues, held: extraction.held, cases: extraction.cases)
    }
}
