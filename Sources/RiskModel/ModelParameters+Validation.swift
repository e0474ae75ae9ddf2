import Foundation

extension ModelParameters {
    /// The ADC coefficient: ln(odds ratio) per 1 ×10⁻³ mm²/s.
    public var slope: Double { log(adc.oddsRatio) }

    /// Whether an ADC lies inside the soft range, on which the model can be read: outside it the
    /// assessment gives the stratum without a probability, and says to check the unit and ROI.
    public func isInSoftRange(_ adc: Double) -> Bool {
        adc >= self.adc.softRange[0] && adc <= self.adc.softRange[1]
    }

    /// The soft range in words, `0.500–2.000`.
    public var softRangeText: String {
        "\(FeatureExtractor.format(adc.softRange[0]))–\(FeatureExtractor.format(adc.softRange[1]))"
    }

    /// The cohort's rate of early progression (24/43 for Sheng 2022).
    public var cohortRate: Double {
        Double(cohort.earlyProgressors) / Double(cohort.earlyProgressors + cohort.nonEarlyProgressors)
    }

    /// The intercept the mode gives: derived from the cut-off and the cohort, or the fixed value.
    public var interceptValue: Double {
        switch intercept.mode {
        case .prevalenceAtCutoff:
            log(Double(cohort.earlyProgressors) / Double(cohort.nonEarlyProgressors)) - slope * adc.cutoff
        case .halfAtCutoff:
            -slope * adc.cutoff
        case .fixed:
            intercept.value ?? 0
        }
    }

    func validate() throws(ModelConfigurationError) {
        func require(_ condition: Bool, _ message: String) throws(ModelConfigurationError) {
            if !condition { throw ModelConfigurationError(message) }
        }
        try require(!name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }, "name must be a code (letters, digits, '-')")
        try require(adc.oddsRatio > 0, "adc.oddsRatio must be positive")
        try require(adc.oddsRatioUnit == "10*-3.mm2/s", "adc.oddsRatioUnit must be 10*-3.mm2/s, the unit the model computes in")
        try require(adc.hardRange.count == 2 && adc.hardRange[0] < adc.hardRange[1], "adc.hardRange must be [low, high] with low < high")
        try require(adc.softRange.count == 2 && adc.softRange[0] < adc.softRange[1], "adc.softRange must be [low, high] with low < high")
        try require(
            adc.hardRange[0] <= adc.softRange[0] && adc.softRange[1] <= adc.hardRange[1],
            "adc.softRange must lie inside adc.hardRange"
        )
        try require(adc.hardRange[0] < adc.cutoff && adc.cutoff < adc.hardRange[1], "adc.cutoff must lie inside adc.hardRange")
        try require(cohort.earlyProgressors > 0 && cohort.nonEarlyProgressors > 0, "cohort counts must be positive")
        try require(horizonMonths > 0, "horizonMonths must be positive")
        try require(medianPFSMonths.high > 0 && medianPFSMonths.low > 0, "medianPFSMonths must be positive")
        try require(qualitative.moderateThreshold > 0 && qualitative.moderateThreshold < 1, "qualitative.moderateThreshold must be between 0 and 1")
        try require((0...6).contains(output.probabilityDecimals), "output.probabilityDecimals must be 0 to 6")
        try require(output.identifierSystem.contains(":"), "output.identifierSystem must be an absolute URI")
        switch intercept.mode {
        case .fixed:
            try require(intercept.value != nil, "intercept.value is required when intercept.mode is fixed")
        case .prevalenceAtCutoff, .halfAtCutoff:
            if let value = intercept.value {
                let derived = interceptValue
                try require(
                    abs(value - derived) < 0.0005,
                    "intercept.value \(value) disagrees with intercept.mode \(intercept.mode.rawValue), which gives \(String(format: "%.4f", derived)); fix the value or use mode fixed"
                )
            }
        }
    }
}
