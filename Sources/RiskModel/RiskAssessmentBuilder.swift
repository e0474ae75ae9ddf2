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

    /// - Parameter assessedAt: `occurrenceDateTime`, a FHIR dateTime (the caller's clock).
    public func build(_ features: CaseFeatures, score: ADCScore, assessedAt: FHIRDateTime) -> RiskAssessment {
        let model = parameters
        let identity = [model.name, "v" + model.version, features.subject.reference?.value ?? "", features.studyKey].joined(separator: "|")
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
        let prediction = RiskAssessment.Prediction(
            outcome: CodeableConcept(coding: outcomeCodes, text: FHIRPrimitive(outcomeText)),
            probability: .decimal(FHIRPrimitive(decimal(probabilityOnScale(score.probability), places: model.output.probabilityDecimals))),
            qualitativeRisk: CodeableConcept(
                coding: [
                    Coding(
                        system: FHIRPrimitive(Self.riskProbability),
                        code: FHIRPrimitive(score.qualitativeRisk.rawValue),
                        display: FHIRPrimitive(score.qualitativeRisk.display)
                    )
                ]
            ),
            relativeRisk: FHIRPrimitive(decimal(score.relativeRisk, places: 2)),
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
        return RiskAssessment(
            status: FHIRPrimitive(features.status.rawValue),
            subject: features.subject,
            identifier: [
                Identifier(system: FHIRPrimitive(model.output.identifierSystem), value: FHIRPrimitive(DeterministicIdentifier.urn(for: identity)))
            ],
            basis: features.basis,
            prediction: [prediction],
            note: notes(features).map { Annotation(text: FHIRPrimitive($0)) },
            meta: Meta(profile: [FHIRPrimitive(ProjectCanonical.riskAssessmentProfile)]),
            method: CodeableConcept(
                coding: [
                    Coding(
                        system: FHIRPrimitive(ProjectCanonical.codeSystem),
                        version: FHIRPrimitive(model.version),
                        code: FHIRPrimitive(model.name),
                        display: FHIRPrimitive(model.title)
                    )
                ],
                text: FHIRPrimitive("\(model.title), version \(model.version)")
            ),
            occurrence: .dateTime(FHIRPrimitive(assessedAt))
        )
    }

    func probabilityOnScale(_ fraction: Double) -> Double {
        parameters.output.probabilityScale == .percent ? fraction * 100 : fraction
    }

    func decimal(_ value: Double, places: Int) -> FHIRDecimal {
        // String(format:) always gives a valid FHIR decimal for a finite value.
        FHIRDecimal(fhirText: String(format: "%.\(places)f", value)) ?? FHIRDecimal(stringLiteral: "0")
    }

    /// The rationale in words: the ADC and its unit, how it was chosen, the cut-off, the stratum
    /// and its median PFS, the probability and its scale, the secondary features found.
    public func rationale(_ features: CaseFeatures, score: ADCScore) -> String {
        let model = parameters
        let f = { (value: Double) in FeatureExtractor.format(value) }
        var text = "Tumour ADC \(f(features.adc)) ×10⁻³ mm²/s"
        if features.adcValues.count == 1, let only = features.adcValues.first {
            text += " (reported as \(only.reportedValue) \(only.reportedUnit))"
        } else {
            let how =
                switch features.policy {
                case .lowest: "the lowest, that of the most aggressive lesion"
                case .mean: "their mean"
                case .latest: "the latest"
                }
            text += " (\(how), of \(features.adcValues.count) values: "
            text += features.adcValues.map { "\($0.reportedValue) \($0.reportedUnit)" }.joined(separator: ", ") + ")"
        }
        let relation =
            model.adc.highRiskIfAtOrBelow
            ? (score.adc <= model.adc.cutoff ? "at or below" : "above") : (score.adc >= model.adc.cutoff ? "at or above" : "below")
        text += ". Cut-off \(f(model.adc.cutoff)) ×10⁻³ mm²/s: the ADC is \(relation) it, so it falls in the "
        text += score.stratum == .high ? "high-risk stratum" : "lower-risk stratum"
        text += ", whose median progression-free survival was \(Int(score.medianPFSMonths)) months in the derivation cohort"
        text += " (the other stratum: \(Int(score.stratum == .high ? model.medianPFSMonths.low : model.medianPFSMonths.high)) months)."
        let percent = String(format: "%.1f", score.probability * 100)
        text += " Probability of progression within \(model.horizonMonths) months: \(percent) %"
        text +=
            model.output.probabilityScale == .percent
            ? " (probabilityDecimal is a percentage, 0–100)"
            : " (probabilityDecimal is a fraction, 0–1)"
        text += ", from logit(p) = \(String(format: "%.4f", model.interceptValue)) + ln(\(model.adc.oddsRatio)) × ADC"
        text +=
            "; relative risk \(String(format: "%.2f", score.relativeRisk)) against the cohort's rate of \(String(format: "%.1f", model.cohortRate * 100)) %."
        let adverse = adverseFeatures(features)
        if adverse.isEmpty {
            text += " No adverse secondary feature was reported."
        } else {
            text += " Adverse secondary features found: \(adverse.joined(separator: "; "))."
            text += " They do not enter the probability: the study published no coefficients for them."
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
        if features.status == .enteredInError {
            notes.append("Retracted: every ADC observation this assessment rests on was withdrawn (entered-in-error or cancelled).")
        }
        return notes + features.warnings
    }
}
