import Foundation

/// The score of one case under an ADC logistic model: logit(p) = b0 + b1·x with x the ADC in
/// ×10⁻³ mm²/s and b1 = ln(odds ratio); the paper's binary stratum at the cut-off; the qualitative
/// risk; the risk relative to the cohort's rate.
public struct ADCScore: Sendable, Hashable {
    public enum Stratum: Sendable, Hashable, CaseIterable {
        /// At or below the cut-off (for Sheng 2022): median PFS 5 months.
        case high
        case lower
    }

    /// `http://terminology.hl7.org/CodeSystem/risk-probability` codes the model emits.
    public enum QualitativeRisk: String, Sendable, Hashable {
        case low, moderate, high

        public var display: String {
            switch self {
            case .low: "Low likelihood"
            case .moderate: "Moderate likelihood"
            case .high: "High likelihood"
            }
        }
    }

    public var adc: Double
    public var logit: Double
    /// As a fraction, 0–1.
    public var probability: Double
    public var stratum: Stratum
    public var medianPFSMonths: Double
    public var qualitativeRisk: QualitativeRisk
    /// probability / cohort rate.
    public var relativeRisk: Double
}

public struct ADCLogisticModel: Sendable {
    public let parameters: ModelParameters

    public init(parameters: ModelParameters) {
        self.parameters = parameters
    }

    public func score(adc: Double) -> ADCScore {
        let logit = parameters.interceptValue + parameters.slope * adc
        let probability = 1 / (1 + exp(-logit))
        let atOrBelow = adc <= parameters.adc.cutoff
        let stratum: ADCScore.Stratum = atOrBelow == parameters.adc.highRiskIfAtOrBelow ? .high : .lower
        let qualitative: ADCScore.QualitativeRisk =
            stratum == .high ? .high : probability >= parameters.qualitative.moderateThreshold ? .moderate : .low
        return ADCScore(
            adc: adc,
            logit: logit,
            probability: probability,
            stratum: stratum,
            medianPFSMonths: stratum == .high ? parameters.medianPFSMonths.high : parameters.medianPFSMonths.low,
            qualitativeRisk: qualitative,
            relativeRisk: probability / parameters.cohortRate
        )
    }
}
