import FHIRCore

extension FHIRPathValue {
    /// The System type name of a System value (`Integer`), nil for a node.
    var systemTypeName: String? {
        switch self {
        case .node: nil
        case .boolean: "Boolean"
        case .string: "String"
        case .integer: "Integer"
        case .decimal: "Decimal"
        case .date: "Date"
        case .dateTime: "DateTime"
        case .time: "Time"
        case .quantity: "Quantity"
        }
    }

    /// `FHIR.HumanName`, `System.Integer`: what `type()` gives (its `.namespace` and `.name` are
    /// read by the evaluator).
    var qualifiedTypeName: String {
        switch self {
        case .node(let node): "FHIR." + node.type.name
        default: "System." + (systemTypeName ?? "Any")
        }
    }

    /// The primitive types each FHIR primitive specialises (`code` is a `string`, `url` a `uri`).
    static let primitiveBases: [String: String] = [
        "code": "string", "id": "string", "markdown": "string", "url": "uri", "canonical": "uri", "oid": "uri", "uuid": "uri",
        "positiveInt": "integer", "unsignedInt": "integer",
    ]

    /// Whether the item is of the type: for `is`, a subtype counts (`code` is a `string`, `Age` a
    /// `Quantity`); for `as` and `ofType` (`exact`) a primitive must have exactly that type, while
    /// a complex type may still be a subtype (an `Age` is given by `as(Quantity)`). Nodes are FHIR
    /// types and never System types; an unknown type name is an error.
    func matches(_ type: TypeSpecifier, exact: Bool, evaluator: Evaluator, at expression: Expression) throws(FHIRPathError) -> Bool {
        let fhirType = type.namespace == "System" ? nil : evaluator.definitions.type(type.name)
        let isSystem = type.namespace != "FHIR" && TypeSpecifier.systemTypes.contains(type.name)
        if let namespace = type.namespace, namespace != "FHIR", namespace != "System" {
            throw evaluator.error("Unknown type namespace \(namespace): use FHIR or System", at: expression)
        }
        guard fhirType != nil || isSystem || type.namespace == "System" else {
            throw evaluator.error("Unknown type \(type)", at: expression)
        }
        switch self {
        case .node(let node):
            guard let fhirType else { return false }
            if node.type === fhirType { return true }
            if node.type.isPrimitive {
                guard !exact else { return false }
                var name = node.type.name
                while let base = Self.primitiveBases[name] {
                    if base == fhirType.name { return true }
                    name = base
                }
                return false
            }
            return evaluator.isType(node.type, named: fhirType.name)
        default:
            guard isSystem, type.namespace != nil || fhirType == nil || type.name == "Quantity" else { return false }
            return systemTypeName == type.name
        }
    }
}
