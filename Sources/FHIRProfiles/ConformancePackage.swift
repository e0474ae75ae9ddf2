import FHIRCore

/// The conformance resources the gateway holds (Profiles/): StructureDefinitions, ValueSets and
/// CodeSystems, read by `FHIRReader` and compiled for validation. Pure: resources in.
public struct ConformancePackage: Sendable {
    /// The profiles by canonical URL.
    public let profiles: [String: Profile]
    let valueSets: [String: ValueSetCodes]
    /// The profiles of each resource type, in the order of their URLs.
    let profilesByType: [String: [Profile]]

    /// A profile: its StructureDefinition's identity and its snapshot, compiled.
    public struct Profile: Sendable {
        public let url: String
        /// The StructureDefinition's `id`, as messages and metric labels name it.
        public let name: String
        /// The resource type it constrains.
        public let type: String
        let root: ProfileElement
    }

    /// - Parameters:
    ///   - resources: every resource of the package (others than StructureDefinition, ValueSet
    ///     and CodeSystem are ignored).
    ///   - compile: compiles an invariant's FHIRPath expression.
    public init(resources: [FHIRNode], compile: @escaping InvariantCompiler) throws(ProfileDefinitionError) {
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
        let definitions = resources.filter { $0.type.name == "StructureDefinition" }
        let types = Dictionary(definitions.compactMap { sd in sd.value(of: "url").map { ($0, sd.value(of: "type") ?? "") } }, uniquingKeysWith: { a, _ in a })
        var profiles: [String: Profile] = [:]
        for definition in definitions {
            let profile = try ProfileCompiler(profileTypes: types, heldValueSets: Set(valueSets.keys), compile: compile).compile(definition)
            profiles[profile.url] = profile
        }
        self.profiles = profiles
        profilesByType = Dictionary(grouping: profiles.values.sorted { $0.url < $1.url }, by: \.type)
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
