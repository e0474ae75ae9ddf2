/// The element definitions of all FHIR R4 (4.0.1) types, read once from the table that
/// `Generator/generate_definitions.py` generates from the R4 schemas.
public struct R4Definitions: Sendable {
    public let types: [String: FHIRType]
    /// Codes of each required binding, by binding name (`ObservationStatus`).
    public let bindings: [String: Set<String>]
    /// The regular expression of each primitive type as the R4 schema states it.
    public let primitivePatterns: [String: String]

    /// The shared instance, parsed on first use.
    public static let r4: R4Definitions = R4Definitions(table: R4Definitions.table)

    /// Every type, indexed by the `typeID` of `ElementMatch`.
    let typesByID: [FHIRType]
    /// `Reference`, which validation checks on every node by identity.
    let referenceType: FHIRType?

    public func type(_ name: String) -> FHIRType? { types[name] }

    /// The type an element name resolved to.
    public func type(of match: ElementMatch) -> FHIRType? {
        match.typeID >= 0 && match.typeID < typesByID.count ? typesByID[match.typeID] : nil
    }

    /// A concrete resource type by name, nil for anything else (datatypes, `Resource`, unknown).
    public func resourceType(_ name: String) -> FHIRType? {
        guard let type = types[name], type.isResource else { return nil }
        return type
    }

    init(table: String) {
        struct Pending {
            var name: String
            var kind: FHIRType.Kind
            var base: String?
            var elements: [FHIRElementDefinition] = []
        }
        var types: [String: FHIRType] = [:]
        var bindings: [String: Set<String>] = [:]
        var patterns: [String: String] = [:]
        var pending: Pending?
        let lines = table.split(separator: "\n", omittingEmptySubsequences: true)
        var typeIDs: [String: Int] = [:]
        var names: [String] = []
        for line in lines where line.hasPrefix("P\t") || line.hasPrefix("T\t") || line.hasPrefix("V\t") {
            let fields = line.split(separator: "\t")
            if line.hasPrefix("V\t") {
                bindings[String(fields[1])] = Set(fields[2].split(separator: ",").map(String.init))
                continue
            }
            let name = String(fields[1])
            typeIDs[name] = names.count
            names.append(name)
        }

        func flush() {
            if let p = pending {
                types[p.name] = FHIRType(name: p.name, kind: p.kind, baseName: p.base, elements: p.elements, typeIDs: typeIDs)
            }
            pending = nil
        }

        for line in lines {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            switch fields[0] {
            case "P":
                let jsonKind: FHIRType.JSONKind =
                    switch fields[2] {
                    case "number": .number
                    case "boolean": .boolean
                    default: .string
                    }
                types[fields[1]] = FHIRType(name: fields[1], kind: .primitive(jsonKind), baseName: nil, elements: [], typeIDs: typeIDs)
                if fields[3] != "-" { patterns[fields[1]] = fields[3] }
            case "T":
                flush()
                let kind: FHIRType.Kind =
                    switch fields[2] {
                    case "resource": .resource
                    case "abstract": .abstractResource
                    default: .complex
                    }
                pending = Pending(name: fields[1], kind: kind, base: fields[3] == "-" ? nil : fields[3])
            case "E":
                pending?.elements.append(
                    FHIRElementDefinition(
                        name: fields[1],
                        typeNames: [fields[2]],
                        min: Int(fields[3]) ?? 0,
                        max: fields[4] == "*" ? Int.max : Int(fields[4]) ?? 1,
                        isChoice: false,
                        binding: fields[5] == "-" ? nil : fields[5],
                        bindingCodes: fields[5] == "-" ? nil : bindings[fields[5]],
                        isXMLAttribute: fields[6] == "a"
                    )
                )
            case "C":
                pending?.elements.append(
                    FHIRElementDefinition(
                        name: fields[1],
                        typeNames: fields[4].split(separator: ",").map(String.init),
                        min: Int(fields[2]) ?? 0,
                        max: fields[3] == "*" ? Int.max : Int(fields[3]) ?? 1,
                        isChoice: true,
                        binding: nil,
                        isXMLAttribute: false
                    )
                )
            case "V":
                flush()
            default:
                continue
            }
        }
        flush()
        // Primitives carry the elements of Element (id, extension), which the table gives once.
        if let element = types["Element"] {
            for (name, type) in types where type.isPrimitive {
                types[name] = FHIRType(name: name, kind: type.kind, baseName: "Element", elements: element.elements, typeIDs: typeIDs)
            }
        }
        self.types = types
        self.typesByID = names.map { name in
            guard let type = types[name] else { preconditionFailure("the generated table names \(name) but defines no such type") }
            return type
        }
        self.referenceType = types["Reference"]
        self.bindings = bindings
        self.primitivePatterns = patterns
    }
}
