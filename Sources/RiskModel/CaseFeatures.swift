import FHIRModels

/// What one case (one patient and their baseline MR study) gives the model: the ADC it uses, the
/// secondary features found, what they rest on, why the patient is eligible, and the status the
/// assessment takes.
public struct CaseFeatures: Sendable {
    public enum Margin: String, Sendable, Hashable {
        case wellDefined = "well defined"
        case poorlyDefined = "poorly defined"
    }

    /// The status the RiskAssessment takes (R4 ObservationStatus codes). A case whose basis went
    /// away yields no features at all: its earlier assessment is withdrawn by the lifecycle.
    public enum AssessmentStatus: String, Sendable, Hashable {
        /// Everything final.
        case final
        /// The case lacks its ImagingStudy (only under `cases.scoreWithoutStudy: true`).
        case preliminary
        /// A corrected ADC, or some ADC values withdrawn while others remain: re-scored.
        case amended
    }

    /// Why the patient is in the model's population.
    public enum Eligibility: Sendable, Hashable {
        /// A confirmed, active intrahepatic cholangiocarcinoma Condition (its reference).
        case condition(Reference)
        /// The MR study's reasonCode is intrahepatic cholangiocarcinoma.
        case studyReason
        /// `cases.eligibility: any`: the channel is trusted to send only such patients.
        case notChecked
    }

    public struct ADCValue: Sendable, Hashable {
        /// In ×10⁻³ mm²/s.
        public var normalised: Double
        /// As reported: the number's text and the unit code.
        public var reportedValue: String
        public var reportedUnit: String
        public var status: String
        public var effective: String?
        /// The body site it was measured in, in words, when given.
        public var site: String?
    }

    /// The patient, as the observations reference it.
    public var subject: Reference
    /// The patient's stable key: the reference, or the business identifier's system|value.
    public var patientKey: String
    /// The case's stable key: its study's DICOM Study Instance UID when given, else the study's
    /// reference; for a case without its study, the study the ADC names or `no-study`.
    public var caseKey: String
    /// Every qualifying ADC value the score considered.
    public var adcValues: [ADCValue]
    /// The ADC the model uses, after the multiple-values policy.
    public var adc: Double
    public var policy: ModelParameters.MultipleADCPolicy
    public var margin: Margin?
    public var tumourCount: Int?
    public var arterialPeritumoralEnhancement: Bool?
    public var lymphNodeMetastasis: Bool?
    /// Observations of the case, or values of feature Observations, that were not understood,
    /// in words (`"Liver lesion margin" (text only, no coding)`).
    public var notUnderstood: [String]
    public var eligibility: Eligibility
    /// References for `basis`: the study, the ADC observations, the secondary findings.
    public var basis: [Reference]
    /// Warnings for the assessment's note (typical range, unused values, …).
    public var warnings: [String]
    public var status: AssessmentStatus
}
