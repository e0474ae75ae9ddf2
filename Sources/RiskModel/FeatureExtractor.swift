import FHIRCore
import FHIRModels
import Foundation

/// Finds the cases in a set of resources and the features of each (pure: resources in, features
/// and issues out). A case is one patient and one MR ImagingStudy; an Observation belongs to the
/// study it references by `derivedFrom` or `partOf`, otherwise to the study of the same patient on
/// the same day; an ADC that belongs to no study makes a case without its study (preliminary).
public struct FeatureExtractor: Sendable {
    public let codes: FeatureCodes
    public let parameters: ModelParameters

    public init(codes: FeatureCodes, parameters: ModelParameters) {
        self.codes = codes
        self.parameters = parameters
    }

    public struct Result: Sendable {
        public var cases: [CaseFeatures]
        /// Why something could not be scored (errors), and what was set aside (warnings).
        public var issues: [FHIRIssue]
    }

    static let dcm = "http://dicom.nema.org/resources/ontology/DCM"

    public func extract(from resources: CaseResources) -> Result {
        var issues: [FHIRIssue] = []
        let findings = recognise(resources)
        let adcFindings = findings.filter { $0.feature == .adc }
        guard !adcFindings.isEmpty else {
            issues.append(
                FHIRIssue(
                    severity: .error,
                    code: .notFound,
                    diagnostics:
                        "No ADC observation was found, so nothing can be scored: the model needs an Observation whose code, or a component's code, is one of \(codes.listing(.adc))"
                )
            )
            return Result(cases: [], issues: issues)
        }

        // Studies: MR only.
        var studies: [Int: ImagingStudy] = [:]
        for (index, entry) in resources.entries.enumerated() {
            guard case .imagingStudy(let study) = entry.resource else { continue }
            if isMR(study) {
                studies[index] = study
            } else {
                issues.append(
                    FHIRIssue(
                        severity: .warning,
                        code: .notSupported,
                        diagnostics: "This ImagingStudy is not an MR study (modality DCM#MR), so it is not used",
                        expression: entry.path
                    )
                )
            }
        }

        // Group the findings by patient and study.
        struct CaseKey: Hashable {
            var subject: String
            var study: Int?
        }
        var groups: [CaseKey: [Finding]] = [:]
        var order: [CaseKey] = []
        for finding in findings {
            guard let subject = finding.observation.subject?.reference?.value else {
                if finding.feature == .adc {
                    issues.append(
                        FHIRIssue(
                            severity: .error,
                            code: .required,
                            diagnostics: "The ADC observation has no subject: the assessment needs the patient it is about",
                            expression: "\(finding.path).subject"
                        )
                    )
                }
                continue
            }
            let study = studyIndex(for: finding, subject: subject, studies: studies, resources: resources, issues: &issues)
            let key = CaseKey(subject: subject, study: study)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(finding)
        }

        var cases: [CaseFeatures] = []
        for key in order {
            guard let group = groups[key], group.contains(where: { $0.feature == .adc }) else { continue }
            let study = key.study.map { (index: $0, entry: resources.entries[$0], study: studies[$0]) }
            if let features = features(of: group, study: study, resources: resources, issues: &issues) {
                cases.append(features)
            }
        }
        return Result(cases: cases, issues: issues)
    }

    // MARK: - Recognising findings

    func recognise(_ resources: CaseResources) -> [Finding] {
        var findings: [Finding] = []
        let features: [FeatureCodes.Feature] = [.adc, .tumourMargin, .tumourCount, .arterialPeritumoralEnhancement, .lymphNodeMetastasis]
        for (index, entry) in resources.entries.enumerated() {
            guard case .observation(let observation) = entry.resource else { continue }
            let own = codes.features(of: observation.code.systemCodes)
            if let feature = features.first(where: own.contains) {
                findings.append(
                    Finding(
                        feature: feature,
                        entryIndex: index,
                        observation: observation,
                        componentIndex: nil,
                        value: Finding.value(of: observation),
                        path: entry.path
                    )
                )
            }
            for (c, component) in observation.component.enumerated() {
                let found = codes.features(of: component.code.systemCodes)
                guard let feature = features.first(where: found.contains) else {
                    continue
                }
                findings.append(
                    Finding(
                        feature: feature,
                        entryIndex: index,
                        observation: observation,
                        componentIndex: c,
                        value: Finding.value(of: component),
                        path: "\(entry.path).component[\(c)]"
                    )
                )
            }
        }
        return findings
    }

    func isMR(_ study: ImagingStudy) -> Bool {
        let codings = study.modality + study.series.map(\.modality)
        return codings.contains { $0.system?.value == Self.dcm && $0.code?.value == "MR" }
    }

    /// The study an observation belongs to: by reference, else the same patient's study on the same day.
    func studyIndex(
        for finding: Finding,
        subject: String,
        studies: [Int: ImagingStudy],
        resources: CaseResources,
        issues: inout [FHIRIssue]
    ) -> Int? {
        let links = finding.observation.derivedFrom + finding.observation.partOf
        for link in links {
            if let index = resources.resolve(link.reference?.value), studies[index] != nil { return index }
        }
        guard let day = finding.effective?.prefix(10) else { return nil }
        let sameDay = studies.filter { _, study in
            study.subject.reference?.value == subject && study.started?.value?.fhirText.prefix(10) == day
        }
        return sameDay.count == 1 ? sameDay.first?.key : nil
    }

    // MARK: - Features of one case

    func features(
        of findings: [Finding],
        study: (index: Int, entry: CaseResources.Entry, study: ImagingStudy?)?,
        resources: CaseResources,
        issues: inout [FHIRIssue]
    ) -> CaseFeatures? {
        let adcFindings = findings.filter { $0.feature == .adc }
        var usable: [(Finding, CaseFeatures.ADCValue)] = []
        var withdrawn: [(Finding, CaseFeatures.ADCValue)] = []
        var held: [Finding] = []
        var failed = false
        for finding in adcFindings {
            switch finding.standing {
            case .held:
                held.append(finding)
                continue
            case .usable, .withdrawn:
                break
            }
            guard let value = adcValue(finding, issues: &issues) else {
                if finding.standing == .usable { failed = true }
                continue
            }
            if finding.standing == .usable { usable.append((finding, value)) } else { withdrawn.append((finding, value)) }
        }
        if failed { return nil }
        if usable.isEmpty, withdrawn.isEmpty {
            for finding in held {
                issues.append(
                    FHIRIssue(
                        severity: .error,
                        code: .incomplete,
                        diagnostics: "The ADC observation is '\(finding.status)': the assessment is held until a final value arrives",
                        expression: "\(finding.path).status"
                    )
                )
            }
            return nil
        }
        let used = usable.isEmpty ? withdrawn : usable
        let values = used.map(\.1)
        let adc: Double
        switch parameters.multipleADC {
        case .lowest: adc = values.map(\.normalised).min() ?? 0
        case .mean: adc = values.map(\.normalised).reduce(0, +) / Double(values.count)
        case .latest:
            adc = (values.max { ($0.effective ?? "") < ($1.effective ?? "") } ?? values[0]).normalised
        }

        var warnings: [String] = []
        let soft = parameters.adc.softRange
        if adc < soft[0] || adc > soft[1] {
            warnings.append(
                "The ADC \(Self.format(adc)) ×10⁻³ mm²/s is outside the typical range for intrahepatic cholangiocarcinoma (\(Self.format(soft[0]))–\(Self.format(soft[1]))): check the unit and the region of interest; the model was not derived on such values"
            )
        }
        for finding in held {
            warnings.append("An ADC observation with status '\(finding.status)' was not used")
        }

        // Secondary features: usable findings only.
        var margin: CaseFeatures.Margin?
        var count: Int?
        var enhancement: Bool?
        var nodes: Bool?
        var secondary: [Finding] = []
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
                warnings.append("The tumour margin at \(finding.path) has a value that is in neither margin ValueSet; it was not used")
            case .tumourCount:
                if case .integer(let value) = finding.value, value >= 1 {
                    count = max(count ?? 0, Int(value))
                    secondary.append(finding)
                } else {
                    warnings.append("The tumour count at \(finding.path) is not a positive valueInteger; it was not used")
                }
            case .arterialPeritumoralEnhancement, .lymphNodeMetastasis:
                guard let present = presence(finding.value) else {
                    warnings.append(
                        "The finding at \(finding.path) is neither valueBoolean nor a coded present/absent value; it was not used"
                    )
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
        for (finding, _) in used { add(finding.entryIndex) }
        for finding in secondary { add(finding.entryIndex) }

        let status: CaseFeatures.AssessmentStatus
        if usable.isEmpty {
            status = .enteredInError
        } else if study == nil {
            status = .preliminary
        } else if !withdrawn.isEmpty || usable.contains(where: { ["amended", "corrected"].contains($0.0.status) }) {
            status = .amended
        } else {
            status = .final
        }

        let first = used[0].0
        let studyKey: String
        if let study {
            studyKey =
                study.study?.identifier.first { $0.system?.value == "urn:dicom:uid" }?.value?.value
                ?? study.entry.reference ?? study.entry.path
        } else {
            studyKey = resources.entries[first.entryIndex].reference ?? first.path
        }
        let subject = first.observation.subject ?? Reference()
        return CaseFeatures(
            subject: Reference(reference: subject.reference, display: nil),
            studyKey: studyKey,
            adcValues: values,
            adc: adc,
            policy: parameters.multipleADC,
            margin: margin,
            tumourCount: count,
            arterialPeritumoralEnhancement: enhancement,
            lymphNodeMetastasis: nodes,
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

    /// The ADC of a finding in ×10⁻³ mm²/s, or nil with the reason added to `issues`.
    func adcValue(_ finding: Finding, issues: inout [FHIRIssue]) -> CaseFeatures.ADCValue? {
        func refuse(_ code: FHIRIssue.Code, _ message: String, at path: String) -> CaseFeatures.ADCValue? {
            issues.append(FHIRIssue(severity: .error, code: code, diagnostics: message, expression: path))
            return nil
        }
        guard case .quantity(let quantity) = finding.value else {
            return refuse(
                .required, "The ADC observation has no valueQuantity: the model needs the measured ADC with its unit", at: finding.valuePath)
        }
        let path = finding.valuePath
        guard let text = quantity.value?.value?.text, let reported = quantity.value?.value?.doubleValue else {
            return refuse(.required, "The ADC quantity has no value", at: "\(path).value")
        }
        if let comparator = quantity.comparator?.value {
            return refuse(
                .value, "The ADC is given as '\(comparator) \(text)': a bound, not a measurement, cannot be scored", at: "\(path).comparator")
        }
        if let system = quantity.system?.value, system != ADCUnit.ucum {
            return refuse(.value, "The ADC unit must be a UCUM code (system \(ADCUnit.ucum)), not a code of \(system)", at: "\(path).system")
        }
        guard let unit = quantity.code?.value ?? quantity.unit?.value else {
            return refuse(
                .required,
                "The ADC \(text) has no unit: it is refused rather than guessed; give a UCUM code such as 10*-3.mm2/s or mm2/s",
                at: "\(path).code"
            )
        }
        guard let factor = ADCUnit.factor(for: unit, acceptLenient: parameters.units.acceptLenient) else {
            return refuse(
                .value,
                "The ADC unit '\(unit)' is not an ADC unit the gateway knows; use one of \(ADCUnit.accepted(lenient: parameters.units.acceptLenient).joined(separator: ", "))",
                at: "\(path).code"
            )
        }
        let normalised = reported * factor
        let hard = parameters.adc.hardRange
        guard normalised >= hard[0], normalised <= hard[1] else {
            return refuse(
                .value,
                "The ADC \(text) \(unit) is \(Self.format(normalised)) ×10⁻³ mm²/s, outside the plausible range \(Self.format(hard[0]))–\(Self.format(hard[1])) ×10⁻³ mm²/s: check the unit",
                at: "\(path).value"
            )
        }
        return CaseFeatures.ADCValue(
            normalised: normalised, reportedValue: text, reportedUnit: unit, status: finding.status, effective: finding.effective)
    }

    static func format(_ value: Double, decimals: Int = 3) -> String {
        String(format: "%.\(decimals)f", value)
    }
}
