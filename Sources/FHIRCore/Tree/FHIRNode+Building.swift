extension FHIRNode {
    /// A new resource with no elements.
    public init?(resourceType: String, definitions: R4Definitions = .r4) {
        guard let type = definitions.resourceType(resourceType) else { return nil }
        self.init(name: resourceType, type: type, elementIndex: -1)
    }

    /// A new element for `parent`'s element `name` (for a choice, the full name: `valueString`),
    /// or nil when `parent` has no such element.
    public init?(element name: String, of parent: FHIRType, value: String? = nil, children: [FHIRNode] = [], definitions: R4Definitions = .r4) {
        guard let match = parent.element(named: name), let type = definitions.type(of: match) else { return nil }
        self.init(name: name, type: type, elementIndex: match.index, value: value, children: children)
        sortChildren()
    }

    /// Appends a primitive child by name if `value` is not nil; keeps the specification's order.
    public mutating func append(_ name: String, value: String?) {
        guard let value, let child = FHIRNode(element: name, of: type, value: value) else { return }
        append(child)
    }

    /// Appends a child built for this node's type; keeps the specification's order.
    public mutating func append(_ child: FHIRNode) {
        // Inserted after the last child of the same or an earlier element, instead of appended
        // and the whole array sorted again (which copied every child). `sortChildren()` only
        // scans when the children are already in order, as they are unless set out of order.
        sortChildren()
        let position = children.lastIndex { $0.elementIndex <= child.elementIndex }.map { $0 + 1 } ?? 0
        children.insert(child, at: position)
    }
}
