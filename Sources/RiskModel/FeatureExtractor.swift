import FHIRCore
import FHIRModels
import Foundation

/// Finds the case of each patient in a set of resources and the features of each (pure: resources
/// and the time in; features, issues and the reasons a case is held out).
///
/// A case is one patient and their baseline MR ImagingStudy. An Observation belongs to the study
/// it names by `derivedFrom` or `partOf` (an explicit link is never overridden), otherwise to the
/// patient's MR study of the same day. An ADC counts only when its study may be scored, it was
/// measured in the liver or the intrahepatic bile ducts, and it is the ROI's mean (or its
/// derivation is not stated). A patient is scored only when eligible (`CasePolicy.eligibility`).
public struct FeatureExtractor: Sendable {
    public let codes: FeatureCodes
    public let parameters: ModelParameters
    public let policy: CasePolicy

    public init(codes: FeatureCodes, parameters: ModelParameters, policy: CasePolicy = CasePolicy()) {
        self.codes = codes
        self.parameters = parameters
        self.policy = policy
    }

    /// Why a patient's resources yield no assessment now.
    public struct Held: Sendable, Hashable {
        /// The patient reference.
        public var subject: String
        /// The reason, with the FHIRPath of the resource it is about.
        public var reason: FHIRIssue
    }

    public struct Result: Sendable {
        public var cases: [CaseFeatures]
        /// Errors (the input is wrong: refused), warnings and information (what was set aside).
        public var issues: [FHIRIssue]
        /// The patients whose data is held out of scoring, with the reason.
        public var held: [Held]
    }

    /// The study an observation belongs to.
    enum StudyLink: Hashable {
        /// A study among the resources (its entry index).
        case study(Int)
        /// A study the observation names that is not among the resources (yet): its key.
        case named(String)
        /// No link, and no MR study of the patient on the same day.
        case unlinked
    }

    public func extract(from resources: CaseResources, now: Date) -> Result {
        var issues: [FHIRIssue] = []
        var held: [Held] = []
        let recognised = recognise(resources)
        guard recognised.findings.contains(where: { $0.feature == .adc }) else {
            issues.append(
                FHIRIssue(
                    severity: .error,
                    code: .notFound,
                    diagnostics:
                        "No ADC observation was found, so nothing can be scored: the model needs an Observation whose code, or a component's code, is one of \(codes.listing(.adc))"
                )
            )
            return Result(cases: [], issues: issues, held: held)
        }
        let catalogue = StudyCatalogue(resources: resources, policy: policy, now: now)

        // Every recognised finding and unrecognised Observation, by patient and study.
        struct Group {
            var findings: [Finding] = []
            var unrecognised: [Int] = []
        }
        var patients: [String] = []
        var groups: [String: [StudyLink: Group]] = [:]
        for finding in recognised.findings {
            guard let subject = finding.observation.subject?.reference?.value else {
                if finding.feature == .adc {
                    issues.append(
                        FHIRIssue(
                            severity: .error, code: .required,
                            diagnostics: "The ADC observation has no subject: the assessment needs the patient it is about",
                            expression: "\(finding.path).subject"))
                }
                continue
            }
            if groups[subject] == nil { patients.append(subject) }
            let link = studyLink(finding.observation, subject: subject, effective: finding.effective, catalogue: catalogue, resources: resources)
            groups[subject, default: [:]][link, default: Group()].findings.append(finding)
        }
        for index in recognised.unrecognised {
            guard case .observation(let observation) = resources.entries[index].resource,
                let subject = observation.subject?.reference?.value, groups[subject] != nil
            else { continue }
            let link = studyLink(observation, subject: subject, effective: Finding.effective(of: observation), catalogue: catalogue, resources: resources)
            groups[subject, default: [:]][link, default: Group()].unrecognised.append(index)
        }

        var cases: [CaseFeatures] = []
        for subject in patients {
            guard let patientGroups = groups[subject] else { continue }
            let baseline = catalogue.baseline(of: subject, policy: policy)
            func hold(_ code: FHIRIssue.Code, _ message: String, at path: String?) {
                held.append(Held(subject: subject, reason: FHIRIssue(severity: .information, code: code, diagnostics: message, expression: path)))
            }

            // The case's findings: those of the baseline study; or, while the patient has no
            // usable MR study, those that name a study not received yet or none (a case without
            // its study). Findings of any other study are held, each with the reason.
            var caseFindings: [Finding] = []
            var caseUnrecognised: [Int] = []
            var caseLink: StudyLink?
            var namedKeys: Set<String> = []
            for (link, group) in patientGroups.sorted(by: { Self.precedes($0.key, $1.key) }) {
                let adcs = group.findings.filter { $0.feature == .adc }
                switch link {
                case .study(let index):
                    guard let study = catalogue[index] else { continue }
                    if study.subject != subject {
                        if let first = adcs.first {
                            hold(.businessRule, "The ADC at \(first.label) names a study of another patient: it is not scored", at: first.path)
                        }
                        continue
                    }
                    if index == baseline {
                        caseLink = link
                        caseFindings += group.findings
                        caseUnrecognised += group.unrecognised
                        continue
                    }
                    guard let first = adcs.first else { continue }
                    let path = resources.entries[index].path
                    switch study.standing {
                    case .withdrawn(let status):
                        hold(.businessRule, "The MR study of this ADC is '\(status)': what rests on it is not scored", at: "\(path).status")
                    case .notMR:
                        hold(.businessRule, "The ADC at \(first.label) names a study that is not an MR study (modality DCM#MR): it is not scored, and not matched to another study by date", at: "\(path).modality")
                    case .undated:
                        hold(.required, "The MR study of this ADC has no 'started' date: without it the gateway cannot tell whether it is the pre-treatment baseline or how old it is", at: "\(path).started")
                    case .tooOld(let days):
                        hold(.businessRule, "The MR study of this ADC started \(days) days before it arrived, more than cases.maxStudyAgeDays (\(policy.maxStudyAgeDays)): it is not scored as a pre-treatment baseline", at: "\(path).started")
                    case .usable:
                        hold(.businessRule, "This MR study is not the patient's baseline (cases.baseline: \(policy.baseline.rawValue)): only the \(policy.baseline == .earliest ? "earliest" : "latest") MR study of a patient is scored, so follow-up studies taken during treatment are not", at: path)
                    }
                case .named(let key):
                    guard let first = adcs.first else { continue }
                    if baseline != nil {
                        hold(.businessRule, "The ADC at \(first.label) names a study that has not arrived (\(key)), not the patient's baseline MR study: it is held", at: first.path)
                    } else {
                        namedKeys.insert(key)
                        caseFindings += group.findings
                        caseUnrecognised += group.unrecognised
                    }
                case .unlinked:
                    if baseline != nil {
                        if let first = adcs.first {
                            hold(.businessRule, "The ADC at \(first.label) names no study and was measured on another day than the patient's baseline MR study: it is not used", at: first.path)
                        }
                    } else {
                        namedKeys.insert("")
                        caseFindings += group.findings
                        caseUnrecognised += group.unrecognised
                    }
                }
            }
            guard caseFindings.contains(where: { $0.feature == .adc }) else {
                if let index = baseline {
                    hold(.incomplete, "Waiting for an ADC observation of the baseline MR study", at: resources.entries[index].path)
                }
                continue
            }
            let study = caseLink.flatMap { link -> StudyCatalogue.Study? in
                if case .study(let index) = link { return catalogue[index] }
                return nil
            }
            if study == nil, !policy.scoreWithoutStudy {
                let first = caseFindings.first { $0.feature == .adc }
                hold(.incomplete, "Waiting for the MR ImagingStudy of this ADC: it is scored when its study arrives (cases.scoreWithoutStudy: false)", at: first?.path)
                checkValues(of: caseFindings, issues: &issues)
                continue
            }
            let caseKey: String
            if let study {
                caseKey = study.uid ?? resources.entries[study.index].reference ?? resources.entries[study.index].path
            } else {
                caseKey = namedKeys.count == 1 && !(namedKeys.first ?? "").isEmpty ? (namedKeys.first ?? "") : "no-study"
            }
            let eligibility = eligibility(of: subject, study: study, resources: resources)
            guard let eligibility else {
                hold(.businessRule, "Not eligible: the patient has no confirmed, active intrahepatic cholangiocarcinoma Condition (a code of \(codes.listing(.iccaDiagnosis)), or \(codes.listing(.iccaMorphology)) with \(codes.listing(.iccaTopography))) and the MR study gives no such reasonCode (cases.eligibility: diagnosis). It is scored when that evidence arrives", at: nil)
                checkValues(of: caseFindings, issues: &issues)
                continue
            }
            if let features = features(
                of: caseFindings, unrecognised: caseUnrecognised, study: study, caseKey: caseKey, eligibility: eligibility,
                resources: resources, issues: &issues, hold: { hold($0, $1, at: $2) })
            {
                cases.append(features)
            }
        }
        return Result(cases: cases, issues: issues, held: held)
    }

    /// The ADC values of a case that is held are still checked, so that a wrong one is refused
    /// with the request that brings it, not later.
    func checkValues(of findings: [Finding], issues: inout [FHIRIssue]) {
        for finding in findings where finding.feature == .adc && finding.standing != .held {
            _ = adcValue(finding, issues: &issues)
        }
    }

    /// Studies first, in entry order, then named studies, then the unlinked: a stable order.
    static func precedes(_ a: StudyLink, _ b: StudyLink) -> Bool {
        func rank(_ link: StudyLink) -> (Int, Int, String) {
            switch link {
            case .study(let index): (0, index, "")
            case .named(let key): (1, 0, key)
            case .unlinked: (2, 0, "")
            }
        }
        return rank(a) < rank(b)
    }

    // MARK: - Recognising findings

    struct Recognised {
        var findings: [Finding]
        /// Entry indexes of Observations none of whose codes is in a feature's ValueSet.
        var unrecognised: [Int]
    }

    func recognise(_ resources: CaseResources) -> Recognised {
        var findings: [Finding] = []
        var unrecognised: [Int] = []
        let features: [FeatureCodes.Feature] = [.adc, .tumourMargin, .tumourCount, .arterialPeritumoralEnhancement, .lymphNodeMetastasis]
        for (index, entry) in resources.entries.enumerated() {
            guard case .observation(let observation) = entry.resource else { continue }
            let before = findings.count
            let own = codes.features(of: observation.code.systemCodes)
            if let feature = features.first(where: own.contains) {
                findings.append(
                    Finding(
                        feature: feature, entryIndex: index, observation: observation, componentIndex: nil,
                        value: Finding.value(of: observation), path: entry.path, name: entry.reference ?? entry.path))
            }
            for (c, component) in observation.component.enumerated() {
                let found = codes.features(of: component.code.systemCodes)
                guard let feature = features.first(where: found.contains) else { continue }
                findings.append(
                    Finding(
                        feature: feature, entryIndex: index, observation: observation, componentIndex: c,
                        value: Finding.value(of: component), path: "\(entry.path).component[\(c)]", name: entry.reference ?? entry.path))
            }
            if findings.count == before { unrecognised.append(index) }
        }
        return Recognised(findings: findings, unrecognised: unrecognised)
    }

    /// The study an observation belongs to: the one it names by `derivedFrom` or `partOf` (by
    /// reference or by Study Instance UID), else the patient's usable MR study of the same day.
    func studyLink(_ observation: Observation, subject: String, effective: String?, catalogue: StudyCatalogue, resources: CaseResources)
        -> StudyLink
    {
        for link in observation.derivedFrom + observation.partOf {
            if let index = resources.resolve(link.reference?.value) {
                if catalogue[index] != nil { return .study(index) }
                continue  // another kind of resource (a DocumentReference, an Observation)
            }
            if let identifier = link.identifier, identifier.system?.value == "urn:dicom:uid", let uid = identifier.value?.value {
                // The UID is the key a case of that study gets, so a preliminary case named this
                // way keeps its identity when the study arrives.
                return catalogue.index(uid: uid).map(StudyLink.study) ?? .named(uid)
            }
            if let reference = link.reference?.value, reference.hasPrefix("ImagingStudy/") || link.type?.value == "ImagingStudy" {
                return .named(reference)
            }
        }
        guard let day = effective.flatMap(StudyCatalogue.dayNumber) else { return .unlinked }
        let sameDay = catalogue.usable(of: subject).filter { $0.startedDay == day }
        if sameDay.count == 1, let only = sameDay.first { return .study(only.index) }
        return .unlinked
    }

    // MARK: - Features of one case

    func features(
        of findings: [Finding],
        unrecognised: [Int],
        study: StudyCatalogue.Study?,
        caseKey: String,
        eligibility: CaseFeatures.Eligibility,
        resources: CaseResources,
        issues: inout [FHIRIssue],
        hold: (FHIRIssue.Code, String, String?) -> Void
    ) -> CaseFeatures? {
        var usable: [(Finding, CaseFeatures.ADCValue)] = []
        var withdrawn = 0
        var preliminary: [Finding] = []
        var warnings: [String] = []
        var failed: String?
        for finding in findings where finding.feature == .adc {
            switch finding.standing {
            case .held:
                preliminary.append(finding)
                continue
            case .withdrawn:
                withdrawn += 1
                continue
            case .usable:
                break
            }
            guard var value = adcValue(finding, issues: &issues) else {
                failed = issues.last?.diagnostics ?? "the value cannot be used"
                continue
            }
            switch qualification(of: finding, resources: resources) {
            case .counts(let site):
                value.site = site
                if site == nil {
                    warnings.append(
                        "The ADC \(value.reportedValue) \(value.reportedUnit) gives no body site; it was counted because cases.requireBodySite is false, so it may not be the tumour's"
                    )
                }
                usable.append((finding, value))
            case .ignored(let reason, let path):
                issues.append(FHIRIssue(severity: .information, code: .businessRule, diagnostics: reason, expression: path))
                warnings.append(reason)
            }
        }
        if let failed {
            // Refused with the request that brought it; an ADC stored earlier (before a reload
            // changed the model or the ValueSets) keeps the case held, with the reason.
            hold(.value, "An ADC of this case cannot be used: \(failed)", findings.first { $0.feature == .adc }?.path)
            return nil
        }
        let firstPath = findings.first { $0.feature == .adc }?.path
        guard !usable.isEmpty else {
            if !preliminary.isEmpty {
                hold(.incomplete, "The ADC observation is '\(preliminary[0].status)': the assessment is held until a final value arrives", "\(preliminary[0].path).status")
            } else if withdrawn > 0, withdrawn == findings.filter({ $0.feature == .adc }).count {
                hold(.businessRule, "Every ADC observation of this case was withdrawn (entered-in-error or cancelled)", firstPath)
            } else {
                hold(.businessRule, "No ADC of this case qualifies: the model needs the mean ADC of the tumour in the liver or intrahepatic bile ducts (see the information issues for each value set aside)", firstPath)
            }
            return nil
        }
        let values = usable.map(\.1)
        let adc: Double
        switch parameters.multipleADC {
        case .lowest: adc = values.map(\.normalised).min() ?? 0
        case .mean: adc = values.map(\.normalised).reduce(0, +) / Double(values.count)
        case .latest:
            adc = (values.max { ($0.effective ?? "") < ($1.effective ?? "") } ?? values[0]).normalised
        }
        if !parameters.isInSoftRange(adc) {
            warnings.append(
                "The ADC \(Self.format(adc)) ×10⁻³ mm²/s is outside the typical range for intrahepatic cholangiocarcinoma (\(parameters.softRangeText)): check the unit and the region of interest; the model was not derived on such values"
            )
        }
        for finding in preliminary {
            warnings.append("An ADC observation with status '\(finding.status)' was not used")
        }

        // Secondary features: usable findings only; a value not understood is said so.
        var margin: CaseFeatures.Margin?
        var count: Int?
        var enhancement: Bool?
        var nodes: Bool?
        var secondary: [Finding] = []
        var notUnderstood: [String] = []
        for finding in findings where finding.feature != .adc && finding.standing == .usable {
            switch finding.feature {
            case .tumourMargin:
                if case .concept(let concept) = finding.value {
                    let found = codes.features(of: concept.systemCodes)
                    if found.contains(.marginPoorlyDefined) {
                        margin = .poorlyDefined
                        secondary.append(finding)
                        continue
                    }
                    if found.contains(.marginWellDefined) {
                        if margin == nil { margin = .wellDefined }
                        secondary.append(finding)
                        continue
                    }
                }
                notUnderstood.append("the tumour margin at \(finding.label) (a value in neither margin ValueSet)")
            case .tumourCount:
                if case .integer(let value) = finding.value, value >= 1 {
                    count = max(count ?? 0, Int(value))
                    secondary.append(finding)
                } else {
                    notUnderstood.append("the tumour count at \(finding.label) (not a positive valueInteger)")
                }
            case .arterialPeritumoralEnhancement, .lymphNodeMetastasis:
                guard let present = presence(finding.value) else {
                    notUnderstood.append("the finding at \(finding.label) (neither valueBoolean nor a coded present/absent value)")
                    continue
                }
                if finding.feature == .arterialPeritumoralEnhancement {
                    enhancement = (enhancement ?? false) || present
                } else {
                    nodes = (nodes ?? false) || present
                }
                secondary.append(finding)
            default:
                continue
            }
        }
        for index in unrecognised {
            guard case .observation(let observation) = resources.entries[index].resource else { continue }
            notUnderstood.append("the Observation \(resources.entries[index].reference ?? resources.entries[index].path), coded \(Self.describe(observation.code))")
        }

        // basis: the study, the ADC observations, the secondary findings; each resource once.
        var basis: [Reference] = []
        var seen: Set<Int> = []
        func add(_ entryIndex: Int) {
            guard seen.insert(entryIndex).inserted else { return }
            let entry = resources.entries[entryIndex]
            if let reference = entry.reference {
                basis.append(Reference(reference: FHIRPrimitive(reference)))
            } else {
                basis.append(Reference(display: FHIRPrimitive("\(entry.typeName) without id at \(entry.path)")))
            }
        }
        if let study { add(study.index) }
        for (finding, _) in usable { add(finding.entryIndex) }
        for finding in secondary { add(finding.entryIndex) }

        let status: CaseFeatures.AssessmentStatus
        if study == nil {
            status = .preliminary
        } else if withdrawn > 0 || usable.contains(where: { ["amended", "corrected"].contains($0.0.status) }) {
            status = .amended
        } else {
            status = .final
        }
        let subject = usable[0].0.observation.subject ?? Reference()
        return CaseFeatures(
            subject: Reference(reference: subject.reference, display: nil),
            patientKey: subject.reference?.value ?? "",
            caseKey: caseKey,
            adcValues: values,
            adc: adc,
            policy: parameters.multipleADC,
            margin: margin,
            tumourCount: count,
            arterialPeritumoralEnhancement: enhancement,
            lymphNodeMetastasis: nodes,
            notUnderstood: notUnderstood,
            eligibility: eligibility,
            basis: basis,
            warnings: warnings,
            status: status
        )
    }

    /// true for present, false for absent, nil when the value says neither.
    func presence(_ value: Finding.Value) -> Bool? {
        switch value {
        case .boolean(let flag): return flag
        case .concept(let concept):
            let found = codes.features(of: concept.systemCodes)
            if found.contains(.findingPresent) { return true }
            if found.contains(.findingAbsent) { return false }
            return nil
        default: return nil
        }
    }

    /// A CodeableConcept in words: its text, else its codings (`system#code "display"`).
    static func describe(_ concept: CodeableConcept?) -> String {
        guard let concept else { return "nothing" }
        let codings = concept.coding.map { coding in
            var text = "\(coding.system?.value ?? "no system")#\(coding.code?.value ?? "no code")"
            if let display = coding.display?.value { text += " \"\(display)\"" }
            return text
        }
        if codings.isEmpty { return "\"\(concept.text?.value ?? "")\" (text only, no coding)" }
        return codings.joined(separator: ", ")
    }

    static func format(_ value: Double, decimals: Int = 3) -> String {
        String(format: "%.\(decimals)f", value)
    }
}
