import FHIRCore

/// Compiles a StructureDefinition's snapshot into a tree of `ProfileElement`s, by element id
/// (`Observation.component:adc.code`: the id says which slice an element belongs to).
struct ProfileCompiler {
    /// Every profile's type by URL, to know what a `targetProfile` of this package stands for.
    let profileTypes: [String: String]
    /// The ValueSets the package holds: a binding to another (R4's own, whose required codes base
    /// validation checks, or one the gateway has no copy of) cannot be checked here.
    let heldValueSets: Set<String>
    let compile: InvariantCompiler

    private struct Entry {
        let id: String
        let path: String
        let node: FHIRNode
    }

    func compile(_ definition: FHIRNode) throws(ProfileDefinitionError) -> ConformancePackage.Profile {
        guard let url = definition.value(of: "url"), let type = definition.value(of: "type") else {
            throw ProfileDefinitionError("A StructureDefinition without url or type")
        }
        let name = definition.value(of: "id") ?? url
        let elements = definition.child(named: "snapshot")?.children(named: "element") ?? []
        guard !elements.isEmpty else {
            throw ProfileDefinitionError("StructureDefinition \(url) has no snapshot: run `make profiles` to generate it")
        }
        var entries: [Entry] = []
        var childrenOf: [String: [Int]] = [:]
        for element in elements {
            guard let path = element.value(of: "path") else { throw ProfileDefinitionError("StructureDefinition \(url): an element without path") }
            let id = element.value(of: "id") ?? (element.value(of: "sliceName").map { "\(path):\($0)" } ?? path)
            entries.append(Entry(id: id, path: path, node: element))
            if let parent = Self.parentID(id) { childrenOf[parent, default: []].append(entries.count - 1) }
        }
        guard let first = entries.first, first.path == type else {
            throw ProfileDefinitionError("StructureDefinition \(url): the snapshot does not start with the element \(type)")
        }
        let root = try build(0, entries: entries, childrenOf: childrenOf, profile: url, parentTypes: [])
        return ConformancePackage.Profile(url: url, name: name, type: type, baseDefinition: definition.value(of: "baseDefinition"), root: root)
    }

    /// The id of the element an element belongs to: `Observation.component:adc.code` →
    /// `Observation.component:adc`; a slice (`Observation.component:adc`) belongs, like the
    /// element it slices, to `Observation`.
    static func parentID(_ id: String) -> String? {
        guard let dot = id.lastIndex(of: ".") else { return nil }
        return String(id[..<dot])
    }

    /// - Parameter parentTypes: the R4 types the instance's element holding this one may have
    ///   (empty for the root).
    private func build(_ index: Int, entries: [Entry], childrenOf: [String: [Int]], profile: String, parentTypes: [FHIRType])
        throws(ProfileDefinitionError) -> ProfileElement
    {
        let entry = entries[index]
        let node = entry.node
        let lastSegment = entry.id.split(separator: ".").last.map(String.init) ?? entry.id
        // `component:adc` → element `component`, slice `adc`.
        let ownName = lastSegment.split(separator: ":", maxSplits: 1).first.map(String.init) ?? lastSegment
        let segment = entry.path.split(separator: ".").last.map(String.init) ?? ownName
        let typeCodes = node.children(named: "type").compactMap { $0.value(of: "code") }
        let placement = Self.placement(segment: segment, typeCodes: typeCodes, parentTypes: parentTypes, rootType: entry.path)
        // An element no type of its parent has (`valueQuantity` where R4 names `value[x]`) would
        // match nothing in an instance, and its rules would silently never apply.
        if !parentTypes.isEmpty, placement.indexes.isEmpty {
            throw ProfileDefinitionError(
                "StructureDefinition \(profile): \(entry.id) is not an element of \(parentTypes.map(\.name).joined(separator: " or ")) (a choice is written as value[x], with its type)")
        }
        var children: [ProfileElement] = []
        var slicesOf: [String: [ProfileElement]] = [:]
        for childIndex in childrenOf[entry.id] ?? [] {
            let child = try build(childIndex, entries: entries, childrenOf: childrenOf, profile: profile, parentTypes: placement.types)
            let childSegment = entries[childIndex].id.split(separator: ".").last.map(String.init) ?? ""
            if let colon = childSegment.firstIndex(of: ":") {
                slicesOf[String(childSegment[..<colon]), default: []].append(child)
            } else {
                children.append(child)
            }
        }
        // Slices join the slicing of the element they slice.
        children = try children.map { child throws(ProfileDefinitionError) in
            guard let slices = slicesOf[child.sliceKey] else { return child }
            guard let slicing = child.slicing else {
                throw ProfileDefinitionError("StructureDefinition \(profile): \(child.id) has slices but no slicing")
            }
            return child.with(slicing: ProfileElement.Slicing(discriminators: slicing.discriminators, closed: slicing.closed, slices: slices))
        }
        let min = Int(node.value(of: "min") ?? "") ?? 0
        let max = Self.maximum(node.value(of: "max"))
        let base = node.child(named: "base")
        let types = node.children(named: "type")
        var invariants: [Invariant] = []
        for constraint in node.children(named: "constraint") {
            // The invariants of the R4 base types stay with base validation (FHIRValidator); the
            // profile's own, and those of the R4 core profiles it derives from (vitalsigns' vs-1),
            // are evaluated here.
            if let source = constraint.value(of: "source"), Self.isBaseTypeDefinition(source) { continue }
            guard let key = constraint.value(of: "key"), let expression = constraint.value(of: "expression") else {
                throw ProfileDefinitionError("StructureDefinition \(profile): a constraint on \(entry.id) without key or expression")
            }
            let check: InvariantCheck
            do {
                check = try compile(expression)
            } catch {
                throw ProfileDefinitionError("StructureDefinition \(profile): invariant \(key) on \(entry.id) does not compile: \(error)")
            }
            invariants.append(
                Invariant(
                    key: key, severity: constraint.value(of: "severity") == "warning" ? .warning : .error,
                    human: constraint.value(of: "human") ?? key, expression: expression, check: check))
        }
        var binding: ProfileElement.Binding?
        if let node = node.child(named: "binding"), let strength = node.value(of: "strength").flatMap(ProfileElement.Binding.Strength.init),
            let valueSet = node.value(of: "valueSet")
        {
            let url = valueSet.split(separator: "|").first.map(String.init) ?? valueSet
            if heldValueSets.contains(url) { binding = ProfileElement.Binding(strength: strength, valueSet: url) }
        }
        var slicing: ProfileElement.Slicing?
        if let node = node.child(named: "slicing") {
            var discriminators: [ProfileElement.Slicing.Discriminator] = []
            for discriminator in node.children(named: "discriminator") {
                guard let kind = discriminator.value(of: "type").flatMap(ProfileElement.Slicing.Discriminator.Kind.init),
                    let path = discriminator.value(of: "path")
                else {
                    throw ProfileDefinitionError("StructureDefinition \(profile): the slicing of \(entry.id) has an unknown discriminator")
                }
                discriminators.append(.init(kind: kind, path: path))
            }
            slicing = ProfileElement.Slicing(discriminators: discriminators, closed: node.value(of: "rules") == "closed", slices: [])
        }
        let targetTypes = types.flatMap { $0.children(named: "targetProfile").compactMap(\.value) }.map { url in
            profileTypes[url] ?? url.split(separator: "/").last.map(String.init) ?? url
        }
        return ProfileElement(
            id: entry.id, segment: segment, elementIndexes: placement.indexes,
            sliceName: node.value(of: "sliceName"), min: min, max: max,
            baseMin: base.flatMap { Int($0.value(of: "min") ?? "") } ?? min, baseMax: base.map { Self.maximum($0.value(of: "max")) } ?? max,
            typeCodes: typeCodes, targetTypes: targetTypes,
            fixed: node.children.first { $0.name.hasPrefix("fixed") }, pattern: node.children.first { $0.name.hasPrefix("pattern") },
            binding: binding, invariants: invariants, slicing: slicing, children: children)
    }

    /// Where an element sits in each R4 type its parent may have (its index among the type's
    /// elements, which the instance's nodes carry as `elementIndex`), and the types it may have
    /// itself: a choice's types as the profile narrows them, a backbone element's own type.
    static func placement(segment: String, typeCodes: [String], parentTypes: [FHIRType], rootType: String)
        -> (indexes: [ObjectIdentifier: Int], types: [FHIRType])
    {
        guard !parentTypes.isEmpty else { return ([:], R4Definitions.r4.type(rootType).map { [$0] } ?? []) }
        let name = segment.hasSuffix("[x]") ? String(segment.dropLast(3)) : segment
        var indexes: [ObjectIdentifier: Int] = [:]
        var types: [FHIRType] = []
        for parent in parentTypes {
            guard let index = parent.elements.firstIndex(where: { $0.name == name }) else { continue }
            indexes[ObjectIdentifier(parent)] = index
            let definition = parent.elements[index]
            let names = definition.isChoice && !typeCodes.isEmpty ? definition.typeNames.filter(typeCodes.contains) : definition.typeNames
            for type in names.compactMap({ R4Definitions.r4.type($0) }) where !types.contains(where: { $0 === type }) { types.append(type) }
        }
        return (indexes, types)
    }

    /// Whether a constraint's source is the definition of an R4 type (`…/Observation`,
    /// `…/Element`), not of a profile.
    static func isBaseTypeDefinition(_ source: String) -> Bool {
        let prefix = "http://hl7.org/fhir/StructureDefinition/"
        guard source.hasPrefix(prefix) else { return false }
        return R4Definitions.r4.type(String(source.dropFirst(prefix.count))) != nil
    }

    static func maximum(_ text: String?) -> Int {
        guard let text else { return Int.max }
        return text == "*" ? Int.max : Int(text) ?? Int.max
    }
}

extension ProfileElement {
    /// The name its slices are written under in their ids: `component` for `component`.
    var sliceKey: String { String(id.split(separator: ".").last ?? "") }

    func with(slicing: Slicing) -> ProfileElement {
        ProfileElement(
            id: id, segment: segment, elementIndexes: elementIndexes, sliceName: sliceName, min: min, max: max, baseMin: baseMin, baseMax: baseMax, typeCodes: typeCodes,
            targetTypes: targetTypes, fixed: fixed, pattern: pattern, binding: binding, invariants: invariants, slicing: slicing,
            children: children)
    }
}
