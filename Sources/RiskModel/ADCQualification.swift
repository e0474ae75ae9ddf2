import FHIRCore
import FHIRModels

/// Whether an ADC is the measurement the model was derived on: the tumour's mean ADC in the liver
/// or the intrahepatic bile ducts, and its value in a known unit inside the plausible range.
extension FeatureExtractor {
    enum Qualification {
        /// It counts; the body site in words, nil when none was given (`requireBodySite: false`).
        case counts(site: String?)
        /// It is set aside: why, and where.
        case ignored(String, path: String)
    }

    /// The body site and the derivation of an ADC: its own Observation's `bodySite` and `method`
    /// (a component's are its Observation's), else the body site of the lesion it is about
    /// (`focus` → a Condition of the case).
    func qualification(of finding: Finding, resources: CaseResources) -> Qualification {
        let observation = finding.observation
        let path = resources.entries[finding.entryIndex].path

        if let method = observation.method {
            let found = codes.features(of: method.systemCodes)
            let mean = found.contains(.adcDerivationMean)
            let fittingOnly = !method.coding.isEmpty && method.systemCodes.count == method.coding.count
                && method.systemCodes.allSatisfy { codes.features(of: [$0]).contains(.adcFittingMethod) }
            if !mean, !fittingOnly {
                return .ignored(
                    "The ADC at \(finding.label) is derived as \(Self.describe(method)), not the mean of the region of interest (\(codes.listing(.adcDerivationMean))): a minimum, maximum, standard deviation or other derived value is not what the model was derived on, so it is not used",
                    path: "\(path).method")
            }
        }

        var sites: [CodeableConcept] = []
        var sitePath = "\(path).bodySite"
        if let site = observation.bodySite {
            sites.append(site)
        } else {
            for focus in observation.focus {
                guard let index = resources.resolve(focus.reference?.value), case .condition(let lesion) = resources.entries[index].resource
                else { continue }
                sites += lesion.bodySite
                sitePath = "\(resources.entries[index].path).bodySite"
            }
        }
        guard !sites.isEmpty else {
            if policy.requireBodySite {
                return .ignored(
                    "The ADC at \(finding.label) gives no body site (Observation.bodySite, or the bodySite of the lesion in Observation.focus): it may be another organ's, so it is not used (cases.requireBodySite: true)",
                    path: "\(path).bodySite")
            }
            return .counts(site: nil)
        }
        let siteCodes = sites.flatMap(\.systemCodes)
        let found = codes.features(of: siteCodes)
        if found.contains(.adcReferenceRegion) {
            return .ignored(
                "The ADC at \(finding.label) was measured in a reference region (\(sites.map { Self.describe($0) }.joined(separator: "; "))), not in the tumour: it is not used",
                path: sitePath)
        }
        guard found.contains(.adcBodySite) else {
            return .ignored(
                "The ADC at \(finding.label) was measured in \(sites.map { Self.describe($0) }.joined(separator: "; ")), not in the liver or the intrahepatic bile ducts (\(codes.listing(.adcBodySite))): the model applies to intrahepatic cholangiocarcinoma only, so it is not used",
                path: sitePath)
        }
        return .counts(site: sites.first.map { $0.text?.value ?? $0.coding.first?.display?.value ?? Self.describe($0) })
    }

    /// The ADC of a finding in ×10⁻³ mm²/s, or nil with the reason added to `issues` (an error:
    /// the value is wrong whatever the case).
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
            normalised: normalised, reportedValue: text, reportedUnit: unit, status: finding.status, effective: finding.effective, site: nil)
    }
}
