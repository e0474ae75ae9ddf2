import Foundation
import Yams

/// Every parameter of an ADC logistic model, as `Config/models/<name>.yaml` states it. A second
/// model file with other numbers works without code changes.
public struct ModelParameters: Sendable, Hashable, Codable {
    public struct ADC: Sendable, Hashable, Codable {
        public var oddsRatio: Double
        public var oddsRatioUnit: String
        public var cutoff: Double
        public var highRiskIfAtOrBelow: Bool
        public var hardRange: [Double]
        public var softRange: [Double]
    }

    public struct Cohort: Sendable, Hashable, Codable {
        public var earlyProgressors: Int
        public var nonEarlyProgressors: Int
    }

    public struct Intercept: Sendable, Hashable, Codable {
        public enum Mode: String, Sendable, Hashable, Codable {
            /// p at the cut-off equals the cohort's rate of early progression.
            case prevalenceAtCutoff
            /// p = 0.5 at the cut-off.
            case halfAtCutoff
            /// `value` as given.
            case fixed
        }

        public var mode: Mode
        public var value: Double?
    }

    public struct MedianPFS: Sendable, Hashable, Codable {
        public var high: Double
        public var low: Double
    }

    public struct Qualitative: Sendable, Hashable, Codable {
        public var moderateThreshold: Double
    }

    public struct Output: Sendable, Hashable, Codable {
        public enum Scale: String, Sendable, Hashable, Codable {
            case percent, fraction
        }

        public var probabilityScale: Scale
        public var probabilityDecimals: Int
        public var identifierSystem: String
    }

    public struct Units: Sendable, Hashable, Codable {
        public var acceptLenient: Bool
    }

    /// Which of several ADC values of one study the model uses.
    public enum MultipleADCPolicy: String, Sendable, Hashable, Codable {
        /// The lowest: the most aggressive lesion.
        case lowest
        case mean
        /// The most recent by effective time.
        case latest
    }

    public var name: String
    public var title: String
    public var version: String
    public var citation: String
    public var adc: ADC
    public var cohort: Cohort
    public var intercept: Intercept
    public var horizonMonths: Int
    public var medianPFSMonths: MedianPFS
    public var qualitative: Qualitative
    public var output: Output
    public var units: Units
    public var multipleADC: MultipleADCPolicy

    /// Reads a model file's text (YAML) and checks it; the caller reads the file.
    public init(yaml: String) throws(ModelConfigurationError) {
        do {
            self = try YAMLDecoder().decode(ModelParameters.self, from: yaml)
        } catch let error as DecodingError {
            throw ModelConfigurationError(Self.describe(error))
        } catch {
            throw ModelConfigurationError("the model file is not valid YAML: \(error)")
        }
        try validate()
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let at = path(context)
            return "the model file lacks the key '\(at.isEmpty ? key.stringValue : at + "." + key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "the model file's key '\(path(context))' has the wrong type: \(context.debugDescription)"
        case .dataCorrupted(let context):
            return "the model file's key '\(path(context))' is invalid: \(context.debugDescription)"
        @unknown default:
            return "the model file cannot be read: \(error)"
        }
    }
}

/// A model file that cannot be used, in words an integration engineer can act on.
public struct ModelConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
