import FHIRCore

/// A FHIR primitive element: its value (which may be absent) plus the `id` and `extension` every
/// FHIR element may carry (JSON's `_name` sibling, XML's `id` attribute and child extensions).
public struct FHIRPrimitive<Value: FHIRPrimitiveValue>: Sendable, Hashable {
    public var value: Value?
    public var id: String?
    public var `extension`: [Extension]

    public init(_ value: Value?, id: String? = nil, extension: [Extension] = []) {
        self.value = value
        self.id = id
        self.extension = `extension`
    }

    public init(node: FHIRNode) throws(FHIRModelError) {
        if let text = node.value {
            guard let value = Value(fhirText: text) else { throw .invalidValue(text, type: node.type.name) }
            self.value = value
        } else {
            self.value = nil
        }
        id = nil
        `extension` = []
        for child in node.children {
            switch child.name {
            case "id": id = child.value
            case "extension": `extension`.append(try Extension(node: child))
            default: throw .unknownElement(child.name, in: node.type.name)
            }
        }
    }

    public func node(named name: String, in parent: FHIRType) -> FHIRNode? {
        guard var node = FHIRNode(element: name, of: parent, value: value?.fhirText) else { return nil }
        node.appendModel("id", id)
        node.appendModels("extension", `extension`)
        return node
    }
}

extension FHIRPrimitive: ExpressibleByUnicodeScalarLiteral where Value == String {
    public init(unicodeScalarLiteral value: String) { self.init(value) }
}

extension FHIRPrimitive: ExpressibleByExtendedGraphemeClusterLiteral where Value == String {
    public init(extendedGraphemeClusterLiteral value: String) { self.init(value) }
}

extension FHIRPrimitive: ExpressibleByStringLiteral where Value == String {
    public init(stringLiteral value: String) { self.init(value) }
}
