/// Base validation of a decoded instance against the R4 definitions: cardinality, choice types,
/// primitive formats, the codes of required bindings, ele-1, the syntax of references, and the
/// invariants of the resources the gateway receives and sends (see `ResourceInvariants`).
/// Pure: the tree in, issues out.
public struct FHIRValidator: Sendable {
    public let definitions: R4Definitions

    public init(definitions: R4Definitions = .r4) {
        self.definitions = definitions
    }

    public func validate(_ resource: FHIRNode) -> [FHIRIssue] {
        var walk = Walk(definitions: definitions)
        var path = FHIRPathBuilder(root: resource.type.name)
        walk.visit(resource, path: &path, context: Walk.Context())
        return walk.issues
    }

    struct Walk {
        struct Context {
            /// Conditional references (`Patient?identifier=…`) are allowed inside a transaction.
            var inTransaction = false
        }

        let definitions: R4Definitions
        var issues: [FHIRIssue] = []

        mutating func report(_ code: FHIRIssue.Code, _ message: String, at path: String, node: FHIRNode?, severity: FHIRIssue.Severity = .error) {
            issues.append(
                FHIRIssue(
                    severity: severity,
                    code: code,
                    diagnostics: message,
                    expression: path,
                    line: node.flatMap { $0.line > 0 ? $0.line : nil },
                    column: node.flatMap { $0.line > 0 ? $0.column : nil }
                )
            )
        }

        mutating func visit(_ node: FHIRNode, path: inout FHIRPathBuilder, context: Context) {
            // The checks below read repetitions as runs of adjacent children: a node built by
            // hand (FHIRNode.children is public) is put into the specification's order first.
            // The decoders already sort, so this is one pass that finds nothing to do, and the
            // node is read in place, never copied.
            guard node.childrenAreSorted else {
                var sorted = node
                sorted.sortChildren()
                visit(sorted, path: &path, context: context)
                return
            }
            var context = context
            let type = node.type
            if type.isPrimitive {
                checkPrimitive(node, path: path)
            } else if !node.isResource, node.value == nil, !node.children.contains(where: { $0.name != "id" }) {
                report(
                    .invariant, "ele-1: All FHIR elements must have a @value or children; '\(node.name)' has neither", at: path.rendered, node: node)
            }
            if node.isResource {
                issues.append(contentsOf: ResourceInvariants.check(node, path: path.rendered, definitions: definitions))
                if type.name == "Bundle" { context.inTransaction = node.value(of: "type") == "transaction" }
            }
            if type === definitions.referenceType {
                checkReference(node, path: path, context: context)
            }
            checkCardinality(node, path: path)
            let elements = type.elements
            // Children are in the specification's order, so repetitions are adjacent.
            node.children.withUnsafeBufferPointer { children in
                var previous = -1
                var index = 0
                for i in children.indices {
                    let elementIndex = children[i].elementIndex
                    index = elementIndex == previous ? index + 1 : 0
                    previous = elementIndex
                    let repeating = elementIndex >= 0 && elementIndex < elements.count && elements[elementIndex].isRepeating
                    path.push(children[i].name, index: repeating ? index : nil)
                    visit(children[i], path: &path, context: context)
                    path.pop()
                }
            }
        }

        mutating func checkReference(_ node: FHIRNode, path: FHIRPathBuilder, context: Context) {
            guard let reference = node.children.first(where: { $0.name == "reference" }), let value = reference.value else { return }
            if let problem = ReferenceSyntax.problem(value, allowConditional: context.inTransaction, definitions: definitions) {
                report(.invalid, problem, at: path.appending("reference"), node: reference)
            }
        }

        mutating func checkPrimitive(_ node: FHIRNode, path: FHIRPathBuilder) {
            guard let value = node.value else {
                if !node.children.contains(where: { $0.name == "extension" }) {
                    report(.invariant, "ele-1: '\(node.name)' has no value and no extensions", at: path.rendered, node: node)
                }
                return
            }
            if let kind = node.type.primitive, let problem = PrimitiveFormat.problem(value, kind: kind) {
                report(.value, problem, at: path.rendered, node: node)
            }
        }

        mutating func checkCardinality(_ node: FHIRNode, path: FHIRPathBuilder) {
            let type = node.type
            let elements = type.elements
            guard !elements.isEmpty else { return }
            // Children are sorted by element, so each element's occurrences form one run.
            var start = 0
            let children = node.children
            while start < children.count {
                let elementIndex = children[start].elementIndex
                var end = start + 1
                while end < children.count, children[end].elementIndex == elementIndex { end += 1 }
                defer { start = end }
                guard elementIndex >= 0, elementIndex < elements.count else { continue }
                let element = elements[elementIndex]
                if let binding = element.binding, let codes = element.bindingCodes {
                    for child in children[start..<end] {
                        guard let value = child.value, !codes.contains(value) else { continue }
                        report(
                            .codeInvalid,
                            "The value '\(value)' is not a code of \(binding) (required binding): use one of \(codes.sorted().joined(separator: ", "))",
                            at: path.appending(child.name),
                            node: child
                        )
                    }
                }
                let count = end - start
                if element.isChoice, count > 1, children[start..<end].contains(where: { $0.name != children[start].name }) {
                    let names = Set(children[start..<end].map(\.name)).sorted()
                    report(
                        .structure,
                        "Only one of \(names.joined(separator: ", ")) is allowed: \(element.displayName) is a choice of one type",
                        at: path.appending(names[1]),
                        node: node
                    )
                } else if count > element.max {
                    report(
                        .structure,
                        "\(type.name).\(element.displayName): maximum allowed = \(element.max), but found \(count)",
                        at: path.appending(element.name),
                        node: node
                    )
                }
            }
            for required in type.requiredIndexes where !children.contains(where: { $0.elementIndex == required }) {
                let element = elements[required]
                report(
                    .required,
                    "\(type.name).\(element.displayName): minimum required = \(element.min), but only found 0",
                    at: path.appending(element.isChoice ? element.name + "[x]" : element.name),
                    node: node
                )
            }
        }
    }
}
