import FHIRCore

/// A code in its system.
public struct SystemCode: Sendable, Hashable, CustomStringConvertible {
    public var system: String
    public var code: String

    public init(system: String, code: String) {
        self.system = system
        self.code = code
    }

    public var description: String { "\(system)#\(code)" }
}

/// Which codes mean what: one set of codes per feature, read from the ValueSets in `Profiles/`
/// (a site adds its local codes to those ValueSets, not to Swift code).
public struct FeatureCodes: Sendable, Hashable {
    /// The features (and the clinical rules' code lists) and the canonical URL of the ValueSet
    /// that lists each one's codes.
    public enum Feature: String, Sendable, Hashable, CaseIterable {
        case adc = "ValueSet/adc"
        case tumourMargin = "ValueSet/tumour-margin"
        case marginPoorlyDefined = "ValueSet/margin-poorly-defined"
        case marginWellDefined = "ValueSet/margin-well-defined"
        case tumourCount = "ValueSet/tumour-count"
        case arterialPeritumoralEnhancement = "ValueSet/arterial-peritumoral-enhancement"
        case lymphNodeMetastasis = "ValueSet/lymph-node-metastasis"
        case findingPresent = "ValueSet/finding-present"
        case findingAbsent = "ValueSet/finding-absent"
        /// Diagnoses that make a patient eligible: intrahepatic cholangiocarcinoma (ICD-10 C22.1).
        case iccaDiagnosis = "ValueSet/icca-diagnosis"
        /// ICD-O-3 morphologies of cholangiocarcinoma; eligible only with a topography below.
        case iccaMorphology = "ValueSet/icca-morphology"
        /// ICD-O-3 topographies of the intrahepatic bile ducts.
        case iccaTopography = "ValueSet/icca-topography"
        /// Body sites where a tumour ADC counts: the liver and the intrahepatic bile ducts.
        case adcBodySite = "ValueSet/adc-body-site"
        /// Regions measured for reference, not the tumour (background liver): never scored.
        case adcReferenceRegion = "ValueSet/adc-reference-region"
        /// The derivation "mean" of an ROI's ADC values.
        case adcDerivationMean = "ValueSet/adc-derivation-mean"
        /// Methods that say how the ADC was fitted, not how the ROI was summarised: the
        /// derivation stays "not stated".
        case adcFittingMethod = "ValueSet/adc-fitting-method"

        public var url: String { "\(ProjectCanonical.base)/\(rawValue)" }

        var bit: UInt32 {
            UInt32(1) << UInt32(Self.allCases.firstIndex(of: self) ?? 0)
        }
    }

    public let codes: [Feature: Set<SystemCode>]
    /// For each code, the features whose ValueSets list it (a bit each): a code is hashed once,
    /// not once per feature it is tried against.
    private let features: [SystemCode: UInt32]

    /// A set of features, a bit each.
    public struct FeatureSet: Sendable, Hashable {
        var bits: UInt32

        public func contains(_ feature: Feature) -> Bool { bits & feature.bit != 0 }
    }

    /// Builds the code sets from ValueSet resources (as read by `FHIRReader`). Every feature needs
    /// its ValueSet; only enumerated codes (`compose.include.concept`) are supported, since the
    /// gateway has no terminology server to expand filters.
    public init(valueSets: [FHIRNode]) throws(ModelConfigurationError) {
        var codes: [Feature: Set<SystemCode>] = [:]
        for valueSet in valueSets where valueSet.type.name == "ValueSet" {
            guard let url = valueSet.value(of: "url"), let feature = Feature.allCases.first(where: { $0.url == url }) else { continue }
            var set: Set<SystemCode> = []
            for include in valueSet.child(named: "compose")?.children(named: "include") ?? [] {
                guard let system = include.value(of: "system") else {
                    throw ModelConfigurationError("ValueSet \(url): every compose.include needs a system")
                }
                if include.child(named: "filter") != nil || include.child(named: "valueSet") != nil {
                    throw ModelConfigurationError("ValueSet \(url): only enumerated concepts are supported (no filter, no valueSet import)")
                }
                for concept in include.children(named: "concept") {
                    if let code = concept.value(of: "code") { set.insert(SystemCode(system: system, code: code)) }
                }
            }
            if !(valueSet.child(named: "compose")?.children(named: "exclude") ?? []).isEmpty {
                throw ModelConfigurationError("ValueSet \(url): compose.exclude is not supported")
            }
            codes[feature, default: []].formUnion(set)
        }
        for feature in Feature.allCases where codes[feature]?.isEmpty ?? true {
            throw ModelConfigurationError("No codes for \(feature.url): the Profiles folder must hold that ValueSet with at least one code")
        }
        self.codes = codes
        features = Self.index(codes)
    }

    private static func index(_ codes: [Feature: Set<SystemCode>]) -> [SystemCode: UInt32] {
        var index: [SystemCode: UInt32] = [:]
        for (feature, set) in codes {
            for code in set { index[code, default: 0] |= feature.bit }
        }
        return index
    }

    /// The features whose ValueSets list any of `codes`.
    public func features(of codes: [SystemCode]) -> FeatureSet {
        FeatureSet(bits: codes.reduce(0) { $0 | (features[$1] ?? 0) })
    }

    /// The codes of a feature as text, for messages: `http://dicom.nema.org/resources/ontology/DCM#113041, …`.
    public func listing(_ feature: Feature) -> String {
        (codes[feature] ?? []).map(\.description).sorted().joined(separator: ", ")
    }
}

/// The canonical base of this project's conformance resources.
public enum ProjectCanonical {
    public static let base = "http://fhir-risk-gateway.org/fhir"
    public static let codeSystem = "\(base)/CodeSystem/fhir-risk-gateway"
    public static let riskAssessmentProfile = "\(base)/StructureDefinition/icca-early-progression-risk"
    /// The implementation guide of Profiles/ (its ImplementationGuide resource's canonical URL).
    public static let implementationGuide = "\(base)/ImplementationGuide/fhir-risk-gateway.icca"
}
