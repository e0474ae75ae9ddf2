import FHIRCore

/// Validates an instance against a profile of the package, driven by the profile's snapshot:
/// cardinality narrower than the base, the types of choice elements, Reference targets, fixed and
/// pattern values, required and extensible bindings, slicing by value, pattern, type and exists
/// discriminators, and the profile's invariants. What the R4 base definitions require is base
/// validation's (`FHIRValidator`): it is not reported twice. Pure: tree in, issues out.
public struct ProfileValidator: Sendable {
    public let package: ConformancePackage

    public init(package: ConformancePackage) {
        self.package = package
    }


    /// - Parameters:
    ///   - path: the instance's FHIRPath in the document (`Bundle.entry[2].resource`); its
    ///     resource type when nil.
    public func validate(_ resource: FHIRNode, against profile: ConformancePackage.Profile, at path: String? = nil)
        -> [FHIRIssue]
    {
        guard resource.type.name == profile.type else {
            return [
                FHIRIssue(
                    severity: .error, code: .structure,
                    diagnostics: "Profile \(profile.name) applies to \(profile.type), not to \(resource.type.name)",
                    expression: path ?? resource.type.name)
            ]
        }
        var walk = Walk(package: package, profile: profile, resource: resource)
        var trail = PathTrail(root: path ?? resource.type.name)
        walk.visit(resource, element: profile.root, trail: &trail)
        return walk.issues
    }

    struct Walk {
        let package: ConformancePackage
        let profile: ConformancePackage.Profile
        let resource: FHIRNode
        var issues: [FHIRIssue] = []

        mutating func report(_ severity: FHIRIssue.Severity, _ code: FHIRIssue.Code, _ path: String, _ text: String) {
            issues.append(FHIRIssue(severity: severity, code: code, diagnostics: "\(text) (profile \(profile.name))", expression: path))
        }

        mutating func visit(_ node: FHIRNode, element: ProfileElement, trail: inout PathTrail) {
            if let fixed = element.fixed, !ValueMatching.identical(node, fixed) {
                report(.error, .value, trail.rendered, "The value must be exactly \(ValueMatching.render(fixed))")
            }
            if let pattern = element.pattern, !ValueMatching.conforms(node, to: pattern) {
                report(.error, .value, trail.rendered, "The value must match the pattern \(ValueMatching.render(pattern))")
            }
            if let binding = element.binding { check(binding, node, trail: trail) }
            if !element.typeCodes.isEmpty, element.choiceBase != nil, !node.isResource, !element.typeCodes.contains(node.type.name) {
                report(
                    .error, .structure, trail.rendered,
                    "The type \(node.type.name) is not allowed here (allowed: \(element.typeCodes.joined(separator: ", ")))")
            }
            if !element.targetTypes.isEmpty, node.type.name == "Reference" { checkTarget(node, element: element, trail: trail) }
            for invariant in element.invariants { check(invariant, node, trail: trail) }
            guard !element.checked.isEmpty else { return }
            visitChildren(of: node, elements: element.checked, trail: &trail)
        }

        /// The elements of `elements` in `node`'s children; only the elements with something to
        /// check are walked (the compiler leaves the others out of `checked`). Children are in the
        /// specification's order, so an element's repetitions are one run of them, found by the
        /// index of its definition.
        mutating func visitChildren(of node: FHIRNode, elements: [ProfileElement], trail: inout PathTrail) {
            let definitions = node.type.elements
            for element in elements {
                guard let target = element.elementIndex(in: node.type) else { continue }
                var start = 0
                var end = 0
                node.children.withUnsafeBufferPointer { children in
                    var i = 0
                    while i < children.count, children[i].elementIndex < target { i += 1 }
                    start = i
                    while i < children.count, children[i].elementIndex == target { i += 1 }
                    end = i
                }
                let run = start..<end
                let repeating = target < definitions.count && definitions[target].isRepeating
                if run.count < element.min, element.min > element.baseMin {
                    report(
                        .error, .required, trail.appending(element.choiceBase ?? element.segment),
                        "At least \(element.min) \(element.segment) required, \(run.count) found")
                }
                if run.count > element.max, element.max < element.baseMax {
                    report(
                        .error, .structure, trail.appending(node.children[start + element.max].name, index: repeating ? element.max : nil),
                        "At most \(element.max) \(element.segment) allowed, \(run.count) found")
                }
                if let slicing = element.slicing, !slicing.slices.isEmpty {
                    visitSliced(node, run, repeating: repeating, element: element, slicing: slicing, trail: &trail)
                } else {
                    for i in run where !node.children[i].isResource {
                        trail.push(node.children[i].name, index: repeating ? i - start : nil)
                        visit(node.children[i], element: element, trail: &trail)
                        trail.pop()
                    }
                }
            }
        }

        mutating func visitSliced(
            _ node: FHIRNode, _ run: Range<Int>, repeating: Bool, element: ProfileElement, slicing: ProfileElement.Slicing, trail: inout PathTrail
        ) {
            var counts = [Int](repeating: 0, count: slicing.slices.count)
            for i in run where !node.children[i].isResource {
                let item = node.children[i]
                trail.push(item.name, index: repeating ? i - run.lowerBound : nil)
                defer { trail.pop() }
                guard let index = slicing.slices.firstIndex(where: { Slices.belongs(item, to: $0, by: slicing.discriminators, package: package) })
                else {
                    visit(item, element: element, trail: &trail)
                    if slicing.closed {
                        report(
                            .error, .structure, trail.rendered,
                            "This \(element.segment) fits none of the slices (\(slicing.slices.compactMap(\.sliceName).joined(separator: ", "))), and the slicing is closed"
                        )
                    }
                    continue
                }
                counts[index] += 1
                // A slice's snapshot repeats the sliced element's constraints; one without
                // elements of its own takes the sliced element's.
                let slice = slicing.slices[index]
                visit(item, element: slice, trail: &trail)
                if slice.children.isEmpty { visitChildren(of: item, elements: element.checked, trail: &trail) }
            }
            for (index, slice) in slicing.slices.enumerated() where counts[index] < slice.min || counts[index] > slice.max {
                let name = slice.sliceName ?? "?"
                let path = trail.appending(element.choiceBase ?? element.segment)
                if counts[index] < slice.min {
                    report(.error, .required, path, "Slice '\(name)' requires at least \(slice.min) \(element.segment), \(counts[index]) found")
                }
                if counts[index] > slice.max {
                    report(.error, .structure, path, "Slice '\(name)' allows at most \(slice.max) \(element.segment), \(counts[index]) found")
                }
            }
        }

        mutating func check(_ invariant: Invariant, _ node: FHIRNode, trail: PathTrail) {
            do {
                if try invariant.check(node, resource) == false {
                    report(invariant.severity, .invariant, trail.rendered, "Constraint failed: \(invariant.key): '\(invariant.human)'")
                }
            } catch {
                report(.error, .invariant, trail.rendered, "Constraint \(invariant.key) could not be evaluated: \(error)")
            }
        }

        mutating func check(_ binding: ProfileElement.Binding, _ node: FHIRNode, trail: PathTrail) {
            guard binding.strength == .required || binding.strength == .extensible else { return }
            // The compiler keeps only bindings to ValueSets the package holds.
            guard let valueSet = package.valueSets[binding.valueSet] else { return }
            let codes = Codings.of(node)
            if codes.isEmpty {
                if node.type.name == "CodeableConcept", binding.strength == .required {
                    report(.error, .codeInvalid, trail.rendered, "A code from \(binding.valueSet) is required, and there is none (text only)")
                }
                return
            }
            var unchecked: [String] = []
            for code in codes {
                switch valueSet.membership(system: code.system, code: code.code) {
                case .member: return
                case .notChecked: unchecked.append(code.system ?? "")
                case .notMember: break
                }
            }
            if !unchecked.isEmpty {
                report(.information, .notSupported, trail.rendered, "Codes of \(unchecked.joined(separator: ", ")) are not checked: the gateway does not hold that code system")
                return
            }
            let listed = codes.map { ($0.system.map { $0 + "#" } ?? "") + $0.code }.joined(separator: ", ")
            if binding.strength == .required {
                report(.error, .codeInvalid, trail.rendered, "None of the codes (\(listed)) is in the ValueSet \(binding.valueSet), which is required")
            } else {
                report(.warning, .codeInvalid, trail.rendered, "None of the codes (\(listed)) is in the ValueSet \(binding.valueSet) (extensible binding)")
            }
        }

        mutating func checkTarget(_ node: FHIRNode, element: ProfileElement, trail: PathTrail) {
            guard let type = References.targetType(node, in: resource) else { return }
            if !element.targetTypes.contains(type) && !element.targetTypes.contains("Resource") {
                report(.error, .structure, trail.appending("reference"), "The reference points at a \(type); only \(element.targetTypes.joined(separator: ", ")) allowed")
            }
        }
    }
}

