/// The clinical rules of who and what is scored that a site may set (`cases.*` in the gateway's
/// configuration, the same flags on `score`). The defaults are the safe reading of the model's
/// population: CLINICAL-RULES.md gives each rule's reason.
public struct CasePolicy: Sendable, Hashable {
    /// What makes a patient eligible for the model.
    public enum Eligibility: String, Sendable, Hashable, CaseIterable {
        /// A confirmed, active intrahepatic cholangiocarcinoma Condition, or the MR study's
        /// reasonCode, from the ValueSets in Profiles/.
        case diagnosis
        /// Every patient: for a channel that already sends only such patients; each assessment
        /// says that eligibility was not checked.
        case any
    }

    /// Which eligible MR study of a patient is the one scored.
    public enum Baseline: String, Sendable, Hashable, CaseIterable {
        /// The earliest: the pre-treatment study the model was derived on.
        case earliest
        /// The most recent.
        case latest
    }

    public var eligibility: Eligibility
    /// An ADC without a body site (on itself or on the lesion it is about) counts only when false.
    public var requireBodySite: Bool
    public var baseline: Baseline
    /// A study that started more than this many days before it arrived is not scored.
    public var maxStudyAgeDays: Int
    /// Score an ADC whose MR ImagingStudy has not arrived, as `preliminary`, instead of holding it.
    public var scoreWithoutStudy: Bool

    public init(
        eligibility: Eligibility = .diagnosis,
        requireBodySite: Bool = true,
        baseline: Baseline = .earliest,
        maxStudyAgeDays: Int = 120,
        scoreWithoutStudy: Bool = false
    ) {
        self.eligibility = eligibility
        self.requireBodySite = requireBodySite
        self.baseline = baseline
        self.maxStudyAgeDays = maxStudyAgeDays
        self.scoreWithoutStudy = scoreWithoutStudy
    }
}
