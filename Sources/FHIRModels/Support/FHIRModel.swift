import FHIRCore

/// A typed FHIR datatype or backbone element, convertible to and from the element tree.
public protocol FHIRElementModel: Sendable, Hashable {
    /// The R4 type name (`Quantity`, `Observation.Component`).
    static var fhirTypeName: String { get }
    init(node: FHIRNode) throws(FHIRModelError)
    /// Fills `node` (already named and typed) with this value's elements.
    func fill(_ node: inout FHIRNode)
}

/// A typed FHIR resource.
public protocol FHIRResourceModel: FHIRElementModel {}

extension FHIRElementModel {
    public func node(named name: String, in parent: FHIRType) -> FHIRNode? {
        guard var node = FHIRNode(element: name, of: parent) else { return nil }
        fill(&node)
        return node
    }
}

extension FHIRResourceModel {
    /// This resource as an element tree, ready for the JSON and XML writers and the validator.
    public var node: FHIRNode {
        guard var node = FHIRNode(resourceType: Self.fhirTypeName) else {
            preconditionFailure("\(Self.fhirTypeName) is not an R4 resource type")
        }
        fill(&node)
        return node
    }

    /// Reads a resource tree of this type.
    public init(resource node: FHIRNode) throws(FHIRModelError) {
        guard node.type.name == Self.fhirTypeName else { throw .wrongResource(node.type.name, expected: Self.fhirTypeName) }
        try self.init(node: node)
    }
}

extension FHIRNode {
    /// Appends an element's plain attribute value (`Element.id`, `Extension.url`).
    mutating func appendModel(_ name: String, _ value: String?) {
        guard let value, let child = FHIRNode(element: name, of: type, value: value) else { return }
        children.append(child)
    }

    mutating func appendModel<V>(_ name: String, _ value: FHIRPrimitive<V>?) {
        guard let value, let child = value.node(named: name, in: type) else { return }
        children.append(child)
    }

    mutating func appendModels<V>(_ name: String, _ values: [FHIRPrimitive<V>]) {
        for value in values { appendModel(name, value) }
    }

    mutating func appendModel<M: FHIRElementModel>(_ name: String, _ value: M?) {
        guard let value, let child = value.node(named: name, in: type) else { return }
        children.append(child)
    }

    mutating func appendModels<M: FHIRElementModel>(_ name: String, _ values: [M]) {
        for value in values { appendModel(name, value) }
    }

    mutating func appendModel(_ name: String, _ value: AnyResource?) {
        guard let value, let match = type.element(named: name) else { return }
        var child = value.node
        child.name = name
        child.elementIndex = match.index
        children.append(child)
    }

    mutating func appendModels(_ name: String, _ values: [AnyResource]) {
        for value in values { appendModel(name, value) }
    }
}
