import FHIRCore

/// Fixed and pattern values (ElementDefinition.fixed[x], pattern[x]) against an instance.
enum ValueMatching {
    /// `fixed[x]`: the same value and the same children, exactly.
    static func identical(_ node: FHIRNode, _ fixed: FHIRNode) -> Bool {
        guard node.value == fixed.value, node.children.count == fixed.children.count else { return false }
        for (a, b) in zip(node.children, fixed.children) where a.name != b.name || !identical(a, b) { return false }
        return true
    }

    /// `pattern[x]`: every value the pattern has, the instance has too (each repetition of the
    /// pattern matched by one of the instance's); the instance may have more.
    static func conforms(_ node: FHIRNode, to pattern: FHIRNode) -> Bool {
        if let value = pattern.value, node.value != value { return false }
        for wanted in pattern.children {
            guard node.children.contains(where: { $0.name == wanted.name && conforms($0, to: wanted) }) else { return false }
        }
        return true
    }

    /// A pattern or fixed value in a message: `{system: http://loinc.org, code: 113041}`.
    static func render(_ node: FHIRNode) -> String {
        if let value = node.value, node.children.isEmpty { return value }
        let parts = node.children.map { "\($0.name): \(render($0))" }
        return "{" + parts.joined(separator: ", ") + "}"
    }
}

/// The codes a coded element carries, for binding checks.
enum Codings {
    struct Code {
        /// nil for a bare `code` element (its system is the binding's).
        let system: String?
        let code: String
    }

    static func of(_ node: FHIRNode) -> [Code] {
        switch node.type.name {
        case "CodeableConcept":
            return node.children(named: "coding").flatMap(of)
        case "Coding", "Quantity", "Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity":
            guard let code = node.value(of: "code") else { return [] }
            return [Code(system: node.value(of: "system"), code: code)]
        default:
            guard node.type.isPrimitive, let value = node.value else { return [] }
            return [Code(system: nil, code: value)]
        }
    }
}

/// The resource type a Reference points at, when it can be told.
enum References {
    /// References between a Bundle's entries are rewritten to `Type/id` before validation, so a
    /// `urn:` reference here points outside the request and its type is not known.
    static func targetType(_ reference: FHIRNode, in resource: FHIRNode) -> String? {
        guard let text = reference.value(of: "reference") else { return reference.value(of: "type") }
        if text.hasPrefix("#") {
            let id = text.dropFirst()
            return resource.children(named: "contained").first { $0.value(of: "id") == String(id) }?.type.name
        }
        if text.hasPrefix("urn:") { return nil }
        // `Patient/1`, `Patient/1/_history/2`, `https://host/fhir/Patient/1`: the segment before
        // the id, read in place.
        var rest = Substring(text)
        if let slash = rest.lastIndex(of: "/") {
            let before = rest[..<slash]
            if let previous = before.lastIndex(of: "/"), before[before.index(after: previous)...] == "_history" { rest = before[..<previous] }
        }
        guard let idSlash = rest.lastIndex(of: "/") else { return nil }
        let beforeID = rest[..<idSlash]
        let type = String(beforeID.lastIndex(of: "/").map { beforeID[beforeID.index(after: $0)...] } ?? beforeID)
        return R4Definitions.r4.resourceType(type) != nil ? type : nil
    }
}

/// Which slice an element belongs to, by the slicing's discriminators.
enum Slices {
    static func belongs(_ node: FHIRNode, to slice: ProfileElement, by discriminators: [ProfileElement.Slicing.Discriminator], package: ConformancePackage)
        -> Bool
    {
        guard !discriminators.isEmpty else { return false }
        for discriminator in discriminators where !matches(node, slice, discriminator, package: package) { return false }
        return true
    }

    private static func matches(_ node: FHIRNode, _ slice: ProfileElement, _ discriminator: ProfileElement.Slicing.Discriminator, package: ConformancePackage)
        -> Bool
    {
        let steps = discriminator.steps
        let targets = navigate(node, steps[...])
        switch discriminator.kind {
        case .exists:
            guard let element = slice.descendant(steps[...]) else { return false }
            return element.min > 0 ? !targets.isEmpty : (element.max == 0 ? targets.isEmpty : true)
        case .type, .profile:
            guard let element = slice.descendant(steps[...]), !element.typeCodes.isEmpty else { return false }
            return targets.contains { element.typeCodes.contains($0.type.name) }
        case .value, .pattern:
            // The deepest element along the path with a fixed or pattern value says what the
            // discriminator must equal; a required binding there says which codes.
            var depth = steps.count
            while depth >= 0 {
                if let element = slice.descendant(steps[..<depth]) {
                    if let wanted = element.fixed ?? element.pattern {
                        let expected = navigate(wanted, steps[depth...])
                        return targets.contains { target in expected.contains { ValueMatching.conforms(target, to: $0) } }
                    }
                    if depth == steps.count, let binding = element.binding, binding.strength == .required,
                        let valueSet = package.valueSets[binding.valueSet]
                    {
                        return targets.contains { target in
                            Codings.of(target).contains { valueSet.membership(system: $0.system, code: $0.code) == .member }
                        }
                    }
                }
                depth -= 1
            }
            // The value may be fixed inside a slice of an element along the path, as the R4
            // blood-pressure profile discriminates its components by `code.coding.code`, fixed at
            // `component:SystolicBP.code.coding:SBPCode.code`.
            let expected = valuesInSlices(slice, steps[...])
            return targets.contains { target in expected.contains { ValueMatching.conforms(target, to: $0) } }
        }
    }

    /// The fixed or pattern values at a dotted path below `element`, following at each step the
    /// element and each of its slices: the first fixed or pattern value met on a way is what the
    /// rest of the path is looked up in.
    static func valuesInSlices(_ element: ProfileElement, _ steps: ArraySlice<String>) -> [FHIRNode] {
        if let wanted = element.fixed ?? element.pattern { return navigate(wanted, steps) }
        guard let step = steps.first else { return [] }
        var found: [FHIRNode] = []
        for child in element.children where child.sliceName == nil && (child.segment == step || child.choiceBase == step) {
            found += valuesInSlices(child, steps.dropFirst())
            for slice in child.slicing?.slices ?? [] { found += valuesInSlices(slice, steps.dropFirst()) }
        }
        return found
    }

    /// The nodes at a dotted path below `node` (`coding.system`), a choice element matched by its
    /// name without the type (`value`).
    static func navigate(_ node: FHIRNode, _ steps: ArraySlice<String>) -> [FHIRNode] {
        guard let step = steps.first else { return [node] }
        let definitions = node.type.elements
        var found: [FHIRNode] = []
        for child in node.children {
            let name = child.elementIndex >= 0 && child.elementIndex < definitions.count ? definitions[child.elementIndex].name : child.name
            if child.name == step || name == step { found += navigate(child, steps.dropFirst()) }
        }
        return found
    }
}
