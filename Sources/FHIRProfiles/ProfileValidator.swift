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

    /// What the validator knows of the instance's surroundings.
    public struct Context: Sendable {
        /// The resource type of each entry of the Bundle the instance came in, by `fullUrl`, so a
        /// `urn:uuid:` reference's target type is known.
        public var bundleTypes: [String: String]

        public init(bundleTypes: [String: String] = [:]) {
            self.bundleTypes = bundleTypes
        }
    }

    /// - Parameters:
    ///   - path: the instance's FHIRPath in the document (`Bundle.entry[2].resource`); its
    ///     resource type when nil.
    public func validate(_ resource: FHIRNode, against profile: ConformancePackage.Profile, at path: String? = nil, context: Context = Context())
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
        var walk = Walk(package: package, profile: profile, resource: resource, context: context)
        walk.visit(resource, element: profile.root, path: path ?? resource.type.name)
        return walk.issues
    }

    struct Walk {
        let package: ConformancePackage
        let profile: ConformancePackage.Profile
        let resource: FHIRNode
        let context: Context
        var issues: [FHIRIssue] = []

        mutating func report(_ severity: FHIRIssue.Severity, _ code: FHIRIssue.Code, _ path: String, _ text: String) {
            issues.append(FHIRIssue(severity: severity, code: code, diagnostics: "\(text) (profile \(profile.name))", expression: path))
        }

        mutating func visit(_ node: FHIRNode, element: ProfileElement, path: String) {
            if let fixed = element.fixed, !ValueMatching.identical(node, fixed) {
                report(.error, .value, path, "The value must be exactly \(ValueMatching.render(fixed))")
            }
            if let pattern = element.pattern, !ValueMatching.conforms(node, to: pattern) {
                report(.error, .value, path, "The value must match the pattern \(ValueMatching.render(pattern))")
            }
            if let binding = element.binding { check(binding, node, path: path) }
            if !element.typeCodes.isEmpty, element.choiceBase != nil, !node.isResource, !element.typeCodes.contains(node.type.name) {
                report(.error, .structure, path, "The type \(node.type.name) is not allowed here (allowed: \(element.typeCodes.joined(separator: ", ")))")
            }
            if !element.targetTypes.isEmpty, node.type.name == "Reference" { checkTarget(node, element: element, path: path) }
            for invariant in element.invariants { check(invariant, node, path: path) }
            guard !element.children.isEmpty else { return }
            visitChildren(of: node, elements: element.children, path: path)
        }

        mutating func visitChildren(of node: FHIRNode, elements: [ProfileElement], path: String) {
            let definitions = node.type.elements
            for element in elements {
                var matched: [(node: FHIRNode, path: String)] = []
                var index = 0
                for child in node.children {
                    let definition = child.elementIndex >= 0 && child.elementIndex < definitions.count ? definitions[child.elementIndex] : nil
                    guard element.matches(childName: child.name, definitionName: definition?.name ?? child.name) else { continue }
                    let repeating = definition?.isRepeating ?? false
                    matched.append((child, path + "." + child.name + (repeating ? "[\(index)]" : "")))
                    index += 1
                }
                let elementPath = path + "." + (element.choiceBase ?? element.segment)
                if matched.count < element.min, element.min > element.baseMin {
                    report(.error, .required, elementPath, "At least \(element.min) \(element.segment) required, \(matched.count) found")
                }
                if matched.count > element.max, element.max < element.baseMax {
                    report(.error, .structure, matched[element.max].path, "At most \(element.max) \(element.segment) allowed, \(matched.count) found")
                }
                if let slicing = element.slicing, !slicing.slices.isEmpty {
                    visitSliced(matched, element: element, slicing: slicing, path: elementPath)
                } else {
                    for item in matched where !item.node.isResource { visit(item.node, element: element, path: item.path) }
                }
            }
        }

        mutating func visitSliced(_ matched: [(node: FHIRNode, path: String)], element: ProfileElement, slicing: ProfileElement.Slicing, path: String) {
            var counts = [Int](repeating: 0, count: slicing.slices.count)
            for item in matched where !item.node.isResource {
                guard let index = slicing.slices.firstIndex(where: { Slices.belongs(item.node, to: $0, by: slicing.discriminators, package: package) }) else {
                    visit(item.node, element: element, path: item.path)
                    if slicing.closed {
                        report(.error, .structure, item.path, "This \(element.segment) fits none of the slices (\(slicing.slices.compactMap(\.sliceName).joined(separator: ", "))), and the slicing is closed")
                    }
                    continue
                }
                counts[index] += 1
                // A slice's snapshot repeats the sliced element's constraints; one without
                // elements of its own takes the sliced element's.
                let slice = slicing.slices[index]
                visit(item.node, element: slice, path: item.path)
                if slice.children.isEmpty { visitChildren(of: item.node, elements: element.children, path: item.path) }
            }
            for (index, slice) in slicing.slices.enumerated() {
                let name = slice.sliceName ?? "?"
                if counts[index] < slice.min {
                    report(.error, .required, path, "Slice '\(name)' requires at least \(slice.min) \(element.segment), \(counts[index]) found")
                }
                if counts[index] > slice.max {
                    report(.error, .structure, path, "Slice '\(name)' allows at most \(slice.max) \(element.segment), \(counts[index]) found")
                }
            }
        }

        mutating func check(_ invariant: Invariant, _ node: FHIRNode, path: String) {
            do {
                if try invariant.check(node, resource) == false {
                    report(invariant.severity, .invariant, path, "Constraint failed: \(invariant.key): '\(invariant.human)'")
                }
            } catch {
                report(.error, .invariant, path, "Constraint \(invariant.key) could not be evaluated: \(error)")
            }
        }

        mutating func check(_ binding: ProfileElement.Binding, _ node: FHIRNode, path: String) {
            guard binding.strength == .required || binding.strength == .extensible else { return }
            guard let valueSet = package.valueSets[binding.valueSet] else {
                report(.information, .notSupported, path, "ValueSet \(binding.valueSet) is not held by the gateway: the code is not checked")
                return
            }
            let codes = Codings.of(node)
            if codes.isEmpty {
                if node.type.name == "CodeableConcept", binding.strength == .required {
                    report(.error, .codeInvalid, path, "A code from \(binding.valueSet) is required, and there is none (text only)")
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
                report(.information, .notSupported, path, "Codes of \(unchecked.joined(separator: ", ")) are not checked: the gateway does not hold that code system")
                return
            }
            let listed = codes.map { ($0.system.map { $0 + "#" } ?? "") + $0.code }.joined(separator: ", ")
            if binding.strength == .required {
                report(.error, .codeInvalid, path, "None of the codes (\(listed)) is in the ValueSet \(binding.valueSet), which is required")
            } else {
                report(.warning, .codeInvalid, path, "None of the codes (\(listed)) is in the ValueSet \(binding.valueSet) (extensible binding)")
            }
        }

        mutating func checkTarget(_ node: FHIRNode, element: ProfileElement, path: String) {
            guard let type = References.targetType(node, in: resource, context: context) else { return }
            if !element.targetTypes.contains(type) && !element.targetTypes.contains("Resource") {
                report(.error, .structure, path + ".reference", "The reference points at a \(type); only \(element.targetTypes.joined(separator: ", ")) allowed")
            }
        }
    }
}

