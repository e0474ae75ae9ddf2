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
            NodeChecks.local(node, path: path, into: &issues)
            if node.isResource {
                issues.append(contentsOf: ResourceInvariants.check(node, path: path.rendered, definitions: definitions))
                if type.name == "Bundle" { context.inTransaction = node.value(of: "type") == "transaction" }
            }
            if type === definitions.referenceType,
                let problem = NodeChecks.reference(node, path: path, allowConditional: context.inTransaction, definitions: definitions)
            {
                issues.append(problem)
            }
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
    }
}
