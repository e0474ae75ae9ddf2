import FHIRCore

/// Which of the package's profiles an incoming resource is validated against: every profile it
/// claims in `meta.profile` that the package holds; every guide profile of its type whose key
/// element it carries — the code of an Observation or Condition (`code`), the modality of an
/// ImagingStudy (`modality`) — as that element's pattern, required binding or required slice
/// says (a resource of a type the guide profiles without a key element takes the profile); and
/// the R4 core profile the first selection rule it meets names (a vital sign's). Of a profile and
/// one derived from it, only the derived one is kept.
extension ConformancePackage {
    /// The elements, in order of preference, that say which profile of a type a resource is for.
    static let keyElements = ["code", "modality"]

    public struct Selection: Sendable {
        public var profiles: [Profile]
        /// The canonical URLs it claims that the package does not hold (not checked).
        public var unknownClaims: [String]
        /// The selection rule the resource meets, whose profile is in `profiles` when the
        /// package holds it.
        public var rule: ProfileSelectionRules.Match?
    }

    public func selection(for resource: FHIRNode) -> Selection {
        var chosen: [Profile] = []
        var unknown: [String] = []
        for claim in resource.child(named: "meta")?.children(named: "profile").compactMap(\.value) ?? [] {
            if let profile = profile(claim) {
                if !chosen.contains(where: { $0.url == profile.url }) { chosen.append(profile) }
            } else {
                unknown.append(claim)
            }
        }
        for profile in profilesByType[resource.type.name] ?? [] where !chosen.contains(where: { $0.url == profile.url }) {
            if selects(profile, resource) { chosen.append(profile) }
        }
        let rule = selectionRules.match(resource)
        if let rule, let profile = profiles[rule.rule.profile], !chosen.contains(where: { $0.url == profile.url }) {
            chosen.append(profile)
        }
        // A profile another chosen one derives from is checked through it (a blood pressure that
        // claims `vitalsigns` is checked against `bp`): its constraints are in the derived
        // profile's snapshot, and checking both would report each fault twice.
        let all = chosen
        chosen.removeAll { ancestor in all.contains { derives($0, from: ancestor.url) } }
        return Selection(profiles: chosen, unknownClaims: unknown, rule: rule)
    }

    /// Whether `profile` derives, through profiles the package holds, from the profile at
    /// `ancestor` (`bp` from `vitalsigns`).
    public func derives(_ profile: Profile, from ancestor: String) -> Bool {
        var base = profile.baseDefinition
        var steps = 0
        while let url = base, steps <= profiles.count {
            if url == ancestor { return true }
            base = profiles[url]?.baseDefinition
            steps += 1
        }
        return false
    }

    private func selects(_ profile: Profile, _ resource: FHIRNode) -> Bool {
        guard let key = Self.keyElements.lazy.compactMap({ name in profile.root.children.first { $0.segment == name && $0.sliceName == nil } }).first
        else { return true }
        let nodes = resource.children(named: key.segment)
        if let wanted = key.fixed ?? key.pattern { return nodes.contains { ValueMatching.conforms($0, to: wanted) } }
        if let binding = key.binding, binding.strength == .required, let valueSet = valueSets[binding.valueSet] {
            return nodes.contains { Codings.of($0).contains { valueSet.membership(system: $0.system, code: $0.code) == .member } }
        }
        if let slicing = key.slicing {
            let required = slicing.slices.filter { $0.min > 0 }
            if !required.isEmpty {
                return nodes.contains { node in required.contains { Slices.belongs(node, to: $0, by: slicing.discriminators, package: self) } }
            }
        }
        return true
    }
}
