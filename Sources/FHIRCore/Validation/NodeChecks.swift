/// The checks of one element that need nothing but the element itself: a primitive's format and
/// ele-1, ele-1 of a complex element, cardinality, choice types and the codes of required
/// bindings. `FHIRValidator` runs them on every node of a tree; the JSON reader runs them on each
/// node as it finishes it, so a JSON document is validated without a second walk.
enum NodeChecks {
    /// Whether a primitive node passes `local` without an issue, checked without a path (the
    /// JSON reader builds the path only for the nodes that have something to report).
    static func primitiveIsClean(_ node: FHIRNode) -> Bool {
        guard node.children.isEmpty else { return false }
        guard let value = node.value, let kind = node.type.primitive else { return false }
        return PrimitiveFormat.isValid(value, kind: kind)
    }

    static func local(_ node: FHIRNode, path: FHIRPathBuilder, into issues: inout [FHIRIssue]) {
        if node.type.isPrimitive {
            primitive(node, path: path, into: &issues)
        } else if !node.isResource, node.value == nil, !node.children.contains(where: { $0.name != "id" }) {
            issues.report(
                .invariant, "ele-1: All FHIR elements must have a @value or children; '\(node.name)' has neither", at: path.rendered, node: node)
        }
        cardinality(node, path: path, into: &issues)
    }

    /// What is wrong with a `Reference`'s `reference`, if anything; `allowConditional` when the
    /// node is inside a transaction.
    static func reference(_ node: FHIRNode, path: FHIRPathBuilder, allowConditional: Bool, definitions: R4Definitions) -> FHIRIssue? {
        guard let reference = node.children.first(where: { $0.name == "reference" }), let value = reference.value,
            let problem = ReferenceSyntax.problem(value, allowConditional: allowConditional, definitions: definitions)
        else { return nil }
        return .problem(.invalid, problem, at: path.appending("reference"), node: reference)
    }

    static func primitive(_ node: FHIRNode, path: FHIRPathBuilder, into issues: inout [FHIRIssue]) {
        guard let value = node.value else {
            if !node.children.contains(where: { $0.name == "extension" }) {
                issues.report(.invariant, "ele-1: '\(node.name)' has no value and no extensions", at: path.rendered, node: node)
            }
            return
        }
        if let kind = node.type.primitive, let problem = PrimitiveFormat.problem(value, kind: kind) {
            issues.report(.value, problem, at: path.rendered, node: node)
        }
    }

    /// Children are sorted by element, so each element's occurrences form one run. Counting reads
    /// the children in place and the element rules as plain numbers (`FHIRType.cardinalities`):
    /// retaining each child and definition was most of the time validation took.
    static func cardinality(_ node: FHIRNode, path: FHIRPathBuilder, into issues: inout [FHIRIssue]) {
        let type = node.type
        let rules = type.cardinalities
        guard !rules.isEmpty, !node.children.isEmpty || !type.requiredIndexes.isEmpty else { return }
        var problems: [(start: Int, end: Int)] = []
        var requiredSeen = 0
        node.children.withUnsafeBufferPointer { children in
            var start = 0
            while start < children.count {
                let elementIndex = children[start].elementIndex
                var end = start + 1
                while end < children.count, children[end].elementIndex == elementIndex { end += 1 }
                defer { start = end }
                guard elementIndex >= 0, elementIndex < rules.count else { continue }
                let rule = rules[elementIndex]
                if rule.min > 0 { requiredSeen += 1 }
                if rule.hasBinding || end - start > rule.max || (rule.isChoice && end - start > 1) { problems.append((start, end)) }
            }
        }
        for (start, end) in problems {
            elementProblems(node, children: start..<end, path: path, into: &issues)
        }
        if requiredSeen < type.requiredIndexes.count {
            for required in type.requiredIndexes where !node.children.contains(where: { $0.elementIndex == required }) {
                let element = type.elements[required]
                issues.report(
                    .required,
                    "\(type.name).\(element.displayName): minimum required = \(element.min), but only found 0",
                    at: path.appending(element.isChoice ? element.name + "[x]" : element.name),
                    node: node
                )
            }
        }
    }

    /// The codes, choice and maximum of one element whose occurrences are `children` (a run).
    private static func elementProblems(_ node: FHIRNode, children range: Range<Int>, path: FHIRPathBuilder, into issues: inout [FHIRIssue]) {
        let type = node.type
        let children = node.children[range]
        let element = type.elements[children[range.lowerBound].elementIndex]
        if let binding = element.binding, let codes = element.bindingCodes {
            for child in children {
                guard let value = child.value, !codes.contains(value) else { continue }
                issues.report(
                    .codeInvalid,
                    "The value '\(value)' is not a code of \(binding) (required binding): use one of \(codes.sorted().joined(separator: ", "))",
                    at: path.appending(child.name),
                    node: child
                )
            }
        }
        let count = children.count
        if element.isChoice, count > 1, children.contains(where: { $0.name != children[range.lowerBound].name }) {
            let names = Set(children.map(\.name)).sorted()
            issues.report(
                .structure,
                "Only one of \(names.joined(separator: ", ")) is allowed: \(element.displayName) is a choice of one type",
                at: path.appending(names[1]),
                node: node
            )
        } else if count > element.max {
            issues.report(
                .structure,
                "\(type.name).\(element.displayName): maximum allowed = \(element.max), but found \(count)",
                at: path.appending(element.name),
                node: node
            )
        }
    }
}

extension FHIRIssue {
    /// An error at `path`, located at the node's place in the source.
    static func problem(_ code: Code, _ message: String, at path: String, node: FHIRNode) -> FHIRIssue {
        FHIRIssue(
            severity: .error,
            code: code,
            diagnostics: message,
            expression: path,
            line: node.line > 0 ? node.line : nil,
            column: node.line > 0 ? node.column : nil
        )
    }
}

extension [FHIRIssue] {
    mutating func report(_ code: FHIRIssue.Code, _ message: String, at path: String, node: FHIRNode) {
        append(.problem(code, message, at: path, node: node))
    }
}
