import FHIRCore
import FHIRModels
import Foundation
import RiskModel
import Testing

/// The Sheng 2022 model with the shipped parameters, and model files with other numbers.
@Suite struct ModelTests {
    @Test(arguments: [(0.800, 0.776), (1.028, 0.558), (1.300, 0.275)])
    func referenceValuesOfTheDesign(adc: Double, expected: Double) throws {
        let score = ADCLogisticModel(parameters: try Scoring.parameters()).score(adc: adc)
        #expect(String(format: "%.3f", score.probability) == String(format: "%.3f", expected))
    }

    @Test func theCutOffItselfIsInTheHighRiskStratum() throws {
        let model = ADCLogisticModel(parameters: try Scoring.parameters())
        #expect(model.score(adc: 1.028).stratum == .high)
        #expect(model.score(adc: 1.028).medianPFSMonths == 5)
        #expect(model.score(adc: 1.029).stratum == .lower)
        #expect(model.score(adc: 1.029).medianPFSMonths == 16)
    }

    @Test func qualitativeRiskFollowsStratumThenThreshold() throws {
        let model = ADCLogisticModel(parameters: try Scoring.parameters())
        #expect(model.score(adc: 0.8).qualitativeRisk == .high)
        #expect(model.score(adc: 1.3).qualitativeRisk == .moderate)
        #expect(model.score(adc: 1.7).qualitativeRisk == .low)
    }

    @Test func relativeRiskIsAgainstTheCohortRate() throws {
        let model = ADCLogisticModel(parameters: try Scoring.parameters())
        #expect(String(format: "%.2f", model.score(adc: 0.8).relativeRisk) == "1.39")
        #expect(String(format: "%.2f", model.score(adc: 1.028).relativeRisk) == "1.00")
        #expect(String(format: "%.2f", model.score(adc: 1.3).relativeRisk) == "0.49")
    }

    @Test func theInterceptIsDerivedAsTheModelFileSays() throws {
        let parameters = try Scoring.parameters()
        #expect(String(format: "%.4f", parameters.interceptValue) == "4.7803")
        let half = try Scoring.parameters {
            $0 = $0.replacingOccurrences(of: "mode: prevalenceAtCutoff\n  value: 4.7803", with: "mode: halfAtCutoff")
        }
        #expect(String(format: "%.4f", half.interceptValue) == "4.5467")
        #expect(String(format: "%.3f", ADCLogisticModel(parameters: half).score(adc: 1.028).probability) == "0.500")
        #expect(String(format: "%.3f", ADCLogisticModel(parameters: half).score(adc: 0.8).probability) == "0.733")
    }

    /// A second model file with other numbers works without code changes.
    @Test func aSecondModelFileWithOtherParametersWorks() throws {
        let other = """
            name: adc-other
            title: Another ADC model
            version: "2"
            citation: A hypothetical validation cohort.
            adc: {oddsRatio: 0.05, oddsRatioUnit: "10*-3.mm2/s", cutoff: 1.1, highRiskIfAtOrBelow: true, hardRange: [0.2, 3.5], softRange: [0.6, 1.8]}
            cohort: {earlyProgressors: 30, nonEarlyProgressors: 70}
            intercept: {mode: fixed, value: 3.0}
            horizonMonths: 6
            medianPFSMonths: {high: 4, low: 12}
            qualitative: {moderateThreshold: 0.3}
            output: {probabilityScale: fraction, probabilityDecimals: 3, identifierSystem: "urn:example:ids"}
            units: {acceptLenient: false}
            multipleADC: mean
            """
        let parameters = try ModelParameters(yaml: other)
        let outcome = try Scoring.run(Scoring.bundle([Scoring.adc("1.0")]), parameters: parameters)
        let assessment = try #require(outcome.assessments.first)
        let p = 1 / (1 + exp(-(3.0 + log(0.05) * 1.0)))
        guard case .decimal(let decimal) = assessment.prediction.first?.probability else {
            Issue.record("no probabilityDecimal")
            return
        }
        #expect(decimal.value?.text == String(format: "%.3f", p))
        #expect(assessment.method?.coding.first?.code?.value == "adc-other")
        #expect(assessment.identifier.first?.system?.value == "urn:example:ids")
        guard case .range(let range) = assessment.prediction.first?.when else {
            Issue.record("no whenRange")
            return
        }
        #expect(range.high?.value?.value?.text == "6")
        // The CodeSystem's outcome code means 12 months: a 6-month model states its outcome in text.
        #expect(assessment.prediction.first?.outcome?.coding.isEmpty == true)
        #expect(assessment.prediction.first?.outcome?.text?.value?.contains("within 6 months") == true)
        // Lenient unit spellings are off in this file.
        let lenient = try Scoring.run(Scoring.bundle([Scoring.adc("1.0", unit: "10-3.mm2/s")]), parameters: parameters)
        #expect(lenient.assessments.isEmpty)
    }

    @Test(arguments: [
        ("mode: prevalenceAtCutoff\n  value: 4.7803", "mode: prevalenceAtCutoff\n  value: 4.9", "disagrees"),
        ("oddsRatio: 0.012", "oddsRatio: -1", "oddsRatio must be positive"),
        ("horizonMonths: 12", "", "horizonMonths"),
        ("softRange: [0.5, 2.0]", "softRange: [0.05, 2.0]", "inside adc.hardRange"),
        ("probabilityScale: percent", "probabilityScale: permille", "probabilityScale"),
    ])
    func invalidModelFilesAreRefusedWithTheReason(original: String, replacement: String, words: String) {
        #expect {
            _ = try Scoring.parameters { $0 = $0.replacingOccurrences(of: original, with: replacement) }
        } throws: { error in
            (error as? ModelConfigurationError)?.description.contains(words) == true
        }
    }
}
