/// One FHIR R4 type (primitive, datatype, backbone element or resource) with its elements, as the
/// R4 schemas define it. Instances are built once from the generated table and never change.
public final class FHIRType: Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A primitive such as `decimal` or `code`; `jsonKind` says how JSON writes its value.
        case primitive(JSONKind)
        /// A datatype or a backbone element (`Quantity`, `Observation.Component`).
        case complex
        /// A concrete resource (`Observation`).
        case resource
        /// `Resource` and `DomainResource`: only the base of others; an element typed `Resource`
        /// holds any concrete resource.
        case abstractResource
    }

    /// How a primitive's value is written in JSON.
    public enum JSONKind: Sendable, Hashable {
        case string, number, boolean
    }

    public let name: String
    public let kind: Kind
    /// For a primitive, which one (set once, so checks switch on it instead of on the name).
    public let primitive: PrimitiveKind?
    public let baseName: String?
    /// Indexes of the elements with a minimum cardinality of 1 or more.
    let requiredIndexes: [Int]
    /// Every element, inherited ones first, in the order of the specification.
    public let elements: [FHIRElementDefinition]
    /// The cardinality of each element as plain numbers, read by validation without retaining
    /// the definitions.
    let cardinalities: [Cardinality]
    /// The name of each element as it appears in JSON and XML (a choice element has one name per
    /// type, `valueQuantity`), mapped to the element and the type that name stands for.
    let elementsByName: ElementNameTable

    /// - Parameter typeIDs: the index of every type in `R4Definitions.typesByID`, so that an
    ///   element's type is found by index rather than by a second lookup by name.
    init(name: String, kind: Kind, baseName: String?, elements: [FHIRElementDefinition], typeIDs: [String: Int]) {
        self.name = name
        self.kind = kind
        self.primitive = PrimitiveKind(rawValue: name)
        self.baseName = baseName
        self.elements = elements
        self.requiredIndexes = elements.indices.filter { elements[$0].min > 0 }
        self.cardinalities = elements.map {
            Cardinality(min: $0.min, max: $0.max, isChoice: $0.isChoice, hasBinding: $0.bindingCodes != nil)
        }
        var byName: [(name: String, match: ElementMatch)] = []
        for (index, element) in elements.enumerated() {
            if element.isChoice {
                for typeName in element.typeNames {
                    byName.append(
                        (element.name + typeName.capitalizedFirst, ElementMatch(index: index, typeName: typeName, typeID: typeIDs[typeName] ?? -1)))
                }
            } else {
                byName.append((element.name, ElementMatch(index: index, typeName: element.typeNames[0], typeID: typeIDs[element.typeNames[0]] ?? -1)))
            }
        }
        self.elementsByName = ElementNameTable(byName)
    }

    public var isPrimitive: Bool {
        if case .primitive = kind { return true }
        return false
    }

    public var isResource: Bool { kind == .resource }

    public var description: String { name }

    /// The element and type a JSON property or XML element name stands for, or nil if the type has
    /// no such element.
    public func element(named name: String) -> ElementMatch? { elementsByName.match(name) }
}

/// What validation counts for one element.
struct Cardinality: Sendable {
    let min: Int
    let max: Int
    let isChoice: Bool
    let hasBinding: Bool
}

/// An element name resolved against its parent type.
public struct ElementMatch: Sendable, Hashable {
    /// Index in the parent type's `elements`.
    public let index: Int
    /// The type of this occurrence (for a choice element, the type its name selects).
    public let typeName: String
    /// Its index in `R4Definitions.typesByID`.
    let typeID: Int
}

/// One element of a type: name, types, cardinality and required binding. A class, so that the
/// validator's walk over elements shares them instead of copying their strings.
public final class FHIRElementDefinition: Sendable {
    /// The name without `[x]`: `status`, `value`.
    public let name: String
    /// One type, or several for a choice element.
    public let typeNames: [String]
    public let min: Int
    /// `Int.max` for `*`.
    public let max: Int
    public let isChoice: Bool
    /// The code list of a required binding (`ObservationStatus`), if any.
    public let binding: String?
    /// The codes of that binding, resolved once so validation does not look them up by name.
    let bindingCodes: Set<String>?
    /// XML writes this element as an attribute: `Element.id` and `Extension.url`.
    public let isXMLAttribute: Bool

    public let isRepeating: Bool

    init(
        name: String, typeNames: [String], min: Int, max: Int, isChoice: Bool, binding: String?, bindingCodes: Set<String>? = nil,
        isXMLAttribute: Bool
    ) {
        self.name = name
        self.typeNames = typeNames
        self.min = min
        self.max = max
        self.isChoice = isChoice
        self.binding = binding
        self.bindingCodes = bindingCodes
        self.isXMLAttribute = isXMLAttribute
        self.isRepeating = max > 1
    }
    /// The definition's own notation, `value[x]` for a choice.
    public var displayName: String { isChoice ? name + "[x]" : name }
}

extension String {
    var capitalizedFirst: String {
        guard let first = first else { return self }
        return first.uppercased() + dropFirst()
    }
}
