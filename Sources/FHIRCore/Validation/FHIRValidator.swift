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
            var context = context
            let type = node.type
            if type.isPrimitive {
                checkPrimitive(node, path: path)
            } else if !node.isResource, node.value == nil, !node.children.contains(where: { $0.name != "id" }) {
                report(.invariant, "ele-1: All FHIR elements must have a @value or children; '\(node.name)' has neither", at: path.rendered, node: node)
            }
            if node.isResource {
                issues.append(contentsOf: ResourceInvariants.check(node, path: path.rendered, definitions: definitions))
                if type.name == "Bundle" { context.inTransaction = node.value(of: "type") == "transaction" }
            }
            if type.name == "Reference", let reference = node.child(named: "reference"), let value = reference.value {
                if let problem = ReferenceSyntax.problem(value, allowConditional: context.inTransaction, definitions: definitions) {
                    report(.invalid, problem, at: path.appending("reference"), node: reference)
                }
            }
            checkCardinality(node, path: path)
            var counts: [Int: Int] = [:]
            for child in node.children {
                let definition = type.elements.indices.contains(child.elementIndex) ? type.elements[child.elementIndex] : nil
                let repeating = definition?.isRepeating ?? false
                let index = counts[child.elementIndex, default: 0]
                counts[child.elementIndex] = index + 1
                path.push(child.name, index: repeating ? index : nil)
                visit(child, path: &path, context: context)
                path.pop()
            }
        }

        mutating func checkPrimitive(_ node: FHIRNode, path: FHIRPathBuilder) {
            guard let value = node.value else {
                if !node.children.contains(where: { $0.name == "extension" }) {
                    report(.invariant, "ele-1: '\(node.name)' has no value and no extensions", at: path.rendered, node: node)
                }
                return
            }
            if let problem = PrimitiveFormat.problem(value, type: node.type.name) {
                report(.value, problem, at: path.rendered, node: node)
            }
        }

        mutating func checkCardinality(_ node: FHIRNode, path: FHIRPathBuilder) {
            let elements = node.type.elements
            guard !elements.isEmpty else { return }
            var counts = [Int](repeating: 0, count: elements.count)
            var choiceNames: [Int: Set<String>] = [:]
            for child in node.children where child.elementIndex >= 0 && child.elementIndex < elements.count {
                counts[child.elementIndex] += 1
                if elements[child.elementIndex].isChoice { choiceNames[child.elementIndex, default: []].insert(child.name) }
                if let binding = elements[child.elementIndex].binding, let value = child.value,
                    let codes = definitions.bindings[binding], !codes.contains(value)
                {
                    report(
                        .codeInvalid,
                        "The value '\(value)' is not a code of \(binding) (required binding): use one of \(codes.sorted().joined(separator: ", "))",
                        at: path.appending(child.name),
                        node: child
                    )
                }
            }
            for (index, element) in elements.enumerated() {
                let count = counts[index]
                if count < element.min {
                    report(
                        .required,
                        "\(node.type.name).\(element.displayName): minimum required = \(element.min), but only found \(count)",
                        at: path.appending(element.isChoice ? element.name + "[x]" : element.name),
                        node: node
                    )
                }
                if element.isChoice, let names = choiceNames[index], names.count > 1 {
                    report(
                        .structure,
                        "Only one of \(names.sorted().joined(separator: ", ")) is allowed: \(element.displayName) is a choice of one type",
                        at: path.appending(names.sorted()[1]),
                        node: node
                    )
                } else if count > element.max {
                    report(
                        .structure,
                        "\(node.type.name).\(element.displayName): maximum allowed = \(element.max), but found \(count)",
                        at: path.appending(element.name),
                        node: node
                    )
                }
            }
        }
    }
}
