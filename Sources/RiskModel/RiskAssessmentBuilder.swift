import FHIRCore
import FHIRModels
import Foundation

/// Builds the RiskAssessment of one scored case (pure: features, score and time in; resource out).
public struct RiskAssessmentBuilder: Sendable {
    public let parameters: ModelParameters

    public init(parameters: ModelParameters) {
        self.parameters = parameters
    }

    static let riskProbability = "http://terminology.hl7.org/CodeSystem/risk-probability"

    /// The business identifier of a case's assessment: a name-based UUID of the model, its
    /// version, the patient's key and the case's key (its study's DICOM Study Instance UID), so
    /// the same case always gets the same identity and a retry never creates a second one.
    public func identifier(patientKey: String, caseKey: String) -> String {
        DeterministicIdentifier.urn(for: identityName(patientKey: patientKey, caseKey: caseKey))
    }

    /// The name the identifier is made from: `sheng2022|v1|Patient/p1|urn:oid:1.2.3`.
    public func identityName(patientKey: String, caseKey: String) -> String {
        identityPrefix + patientKey + "|" + caseKey
    }

    /// The model's part of every identity name: another model or version makes other identities.
    public var identityPrefix: String { "\(parameters.name)|v\(parameters.version)|" }

    /// - Parameters:
    ///   - assessedAt: `occurrenceDateTime`, a FHIR dateTime (the caller's clock).
    ///   - identifier: the assessment's business identifier (`identifier(patientKey:caseKey:)`,
    ///     or the identity of the earlier assessment this one continues).
    public func build(_ features: CaseFeatures, score: ADCScore, assessedAt: FHIRDateTime, identifier: String) -> RiskAssessment {
        let model = parameters
        let outcomeText =
            "Disease progression within \(model.horizonMonths) months of starting first-line lenvatinib + anti-PD-1 antibody"
        // The project's CodeSystem has a code for progression within 12 months only: a model with
        // another horizon says its outcome in text, rather than under a code that means 12 months.
        let outcomeCodes =
            model.horizonMonths == 12
            ? [
                Coding(
                    system: FHIRPrimitive(ProjectCanonical.codeSystem),
                    code: FHIRPrimitive("early-progression-12mo"),
                    display: FHIRPrimitive("Progression within 12 months of starting lenvatinib + anti-PD-1")
                )
            ] : []
        let withProbability = model.isInSoftRange(score.adc)
        let prediction = RiskAssessment.Prediction(
            outcome: CodeableConcept(coding: outcomeCodes, text: FHIRPrimitive(outcomeText)),
            probability: withProbability
                ? .decimal(FHIRPrimitive(decimal(probabilityOnScale(score.probability), places: model.output.probabilityDecimals))) : nil,
            qualitativeRisk: CodeableConcept(
                coding: [
                    Coding(
                        system: FHIRPrimitive(Self.riskProbability),
                        code: FHIRPrimitive(score.qualitativeRisk.rawValue),
                        display: FHIRPrimitive(score.qualitativeRisk.display)
                    )
                ]
            ),
            relativeRisk: withProbability ? FHIRPrimitive(decimal(score.relativeRisk, places: 2)) : nil,
            when: .range(
                Range(
                    low: Quantity(value: FHIRPrimitive(decimal(0, places: 0)), unit: "months", system: FHIRPrimitive(ADCUnit.ucum), code: "mo"),
                    high: Quantity(
                        value: FHIRPrimitive(decimal(Double(model.horizonMonths), places: 0)),
                        unit: "months",
                        system: FHIRPrimitive(ADCUnit.ucum),
                        code: "mo"
                    )
                )
            ),
            rationale: FHIRPrimitive(rationale(features, score: score))
        )
        var condition: Reference?
        if case .condition(let reference) = features.eligibility { condition = reference }
        return RiskAssessment(
            status: FHIRPrimitive(features.status.rawValue),
            subject: features.subject,
            identifier: [Identifier(system: FHIRPrimitive(model.output.identifierSystem), value: FHIRPrimitive(identifier))],
            basis: features.basis,
            prediction: [prediction],
            note: notes(features).map { Annotation(text: FHIRPrimitive($0)) },
            meta: Meta(profile: [FHIRPrimitive(ProjectCanonical.riskAssessmentProfile)]),
            // Coding.version is the CodeSystem's version, which the project's CodeSystem does not
            // state per code: the model's own version is in the text.
            method: CodeableConcept(
                coding: [
                    Coding(
                        system: FHIRPrimitive(ProjectCanonical.codeSystem),
                        code: FHIRPrimitive(model.name),
                        display: FHIRPrimitive(model.title)
                    )
                ],
                text: FHIRPrimitive("\(model.title), model version \(model.version)")
            ),
            occurrence: .dateTime(FHIRPrimitive(assessedAt)),
            condition: condition
        )
    }

    func probabilityOnScale(_ fraction: Double) -> Double {
        parameters.output.probabilityScale == .percent ? fraction * 100 : fraction
    }

    func decimal(_ value: Double, places: Int) -> FHIRDecimal {
        // String(format:) always gives a valid FHIR decimal for a finite value.
        FHIRDecimal(fhirText: String(format: "%.\(places)f", value)) ?? FHIRDecimal(stringLiteral: "0")
    }

    /// The rationale in words: every ADC value considered and how one was chosen, the cut-off,
    /// the stratum and its median PFS, the probability (or why there is none) with its precision
    /// and scale, the secondary features found, and what was not understood.
    public func rationale(_ features: CaseFeatures, score: ADCScore) -> String {
        let model = parameters
        let f = { (value: Double) in FeatureExtractor.format(value) }
        func reported(_ value: CaseFeatures.ADCValue) -> String {
            "\(value.reportedValue) \(value.reportedUnit)"
                + (value.site.map { " in \($0)" } ?? " with no body site given, counted under cases.requireBodySite: false")
        }
        var text = "Tumour ADC \(f(features.adc)) ×10⁻³ mm²/s"
        if features.adcValues.count == 1, let only = features.adcValues.first {
            text += " (reported as \(reported(only)))"
        } else {
            let how =
                switch features.policy {
                case .lowest: "the lowest, that of the most aggressive lesion"
                case .mean: "their mean"
                case .latest: "the latest"
                }
            text += " (\(how), of the \(features.adcValues.count) lesion means considered: "
            text += features.adcValues.map(reported).joined(separator: ", ") + ")"
        }
        let relation =
            model.adc.highRiskIfAtOrBelow
            ? (score.adc <= model.adc.cutoff ? "at or below" : "above") : (score.adc >= model.adc.cutoff ? "at or above" : "below")
        text += ". Cut-off \(f(model.adc.cutoff)) ×10⁻³ mm²/s: the ADC is \(relation) it, so it falls in the "
        text += score.stratum == .high ? "high-risk stratum" : "lower-risk stratum"
        text += ", whose median progression-free survival was \(Int(score.medianPFSMonths)) months in the derivation cohort"
        text += " (the other stratum: \(Int(score.stratum == .high ? model.medianPFSMonths.low : model.medianPFSMonths.high)) months)."
        if model.isInSoftRange(score.adc) {
            let places = model.output.probabilityDecimals
            let percent = String(format: "%.\(places)f", score.probability * 100)
            text += " Probability of progression within \(model.horizonMonths) months: \(percent) %"
            text += places == 0 ? ", to the nearest whole percent" : ", to \(places) decimal\(places == 1 ? "" : "s")"
            text += " (the model rests on \(model.cohort.earlyProgressors + model.cohort.nonEarlyProgressors) patients and publishes no confidence interval"
            text +=
                model.output.probabilityScale == .percent
                ? "; probabilityDecimal is a percentage, 0–100)"
                : "; probabilityDecimal is a fraction, 0–1)"
            text += ", from logit(p) = \(String(format: "%.4f", model.interceptValue)) + ln(\(model.adc.oddsRatio)) × ADC"
            text +=
                "; relative risk \(String(format: "%.2f", score.relativeRisk)) against the cohort's rate of \(String(format: "%.0f", model.cohortRate * 100)) %."
        } else {
            text += " No probability is given: the ADC lies outside \(model.softRangeText) ×10⁻³ mm²/s, the range on which the model can be read"
            text += " (its derivation cohort's ADC range was not published), so only the stratum and the qualitative risk are stated."
        }
        let adverse = adverseFeatures(features)
        if !adverse.isEmpty {
            text += " Adverse secondary features found: \(adverse.joined(separator: "; "))."
            text += " They do not enter the probability: the study published no coefficients for them."
        } else if features.notUnderstood.isEmpty {
            text += " No adverse secondary feature was reported."
        }
        if !features.notUnderstood.isEmpty {
            text += " Not recognised, so not considered: \(features.notUnderstood.joined(separator: "; "))."
            if adverse.isEmpty { text += " An adverse secondary feature may be among them." }
        }
        return text
    }

    func adverseFeatures(_ features: CaseFeatures) -> [String] {
        var found: [String] = []
        if features.margin == .poorlyDefined {
            found.append("poorly defined tumour margin (an independent risk factor in the study's Cox regression; hazard ratio not published)")
        }
        if let count = features.tumourCount, count > 1 { found.append("\(count) tumours (more frequent in early progressors)") }
        if features.arterialPeritumoralEnhancement == true { found.append("arterial peritumoral enhancement (more frequent in early progressors)") }
        if features.lymphNodeMetastasis == true { found.append("lymph-node metastasis (more frequent in early progressors)") }
        return found
    }

    /// The research-model caveat with the citation, then the case's own warnings.
    public func notes(_ features: CaseFeatures) -> [String] {
        let model = parameters
        let total = model.cohort.earlyProgressors + model.cohort.nonEarlyProgressors
        var notes = [
            "Research model, not for treatment decisions on its own: derived retrospectively from one cohort of \(total) patients "
                + "(\(model.cohort.earlyProgressors) early progressors) in a single study, without external validation. "
                + "The ADC depends on the MRI protocol (b-values, field strength, reconstruction); the cut-off "
                + "\(FeatureExtractor.format(model.adc.cutoff)) ×10⁻³ mm²/s was derived on one site's protocol. "
                + "The intercept is an assumption (\(model.intercept.mode.rawValue)), not a published value. Source: \(model.citation)"
        ]
        if features.status == .preliminary {
            notes.append("Preliminary: the MR ImagingStudy of this case was not received, so the assessment is not linked to its study.")
        }
        if features.eligibility == .notChecked {
            notes.append(
                "Eligibility not checked: the gateway is configured (cases.eligibility: any) to trust its sending channel to send only patients with unresectable intrahepatic cholangiocarcinoma; the model applies to no one else."
            )
        }
        return notes + features.warnings
    }
}
