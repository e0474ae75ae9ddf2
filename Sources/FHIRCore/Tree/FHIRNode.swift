/// One element of a FHIR instance in a format-neutral tree: what both the JSON and the XML reader
/// produce, what validation walks, and what both writers write. Every node is typed against the R4
/// definitions, children are kept in the specification's order, and a primitive's value is kept as
/// its exact text (`0.010` stays `0.010`).
public struct FHIRNode: Sendable, Hashable {
    /// The element's name as JSON and XML write it (`valueQuantity`, `status`); for a resource at
    /// the root, its resource type.
    public var name: String
    /// The element's FHIR type; for a resource, its resource type. Types belong to
    /// `R4Definitions.r4`, which lives as long as the process, so nodes do not reference-count
    /// them (that was a measurable share of reading time).
    public unowned(unsafe) var type: FHIRType
    /// Index of this element's definition in the parent type's `elements`, -1 for a root resource.
    public var elementIndex: Int
    /// A primitive's value as written (`true`, `0.010`, `2015-02`), or a narrative `div`'s XHTML.
    public var value: String?
    /// Child elements in the specification's order; for a primitive, its `id` and `extension`.
    public var children: [FHIRNode]
    /// Where the element starts in the source, 0 when it was not read from a document.
    public var line: Int32
    public var column: Int32

    public init(
        name: String,
        type: FHIRType,
        elementIndex: Int,
        value: String? = nil,
        children: [FHIRNode] = [],
        line: Int32 = 0,
        column: Int32 = 0
    ) {
        self.name = name
        self.type = type
        self.elementIndex = elementIndex
        self.value = value
        self.children = children
        self.line = line
        self.column = column
    }

    public var isResource: Bool { type.isResource }

    /// The children with this name, in order.
    public func children(named name: String) -> [FHIRNode] { children.filter { $0.name == name } }

    /// The first child with this name.
    public func child(named name: String) -> FHIRNode? { children.first { $0.name == name } }

    /// The value of the primitive child with this name (read in place, without copying the child).
    public func value(of name: String) -> String? {
        for i in children.indices where children[i].name == name { return children[i].value }
        return nil
    }

    /// Position-independent equality: same names, types, values and children.
    public static func == (lhs: FHIRNode, rhs: FHIRNode) -> Bool {
        lhs.name == rhs.name && lhs.type === rhs.type && lhs.value == rhs.value && lhs.children == rhs.children
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(value)
        hasher.combine(children)
    }
}

extension FHIRNode {
    /// Whether the children are in the specification's order (checked in place, without copies).
    var childrenAreSorted: Bool { children.isInSpecificationOrder }

    /// Sorts children into the specification's order, keeping the order of repetitions.
    mutating func sortChildren() { children.sortBySpecification() }
}

extension [FHIRNode] {
    /// Whether the nodes are in the specification's order of their parent's elements.
    var isInSpecificationOrder: Bool {
        withUnsafeBufferPointer { nodes in
            var previous = Int.min
            for i in nodes.indices {
                let elementIndex = nodes[i].elementIndex
                if elementIndex < previous { return false }
                previous = elementIndex
            }
            return true
        }
    }

    /// Sorts the nodes into the specification's order, keeping the order of repetitions.
    mutating func sortBySpecification() {
        if !isInSpecificationOrder {
            self = enumerated()
                .sorted { ($0.element.elementIndex, $0.offset) < ($1.element.elementIndex, $1.offset) }
                .map(\.element)
        }
    }
}
