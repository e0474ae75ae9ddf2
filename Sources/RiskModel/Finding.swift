import FHIRCore
import FHIRModels

/// One recognised measurement or finding: an Observation, or one of its components, whose code is
/// in a feature's ValueSet.
///
/// A class: it holds its whole Observation, and scoring sorts, groups and filters findings; a
/// struct copied (and retained) the Observation's every string and array each time.
final class Finding: Sendable {
    enum Value: Sendable {
        case quantity(Quantity)
        case concept(CodeableConcept)
        case boolean(Bool)
        case integer(Int32)
        case absent
        /// A value of another type (string, range, …), which no feature uses.
        case other
    }

    enum Standing: Sendable, Equatable {
        /// final, amended, corrected: used for scoring.
        case usable
        /// preliminary, registered, unknown: held until final.
        case held
        /// entered-in-error, cancelled: withdrawn; what rests on it is retracted.
        case withdrawn
    }

    let feature: FeatureCodes.Feature
    let entryIndex: Int
    let observation: Observation
    let componentIndex: Int?
    let value: Value
    /// FHIRPath of the observation (or component) in the input.
    let path: String
    /// The observation in words that stay the same from one request to the next (its reference,
    /// `Observation/adc-1`, and the component): for rationales, notes and reasons.
    let label: String

    init(feature: FeatureCodes.Feature, entryIndex: Int, observation: Observation, componentIndex: Int?, value: Value, path: String, name: String) {
        self.feature = feature
        self.entryIndex = entryIndex
        self.observation = observation
        self.componentIndex = componentIndex
        self.value = value
        self.path = path
        label = componentIndex.map { "\(name) (component \($0))" } ?? name
    }

    var status: String { observation.status.value ?? "unknown" }

    var standing: Standing {
        switch status {
        case "final", "amended", "corrected": .usable
        case "entered-in-error", "cancelled": .withdrawn
        default: .held
        }
    }

    /// The effective time as written, for the `latest` policy and for matching a study by date.
    var effective: String? { Self.effective(of: observation) }

    static func effective(of observation: Observation) -> String? {
        switch observation.effective {
        case .dateTime(let value): value.value?.fhirText
        case .instant(let value): value.value?.fhirText
        case .period(let period): period.start?.value?.fhirText
        case .timing, nil: observation.issued?.value?.fhirText
        }
    }

    /// FHIRPath of the value element.
    var valuePath: String {
        let name =
            switch value {
            case .quantity: "valueQuantity"
            case .concept: "valueCodeableConcept"
            case .boolean: "valueBoolean"
            case .integer: "valueInteger"
            case .absent, .other: "value"
            }
        return "\(path).\(name)"
    }

    static func value(of observation: Observation) -> Value {
        switch observation.value {
        case .quantity(let quantity): .quantity(quantity)
        case .codeableConcept(let concept): .concept(concept)
        case .boolean(let flag): flag.value.map(Value.boolean) ?? .absent
        case .integer(let count): count.value.map(Value.integer) ?? .absent
        case nil: .absent
        case .some: .other
        }
    }

    static func value(of component: Observation.Component) -> Value {
        switch component.value {
        case .quantity(let quantity): .quantity(quantity)
        case .codeableConcept(let concept): .concept(concept)
        case .boolean(let flag): flag.value.map(Value.boolean) ?? .absent
        case .integer(let count): count.value.map(Value.integer) ?? .absent
        case nil: .absent
        case .some: .other
        }
    }
}

extension CodeableConcept {
    /// The codings as system and code pairs (codings without either are skipped).
    var systemCodes: [SystemCode] {
        coding.compactMap { coding in
            guard let system = coding.system?.value, let code = coding.code?.value else { return nil }
            return SystemCode(system: system, code: code)
        }
    }
}
