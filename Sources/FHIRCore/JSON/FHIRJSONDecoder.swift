import SafeXML
import StrictJSON

/// Turns a parsed JSON document into a typed `FHIRNode` tree, following the rules of FHIR's JSON
/// format: `resourceType`, arrays exactly where an element repeats, `_name` siblings carrying a
/// primitive's `id` and `extension`, `null` only inside such primitive arrays, no empty strings.
/// Every problem becomes an issue with the FHIRPath of the element; decoding goes on past errors
/// so that one answer lists them all.
struct FHIRJSONDecoder {
    let definitions: R4Definitions
    let xhtmlReader: XMLFragmentParser
    private(set) var issues: [FHIRIssue] = []
    private var path = FHIRPathBuilder(root: "")

    init(definitions: R4Definitions, xhtmlReader: XMLFragmentParser) {
        self.definitions = definitions
        self.xhtmlReader = xhtmlReader
    }

    /// Decodes a document whose root must be a resource.
    mutating func decodeDocument(_ value: JSONValue) -> FHIRNode? {
        guard case .object(let members) = value else {
            issues.append(
                FHIRIssue(
                    severity: .fatal,
                    code: .structure,
                    diagnostics: "The document must be a JSON object holding a FHIR resource, with a \"resourceType\" property"
                )
            )
            return nil
        }
        guard let type = resolveResourceType(members, line: 1, column: 1) else { return nil }
        path = FHIRPathBuilder(root: type.name)
        let children = decodeMembers(members, of: type, isResource: true)
        var node = FHIRNode(name: type.name, type: type, elementIndex: -1, children: children, line: 1, column: 1)
        node.sortChildren()
        return node
    }

    // MARK: - Resources

    private mutating func resolveResourceType(_ members: [JSONMember], line: Int32, column: Int32) -> FHIRType? {
        guard let member = members.first(where: { $0.key == "resourceType" }) else {
            fail(.structure, "This object must hold a resource, but it has no \"resourceType\" property", line: line, column: column)
            return nil
        }
        guard case .string(let name) = member.value else {
            fail(.structure, "\"resourceType\" must be a string naming the resource type", member)
            return nil
        }
        guard let type = definitions.resourceType(name) else {
            fail(.notSupported, "'\(name)' is not a FHIR R4 resource type", member)
            return nil
        }
        return type
    }

    // MARK: - Objects

    private mutating func decodeMembers(_ members: [JSONMember], of type: FHIRType, isResource: Bool) -> [FHIRNode] {
        var children: [FHIRNode] = []
        children.reserveCapacity(members.count)
        // `_name` members carry the id and extensions of the primitive `name`.
        var partners: [String: JSONMember] = [:]
        for member in members where member.key.utf8.first == UInt8(ascii: "_") {
            partners[String(member.key.dropFirst())] = member
        }
        let keys: Set<String> = partners.isEmpty ? [] : Set(members.map(\.key))
        for member in members {
            let key = member.key
            if key.utf8.first == UInt8(ascii: "_") {
                // A partner without its primitive: the element has only an id or extensions.
                let base = String(key.dropFirst())
                if keys.contains(base) { continue }
                guard let match = type.element(named: base), let childType = definitions.type(of: match),
                    childType.isPrimitive
                else {
                    fail(.structure, "Unknown element '\(key)' in \(type.name)", member)
                    continue
                }
                decodeProperty(
                    member,
                    name: base,
                    match: match,
                    repeating: type.elements[match.index].isRepeating,
                    childType: childType,
                    partner: member,
                    valuePresent: false,
                    into: &children
                )
                continue
            }
            if key == "resourceType" {
                if !isResource { fail(.structure, "\"resourceType\" is only allowed on a resource, not in \(type.name)", member) }
                continue
            }
            guard let match = type.element(named: key), let childType = definitions.type(of: match) else {
                fail(.structure, unknownElementMessage(key, in: type), member)
                continue
            }
            let partner = partners[key]
            if partner != nil, !childType.isPrimitive {
                fail(.structure, "Unknown element '_\(key)' in \(type.name): only primitive elements have a '_' sibling", member)
            }
            decodeProperty(
                member,
                name: key,
                match: match,
                repeating: type.elements[match.index].isRepeating,
                childType: childType,
                partner: childType.isPrimitive ? partner : nil,
                valuePresent: true,
                into: &children
            )
        }
        return children
    }

    /// "Unknown element", naming the allowed types when the name looks like a choice (`valueFoo`).
    private func unknownElementMessage(_ key: String, in type: FHIRType) -> String {
        if let choice = type.elements.first(where: { $0.isChoice && key.hasPrefix($0.name) && key != $0.name }) {
            return "Unknown element '\(key)' in \(type.name): \(choice.displayName) allows the types \(choice.typeNames.joined(separator: ", "))"
        }
        return "Unknown element '\(key)' in \(type.name)"
    }

    /// Decodes one property (and its `_` partner) into one node, or one node per array item.
    private mutating func decodeProperty(
        _ member: JSONMember,
        name: String,
        match: ElementMatch,
        repeating: Bool,
        childType: FHIRType,
        partner: JSONMember?,
        valuePresent: Bool,
        into children: inout [FHIRNode]
    ) {
        let value: JSONValue? = valuePresent ? member.value : nil
        if repeating {
            let items: [JSONValue]
            if let value {
                guard case .array(let array) = value else {
                    fail(.structure, "'\(name)' repeats, so its value must be a JSON array", member)
                    return
                }
                items = array
            } else {
                items = []
            }
            var partnerItems: [JSONValue] = []
            if let partner {
                guard case .array(let array) = partner.value else {
                    fail(.structure, "'_\(name)' must be an array, like '\(name)'", partner)
                    return
                }
                partnerItems = array
                if value != nil, partnerItems.count != items.count {
                    fail(
                        .structure, "'_\(name)' has \(partnerItems.count) items but '\(name)' has \(items.count); they must match one for one",
                        partner)
                    return
                }
            }
            if items.isEmpty, partnerItems.isEmpty {
                fail(.structure, "'\(name)' is an empty array; leave the element out instead", member)
                return
            }
            for i in 0..<max(items.count, partnerItems.count) {
                path.push(name, index: i)
                let item = i < items.count ? items[i] : .null
                let partnerItem = i < partnerItems.count ? partnerItems[i] : .null
                if let node = decodeValue(item, partner: partnerItem, name: name, type: childType, index: match.index, at: member) {
                    children.append(consume node)
                }
                path.pop()
            }
        } else {
            if let value, case .array = value {
                fail(.structure, "'\(name)' does not repeat, so its value must not be an array", member)
                return
            }
            if let partner, case .array = partner.value {
                fail(.structure, "'_\(name)' does not repeat, so its value must not be an array", partner)
                return
            }
            path.push(name)
            if let node = decodeValue(value ?? .null, partner: partner?.value ?? .null, name: name, type: childType, index: match.index, at: member) {
                children.append(consume node)
            }
            path.pop()
        }
    }

    private mutating func decodeValue(
        _ value: JSONValue,
        partner: JSONValue,
        name: String,
        type: FHIRType,
        index: Int,
        at member: JSONMember
    ) -> FHIRNode? {
        switch type.kind {
        case .primitive(let jsonKind):
            return decodePrimitive(value, partner: partner, name: name, type: type, jsonKind: jsonKind, index: index, at: member)
        case .complex:
            guard case .object(let members) = value else {
                fail(.structure, "'\(name)' is a \(type.name), so its value must be a JSON object", here: member)
                return nil
            }
            var node = FHIRNode(name: name, type: type, elementIndex: index, line: member.line, column: member.column)
            node.children = decodeObject(members, of: type)
            node.sortChildren()
            return node
        case .abstractResource, .resource:
            guard case .object(let members) = value else {
                fail(.structure, "'\(name)' holds a resource, so its value must be a JSON object with a \"resourceType\"", here: member)
                return nil
            }
            guard let resourceType = resolveResourceType(members, line: member.line, column: member.column) else { return nil }
            var node = FHIRNode(name: name, type: resourceType, elementIndex: index, line: member.line, column: member.column)
            node.children = decodeObject(members, of: resourceType, isResource: true)
            node.sortChildren()
            return node
        }
    }

    private mutating func decodeObject(_ members: [JSONMember], of type: FHIRType, isResource: Bool = false) -> [FHIRNode] {
        return decodeMembers(members, of: type, isResource: isResource)
    }

    private mutating func decodePrimitive(
        _ value: JSONValue,
        partner: JSONValue,
        name: String,
        type: FHIRType,
        jsonKind: FHIRType.JSONKind,
        index: Int,
        at member: JSONMember
    ) -> FHIRNode? {
        var node = FHIRNode(name: name, type: type, elementIndex: index, line: member.line, column: member.column)
        switch (value, jsonKind) {
        case (.null, _):
            if case .null = partner {
                fail(
                    .structure, "'\(name)' is null; null is only allowed in an array of primitives whose '_\(name)' item carries an id or extensions",
                    here: member)
                return nil
            }
        case (.string(let text), .string):
            if text.isEmpty {
                fail(.value, "'\(name)' is an empty string; FHIR does not allow empty values, leave the element out instead", here: member)
                return nil
            }
            if type.name == "xhtml" { checkXHTML(text, at: member) }
            node.value = text
        case (.number(let text), .number):
            node.value = text
        case (.bool(let flag), .boolean):
            node.value = flag ? "true" : "false"
        default:
            let expected: String =
                switch jsonKind {
                case .string: "a JSON string"
                case .number: "a JSON number"
                case .boolean: "true or false"
                }
            fail(.structure, "'\(name)' is a FHIR \(type.name), so its value must be \(expected), not \(describe(value))", here: member)
            return nil
        }
        switch partner {
        case .null:
            break
        case .object(let members):
            node.children = decodeObject(members, of: type)
            node.sortChildren()
            if node.children.isEmpty, node.value == nil {
                fail(.structure, "'_\(name)' must carry an id or extensions", here: member)
            }
        default:
            fail(.structure, "'_\(name)' must be a JSON object with an id or extensions, not \(describe(partner))", here: member)
        }
        return node
    }

    private mutating func checkXHTML(_ text: String, at member: JSONMember) {
        do {
            let rules = XHTMLRules(path: path.rendered)
            try xhtmlReader.scan(text, into: rules)
            issues.append(contentsOf: rules.finish())
        } catch {
            fail(.value, "The narrative is not well-formed XHTML: \(error.message)", here: member)
        }
    }

    private func describe(_ value: JSONValue) -> String {
        switch value {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    // MARK: - Issues

    private mutating func fail(_ code: FHIRIssue.Code, _ message: String, _ member: JSONMember) {
        issues.append(
            FHIRIssue(
                severity: .error, code: code, diagnostics: message, expression: path.appending(member.key), line: member.line, column: member.column)
        )
    }

    /// A problem with the element being decoded (the path already names it).
    private mutating func fail(_ code: FHIRIssue.Code, _ message: String, here member: JSONMember) {
        fail(code, message, line: member.line, column: member.column)
    }

    private mutating func fail(_ code: FHIRIssue.Code, _ message: String, line: Int32, column: Int32) {
        issues.append(
            FHIRIssue(
                severity: .error, code: code, diagnostics: message, expression: path.rendered.isEmpty ? nil : path.rendered, line: line,
                column: column))
    }
}
