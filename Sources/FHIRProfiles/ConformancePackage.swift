import FHIRCore

/// The conformance resources the gateway holds (Profiles/): StructureDefinitions, ValueSets and
/// CodeSystems, read by `FHIRReader` and compiled for validation, those of the implementation
/// guide and those of R4 core (Profiles/r4-core/) with the rules that select the latter. Pure:
/// resources in.
public struct ConformancePackage: Sendable {
    /// The profiles by canonical URL.
    public let profiles: [String: Profile]
    let valueSets: [String: ValueSetCodes]
    /// The guide's profiles of each resource type, in the order of their URLs: those its key
    /// element selects (`selection(for:)`).
    let profilesByType: [String: [Profile]]
    /// The rules that select an R4 core profile by a resource's code.
    let selectionRules: ProfileSelectionRules

    /// A profile: its StructureDefinition's identity and its snapshot, compiled.
    public struct Profile: Sendable {
        public let url: String
        /// The StructureDefinition's `id`, as messages and metric labels name it.
        public let name: String
        /// The resource type it constrains.
        public let type: String
        /// The canonical URL of the profile or type it derives from (`bp` from `vitalsigns`).
        public let baseDefinition: String?
        let root: ProfileElement
        /// Whose profile it is, which decides when it applies.
        public internal(set) var origin: Origin = .guide

        public enum Origin: Sendable {
            /// The implementation guide's (Profiles/): applies by its key element or a claim.
            case guide
            /// R4 core's (Profiles/r4-core/): applies by the selection rules or a claim, never by
            /// a key element (`vitalsigns` has none and would take every Observation).
            case core
        }
    }

    /// - Parameters:
    ///   - resources: every resource of the guide (others than StructureDefinition, ValueSet
    ///     and CodeSystem are ignored).
    ///   - coreResources: the R4 core profiles and ValueSets the gateway holds.
    ///   - selectionRules: the rules that select a core profile by a resource's code.
    ///   - compile: compiles an invariant's FHIRPath expression.
    public init(
        resources: [FHIRNode], coreResources: [FHIRNode] = [], selectionRules: ProfileSelectionRules = ProfileSelectionRules(),
        compile: @escaping InvariantCompiler
    ) throws(ProfileDefinitionError) {
        let coreCount = coreResources.count
        let resources = coreResources + resources
        var systems: [String: Set<String>] = [:]
        for resource in resources where resource.type.name == "CodeSystem" {
            guard let url = resource.value(of: "url") else { continue }
            systems[url] = Self.concepts(resource.children(named: "concept"))
        }
        var valueSets: [String: ValueSetCodes] = [:]
        for resource in resources where resource.type.name == "ValueSet" {
            let codes = ValueSetCodes(valueSet: resource, codeSystems: systems)
            valueSets[codes.url] = codes
        }
        for (url, codes) in valueSets {
            var merged = codes
            for imported in codes.imports {
                guard let other = valueSets[imported] else {
                    throw ProfileDefinitionError("ValueSet \(url) imports \(imported), which the package does not hold")
                }
                merged.merge(other)
            }
            valueSets[url] = merged
        }
        self.valueSets = valueSets
        let definitions = resources.enumerated().filter { $0.element.type.name == "StructureDefinition" }
        let types = Dictionary(
            definitions.compactMap { _, sd in sd.value(of: "url").map { ($0, sd.value(of: "type") ?? "") } }, uniquingKeysWith: { a, _ in a })
        var profiles: [String: Profile] = [:]
        for (index, definition) in definitions {
            var profile = try ProfileCompiler(profileTypes: types, heldValueSets: Set(valueSets.keys), compile: compile).compile(definition)
            if index < coreCount { profile.origin = .core }
            guard profiles[profile.url] == nil else {
                throw ProfileDefinitionError("Two StructureDefinitions have the URL \(profile.url)")
            }
            profiles[profile.url] = profile
        }
        for rule in selectionRules.rules {
            if let profile = profiles[rule.profile], profile.type != rule.resourceType || profile.origin != .core {
                throw ProfileDefinitionError(
                    "A profile selection rule selects \(rule.profile) for \(rule.resourceType); that profile is the guide's or constrains \(profile.type)")
            }
        }
        self.profiles = profiles
        self.selectionRules = selectionRules
        profilesByType = Dictionary(grouping: profiles.values.filter { $0.origin == .guide }.sorted { $0.url < $1.url }, by: \.type)
    }

    private static func concepts(_ nodes: [FHIRNode]) -> Set<String> {
        var codes: Set<String> = []
        for concept in nodes {
            if let code = concept.value(of: "code") { codes.insert(code) }
            codes.formUnion(concepts(concept.children(named: "concept")))
        }
        return codes
    }

    /// The profile with this canonical URL (a `|version` suffix is ignored).
    public func profile(_ url: String) -> Profile? {
        profiles[url] ?? url.split(separator: "|").first.flatMap { profiles[String($0)] }
    }
}

/// A StructureDefinition or ValueSet of the package that cannot be used: the gateway refuses to
/// start on it, since what it would enforce is unknown.
public struct ProfileDefinitionError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
