import FHIRModels

/// What one case (one patient and one imaging study) gives the model: the ADC it uses, the
/// secondary features found, what they rest on, and the status the assessment takes.
public struct CaseFeatures: Sendable {
    public enum Margin: String, Sendable, Hashable {
        case wellDefined = "well defined"
        case poorlyDefined = "poorly defined"
    }

    /// The status the RiskAssessment takes (R4 ObservationStatus codes).
    public enum AssessmentStatus: String, Sendable, Hashable {
        /// Everything final.
        case final
        /// The case lacks its ImagingStudy.
        case preliminary
        /// A corrected ADC, or some ADC values withdrawn while others remain: re-scored.
        case amended
        /// Every ADC it rests on was withdrawn: the assessment is retracted.
        case enteredInError = "entered-in-error"
    }

    public struct ADCValue: Sendable, Hashable {
        /// In ×10⁻³ mm²/s.
        public var normalised: Double
        /// As reported: the number's text and the unit code.
        public var reportedValue: String
        public var reportedUnit: String
        public var status: String
        public var effective: String?
    }

    /// The patient, as the observations reference it.
    public var subject: Reference
    /// What identifies the study for the assessment's identity: its DICOM Study Instance UID when
    /// given, else its reference; without a study, the ADC observation's.
    public var studyKey: String
    /// The ADC values the score uses (or, when every one was withdrawn, the withdrawn ones).
    public var adcValues: [ADCValue]
    /// The ADC the model uses, after the multiple-values policy.
    public var adc: Double
    public var policy: ModelParameters.MultipleADCPolicy
    public var margin: Margin?
    public var tumourCount: Int?
    public var arterialPeritumoralEnhancement: Bool?
    public var lymphNodeMetastasis: Bool?
    /// References for `basis`: the study, the ADC observations, the secondary findings.
    public var basis: [Reference]
    /// Warnings for the assessment's note (typical range, unrecognised values, …).
    public var warnings: [String]
    public var status: AssessmentStatus
}
