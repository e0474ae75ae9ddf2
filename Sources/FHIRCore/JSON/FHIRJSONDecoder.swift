import SafeXML
import StrictJSON

/// Reads FHIR JSON straight from the bytes into a typed `FHIRNode` tree, following the rules of
/// FHIR's JSON format: `resourceType`, arrays exactly where an element repeats, `_name` siblings
/// carrying a primitive's `id` and `extension`, `null` only inside such primitive arrays, no empty
/// strings. Every problem becomes an issue with the FHIRPath of the element; decoding goes on past
/// errors so that one answer lists them all.
///
/// It pulls values from a `JSONStream` instead of walking a `JSONValue` tree: no intermediate tree
/// is built (that was half the reading time). A JSON syntax error anywhere is thrown, and then the
/// issues gathered so far mean nothing: the document cannot be read.
///
/// With `validates`, each node also gets the checks `FHIRValidator` would make (`NodeChecks`,
/// references, resource invariants) as soon as it is complete, so the tree needs no second walk.
struct FHIRJSONDecoder: ~Copyable {
    let definitions: R4Definitions
    let xhtmlReader: XMLFragmentParser
    let validates: Bool
    var stream: JSONStream
    private(set) var issues: [FHIRIssue] = []
    private var path = FHIRPathBuilder(root: "")
    /// For each Bundle being read, innermost last: the issues of references that are only allowed
    /// inside a transaction, decided when the Bundle (and so its `type`) is complete.
    private var openBundles: [[FHIRIssue]] = []

    init(stream: consuming JSONStream, definitions: R4Definitions, xhtmlReader: XMLFragmentParser, validates: Bool) {
        self.stream = stream
        self.definitions = definitions
        self.xhtmlReader = xhtmlReader
        self.validates = validates
    }

    /// Decodes a document whose root must be a resource.
    mutating func decodeDocument() throws(JSONSyntaxError) -> FHIRNode? {
        let kind = try stream.nextValueKind()
        guard kind == .object else {
            try stream.skipValue(kind)
            try stream.finish()
            issues.append(
                FHIRIssue(
                    severity: .fatal,
                    code: .structure,
                    diagnostics: "The document must be a JSON object holding a FHIR resource, with a \"resourceType\" property"
                )
            )
            return nil
        }
        try stream.enterObject()
        let node = try decodeResource(name: nil, elementIndex: -1, line: 1, column: 1)
        try stream.finish()
        return node
    }

    // MARK: - Resources

    /// Reads a resource object (entered already): its type first, then its members. The type is
    /// nearly always the first member; when it is not, the object is scanned for it and read again.
    private mutating func decodeResource(name: String?, elementIndex: Int, line: Int32, column: Int32) throws(JSONSyntaxError) -> FHIRNode? {
        let start = stream.mark()
        var type: FHIRType?
        var skipped = false
        while let key = try stream.nextKey() {
            let kind = try stream.nextValueKind()
            guard Self.isResourceType(key.name) else {
                try stream.skipValue(kind)
                skipped = true
                continue
            }
            guard let resolved = try readResourceType(key, kind) else {
                try skipRestOfObject()
                return nil
            }
            type = resolved
            break
        }
        guard let type else {
            stream.endObject()
            fail(.structure, "This object must hold a resource, but it has no \"resourceType\" property", line: line, column: column)
            return nil
        }
        if name == nil { path = FHIRPathBuilder(root: type.name) }
        // Members before `resourceType` were only skipped: read the object again from its start.
        if skipped { stream.reset(to: start) }
        let isBundle = validates && type.name == "Bundle"
        if isBundle { openBundles.append([]) }
        var children = try decodeMembers(of: type, isResource: true)
        children.sortBySpecification()
        let node = FHIRNode(name: name ?? type.name, type: type, elementIndex: elementIndex, children: children, line: line, column: column)
        if validates {
            check(node)
            issues.append(contentsOf: ResourceInvariants.check(node, path: path.rendered, definitions: definitions))
        }
        if isBundle, let transactionOnly = openBundles.popLast(), node.value(of: "type") != "transaction" {
            issues.append(contentsOf: transactionOnly)
        }
        return node
    }

    /// The checks of a finished node, and of its primitive children (complex children were
    /// checked when they were finished).
    private mutating func check(_ node: FHIRNode) {
        NodeChecks.local(node, path: path, into: &issues)
        if node.type === definitions.referenceType { checkReference(node) }
        let rules = node.type.cardinalities
        // An immutable local array: its elements are passed in place, not copied.
        let children = node.children
        var previous = -1
        var index = 0
        for i in children.indices {
            let elementIndex = children[i].elementIndex
            index = elementIndex == previous ? index + 1 : 0
            previous = elementIndex
            guard children[i].type.isPrimitive, !NodeChecks.primitiveIsClean(children[i]) else { continue }
            let repeating = elementIndex >= 0 && elementIndex < rules.count && rules[elementIndex].max > 1
            path.push(children[i].name, index: repeating ? index : nil)
            NodeChecks.local(children[i], path: path, into: &issues)
            path.pop()
        }
    }

    /// A conditional reference (`Patient?identifier=…`) is allowed inside a transaction only: inside
    /// a Bundle, that is decided when the Bundle is complete.
    private mutating func checkReference(_ node: FHIRNode) {
        guard let issue = NodeChecks.reference(node, path: path, allowConditional: false, definitions: definitions) else { return }
        if !openBundles.isEmpty, NodeChecks.reference(node, path: path, allowConditional: true, definitions: definitions) == nil {
            openBundles[openBundles.count - 1].append(issue)
        } else {
            issues.append(issue)
        }
    }

    /// `resourceType`, tested on every member name: by length and first byte before comparing.
    private static func isResourceType(_ name: String) -> Bool {
        name.utf8.count == 12 && name.utf8.first == UInt8(ascii: "r") && name == "resourceType"
    }

    private mutating func readResourceType(_ key: JSONStream.Key, _ kind: JSONStream.ValueKind) throws(JSONSyntaxError) -> FHIRType? {
        guard kind == .string else {
            try stream.skipValue(kind)
            fail(.structure, "\"resourceType\" must be a string naming the resource type", key)
            return nil
        }
        let name = try stream.readString()
        guard let type = definitions.resourceType(name) else {
            fail(.notSupported, "'\(name)' is not a FHIR R4 resource type", key)
            return nil
        }
        return type
    }

    private mutating func skipRestOfObject() throws(JSONSyntaxError) {
        while try stream.nextKey() != nil {
            try stream.skipValue(try stream.nextValueKind())
        }
        stream.endObject()
    }

    // MARK: - Objects

    /// Reads the members of the object being read (entered already) and leaves it.
    private mutating func decodeMembers(of type: FHIRType, isResource: Bool) throws(JSONSyntaxError) -> [FHIRNode] {
        var object = ObjectState()
        while let key = try stream.nextKey() {
            let kind = try stream.nextValueKind()
            if Self.isResourceType(key.name) {
                if !isResource { fail(.structure, "\"resourceType\" is only allowed on a resource, not in \(type.name)", key) }
                try stream.skipValue(kind)
                continue
            }
            try decodeMember(key, kind, of: type, into: &object)
        }
        if !object.partners.isEmpty { mergePartners(&object, of: type) }
        if !object.primitives.isEmpty { reportUnpartneredPrimitives(&object) }
        stream.endObject()
        object.removeDropped()
        return object.children
    }

    /// One member of an object of `type`.
    private mutating func decodeMember(_ key: JSONStream.Key, _ kind: JSONStream.ValueKind, of type: FHIRType, into object: inout ObjectState)
        throws(JSONSyntaxError)
    {
        if key.name.utf8.first == UInt8(ascii: "_") {
            try readPartner(key, kind, of: type, into: &object)
            return
        }
        guard let match = type.element(named: key.name), let childType = definitions.type(of: match) else {
            fail(.structure, unknownElementMessage(key.name, in: type), key)
            try stream.skipValue(kind)
            return
        }
        let repeating = type.elements[match.index].isRepeating
        if childType.isPrimitive {
            try readPrimitives(key, kind, index: match.index, type: childType, repeating: repeating, into: &object)
        } else {
            try readComplex(key, kind, index: match.index, type: childType, repeating: repeating, into: &object.children)
        }
    }

    /// "Unknown element", naming the allowed types when the name looks like a choice (`valueFoo`).
    private func unknownElementMessage(_ key: String, in type: FHIRType) -> String {
        if let choice = type.elements.first(where: { $0.isChoice && key.hasPrefix($0.name) && key != $0.name }) {
            return "Unknown element '\(key)' in \(type.name): \(choice.displayName) allows the types \(choice.typeNames.joined(separator: ", "))"
        }
        return "Unknown element '\(key)' in \(type.name)"
    }

    /// Whether the member is an array exactly when its element repeats; if not, the problem is
    /// reported and the value skipped.
    private mutating func hasItsShape(_ key: JSONStream.Key, _ kind: JSONStream.ValueKind, repeating: Bool) throws(JSONSyntaxError) -> Bool {
        guard repeating != (kind == .array) else { return true }
        fail(
            .structure,
            repeating
                ? "'\(key.name)' repeats, so its value must be a JSON array"
                : "'\(key.name)' does not repeat, so its value must not be an array",
            key)
        try stream.skipValue(kind)
        return false
    }

    // MARK: - Complex elements and resources

    private mutating func readComplex(
        _ key: JSONStream.Key, _ kind: JSONStream.ValueKind, index: Int, type: FHIRType, repeating: Bool, into children: inout [FHIRNode]
    ) throws(JSONSyntaxError) {
        let name = key.name
        guard try hasItsShape(key, kind, repeating: repeating) else { return }
        guard repeating else {
            path.push(name)
            if let node = try readComplexValue(key, kind, index: index, type: type) { children.append(node) }
            path.pop()
            return
        }
        try stream.enterArray()
        var count = 0
        while try stream.nextElement() {
            let itemKind = try stream.nextValueKind()
            path.push(name, index: count)
            if let node = try readComplexValue(key, itemKind, index: index, type: type) { children.append(node) }
            path.pop()
            count += 1
        }
        if count == 0 { fail(.structure, "'\(name)' is an empty array; leave the element out instead", key) }
    }

    private mutating func readComplexValue(_ key: JSONStream.Key, _ kind: JSONStream.ValueKind, index: Int, type: FHIRType) throws(JSONSyntaxError)
        -> FHIRNode?
    {
        if type.kind == .complex {
            guard kind == .object else {
                fail(.structure, "'\(key.name)' is a \(type.name), so its value must be a JSON object", here: key)
                try stream.skipValue(kind)
                return nil
            }
            try stream.enterObject()
            var children = try decodeMembers(of: type, isResource: false)
            children.sortBySpecification()
            let node = FHIRNode(name: key.name, type: type, elementIndex: index, children: children, line: key.line, column: key.column)
            if validates { check(node) }
            return node
        }
        guard kind == .object else {
            fail(.structure, "'\(key.name)' holds a resource, so its value must be a JSON object with a \"resourceType\"", here: key)
            try stream.skipValue(kind)
            return nil
        }
        try stream.enterObject()
        return try decodeResource(name: key.name, elementIndex: index, line: key.line, column: key.column)
    }

    // MARK: - Primitives

    /// Reads a primitive element's value (or array of values). Nodes are appended in order; a
    /// `null` item leaves a placeholder that its `_name` item fills, or that is dropped. Only a
    /// member that needs more than its nodes (a refused or `null` value, an empty array) is
    /// remembered; the others are found among the children if a `_name` member comes.
    private mutating func readPrimitives(
        _ key: JSONStream.Key, _ kind: JSONStream.ValueKind, index: Int, type: FHIRType, repeating: Bool, into object: inout ObjectState
    ) throws(JSONSyntaxError) {
        let name = key.name
        var slots: [Slot?] = []
        var clean = true
        guard try hasItsShape(key, kind, repeating: repeating) else {
            object.primitives.append(PrimitiveEntry(key: key, repeating: repeating, slots: [], failed: true))
            return
        }
        if repeating {
            try stream.enterArray()
            var count = 0
            let first = object.children.count
            while try stream.nextElement() {
                let itemKind = try stream.nextValueKind()
                path.push(name, index: count)
                let slot = try readPrimitiveItem(key, itemKind, index: index, type: type, into: &object)
                path.pop()
                if clean, slot == nil || slot?.isNull == true {
                    clean = false
                    slots = (first..<(first + count)).map { Slot(child: $0, isNull: false) }
                }
                if !clean { slots.append(slot) }
                count += 1
            }
            if count == 0 { clean = false }
        } else {
            path.push(name)
            let slot = try readPrimitiveItem(key, kind, index: index, type: type, into: &object)
            path.pop()
            if slot == nil || slot?.isNull == true {
                clean = false
                slots = [slot]
            }
        }
        if !clean { object.primitives.append(PrimitiveEntry(key: key, repeating: repeating, slots: slots)) }
    }

    /// One value: a node appended to the object's children (a placeholder without a value for
    /// `null`), or nil when the value is refused.
    private mutating func readPrimitiveItem(
        _ key: JSONStream.Key, _ kind: JSONStream.ValueKind, index: Int, type: FHIRType, into object: inout ObjectState
    ) throws(JSONSyntaxError) -> Slot? {
        guard case .primitive(let jsonKind) = type.kind else { return nil }
        let value: String?
        switch (kind, jsonKind) {
        case (.null, _):
            try stream.readNull()
            value = nil
        case (.string, .string):
            let text = try stream.readString()
            if text.isEmpty {
                fail(.value, "'\(key.name)' is an empty string; FHIR does not allow empty values, leave the element out instead", here: key)
                return nil
            }
            if type.primitive == .xhtml { checkXHTML(text, at: key) }
            value = text
        case (.number, .number):
            value = try stream.readNumber()
        case (.bool, .boolean):
            value = try stream.readBool() ? "true" : "false"
        default:
            let expected: String =
                switch jsonKind {
                case .string: "a JSON string"
                case .number: "a JSON number"
                case .boolean: "true or false"
                }
            fail(.structure, "'\(key.name)' is a FHIR \(type.name), so its value must be \(expected), not \(describe(kind))", here: key)
            try stream.skipValue(kind)
            return nil
        }
        // Made in place in the array: building it first and appending it copied it twice.
        object.children.append(FHIRNode(name: key.name, type: type, elementIndex: index, value: value, line: key.line, column: key.column))
        return Slot(child: object.children.count - 1, isNull: value == nil)
    }

    /// Reads a `_name` member: the id and extensions of the primitive `name` (one per item when it
    /// repeats). They are joined to the values when the object ends, whichever came first.
    private mutating func readPartner(_ key: JSONStream.Key, _ kind: JSONStream.ValueKind, of type: FHIRType, into object: inout ObjectState)
        throws(JSONSyntaxError)
    {
        let base = String(key.name.dropFirst())
        var partner = PartnerEntry(name: base, key: key, isArray: kind == .array)
        guard let match = type.element(named: base), let baseType = definitions.type(of: match), baseType.isPrimitive else {
            // Resolved when the object ends: an error unless `base` is there (and then it depends on what it is).
            try stream.skipValue(kind)
            object.partners.append(partner)
            return
        }
        partner.known = (match.index, baseType, type.elements[match.index].isRepeating)
        if kind == .array {
            if partner.known?.repeating == true {
                try stream.enterArray()
                var count = 0
                while try stream.nextElement() {
                    let itemKind = try stream.nextValueKind()
                    path.push(base, index: count)
                    partner.items.append(try readPartnerItem(itemKind, of: baseType))
                    path.pop()
                    count += 1
                }
            } else {
                try stream.skipValue(kind)
            }
        } else {
            path.push(base)
            partner.items.append(try readPartnerItem(kind, of: baseType))
            path.pop()
        }
        object.partners.append(partner)
    }

    private mutating func readPartnerItem(_ kind: JSONStream.ValueKind, of type: FHIRType) throws(JSONSyntaxError) -> PartnerItem {
        switch kind {
        case .null:
            try stream.readNull()
            return .null
        case .object:
            try stream.enterObject()
            var children = try decodeMembers(of: type, isResource: false)
            children.sortBySpecification()
            return .object(children)
        default:
            try stream.skipValue(kind)
            return .other(kind)
        }
    }

    /// Joins each `_name` member to its values, with the checks of the JSON format.
    private mutating func mergePartners(_ object: inout ObjectState, of type: FHIRType) {
        for partner in object.partners {
            let name = partner.name
            guard let known = partner.known else {
                if let position = stream.keyPosition(name) {
                    // `name` is there but is no primitive: unknown (reported already) or complex.
                    if type.element(named: name) != nil {
                        fail(
                            .structure, "Unknown element '_\(name)' in \(type.name): only primitive elements have a '_' sibling",
                            JSONStream.Key(name: name, line: position.line, column: position.column))
                    }
                } else {
                    fail(.structure, "Unknown element '\(partner.key.name)' in \(type.name)", partner.key)
                }
                continue
            }
            // The member the values came in (for the line of their nodes and of the errors).
            let key: JSONStream.Key
            let slots: [Slot?]
            let hasValues: Bool
            if let e = object.primitives.firstIndex(where: { $0.key.name == name }) {
                object.primitives[e].partnered = true
                if object.primitives[e].failed { continue }
                key = object.primitives[e].key
                slots = object.primitives[e].slots
                hasValues = true
            } else if let position = stream.keyPosition(name) {
                // Values that needed nothing more: their nodes, in order.
                key = JSONStream.Key(name: name, line: position.line, column: position.column)
                slots = object.children.indices.filter { object.children[$0].name == name }.map { Slot(child: $0, isNull: false) }
                hasValues = true
            } else {
                // Only the id and extensions: nodes without a value, one per item.
                key = JSONStream.Key(name: name, line: partner.key.line, column: partner.key.column)
                var made: [Slot?] = []
                for _ in 0..<(partner.isArray == known.repeating ? partner.items.count : 0) {
                    object.children.append(FHIRNode(name: name, type: known.type, elementIndex: known.index, line: key.line, column: key.column))
                    made.append(Slot(child: object.children.count - 1, isNull: true))
                }
                slots = made
                hasValues = false
            }
            if known.repeating {
                guard partner.isArray else {
                    fail(.structure, "'_\(name)' must be an array, like '\(name)'", partner.key)
                    object.drop(slots)
                    continue
                }
                guard partner.items.count == slots.count else {
                    fail(
                        .structure,
                        "'_\(name)' has \(partner.items.count) items but '\(name)' has \(slots.count); they must match one for one",
                        partner.key
                    )
                    object.drop(slots)
                    continue
                }
                if slots.isEmpty {
                    fail(.structure, "'\(name)' is an empty array; leave the element out instead", hasValues ? key : partner.key)
                    continue
                }
                for i in slots.indices {
                    path.push(name, index: i)
                    join(partner.items[i], to: slots[i], key: key, repeating: true, in: &object)
                    path.pop()
                }
            } else {
                guard !partner.isArray else {
                    fail(.structure, "'_\(name)' does not repeat, so its value must not be an array", partner.key)
                    object.drop(slots)
                    continue
                }
                path.push(name)
                join(partner.items.first ?? .null, to: slots.first ?? nil, key: key, repeating: false, in: &object)
                path.pop()
            }
        }
    }

    /// Puts a `_name` item's id and extensions on its value's node (the path names the item).
    /// `null` stands only for an item of an array that has nothing to add; an object must carry
    /// an id or extensions.
    private mutating func join(_ item: PartnerItem, to slot: Slot?, key: JSONStream.Key, repeating: Bool, in object: inout ObjectState) {
        guard let slot else { return }
        switch item {
        case .null:
            if !repeating {
                fail(.structure, "'_\(key.name)' is null; null is only allowed as an item of an array, leave '_\(key.name)' out instead", here: key)
            }
            if slot.isNull {
                reportNull(key)
                object.dropped.insert(slot.child)
            }
        case .object(let children):
            object.children[slot.child].children = children
            if children.isEmpty {
                fail(.structure, "'_\(key.name)' is an empty object; it must carry an id or extensions, or be left out", here: key)
            }
        case .other(let kind):
            fail(.structure, "'_\(key.name)' must be a JSON object with an id or extensions, not \(describe(kind))", here: key)
        }
    }

    /// Values without a `_name` partner: a `null` is refused, an empty array too.
    private mutating func reportUnpartneredPrimitives(_ object: inout ObjectState) {
        for entry in object.primitives where !entry.partnered && !entry.failed {
            if entry.repeating, entry.slots.isEmpty {
                fail(.structure, "'\(entry.key.name)' is an empty array; leave the element out instead", entry.key)
                continue
            }
            for (i, slot) in entry.slots.enumerated() {
                guard let slot, slot.isNull else { continue }
                path.push(entry.key.name, index: entry.repeating ? i : nil)
                reportNull(entry.key)
                path.pop()
                object.dropped.insert(slot.child)
            }
        }
    }

    private mutating func reportNull(_ key: JSONStream.Key) {
        fail(
            .structure,
            "'\(key.name)' is null; null is only allowed in an array of primitives whose '_\(key.name)' item carries an id or extensions",
            here: key
        )
    }

    private mutating func checkXHTML(_ text: String, at key: JSONStream.Key) {
        do {
            let rules = XHTMLRules(path: path.rendered)
            try xhtmlReader.scan(text, into: rules)
            issues.append(contentsOf: rules.finish())
        } catch {
            fail(.value, "The narrative is not well-formed XHTML: \(error.message)", here: key)
        }
    }

    private func describe(_ kind: JSONStream.ValueKind) -> String {
        switch kind {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    // MARK: - Issues

    /// A problem with the member `key` of the object being read.
    private mutating func fail(_ code: FHIRIssue.Code, _ message: String, _ key: JSONStream.Key) {
        issues.append(
            FHIRIssue(severity: .error, code: code, diagnostics: message, expression: path.appending(key.name), line: key.line, column: key.column)
        )
    }

    /// A problem with the element being decoded (the path already names it).
    private mutating func fail(_ code: FHIRIssue.Code, _ message: String, here key: JSONStream.Key) {
        fail(code, message, line: key.line, column: key.column)
    }

    private mutating func fail(_ code: FHIRIssue.Code, _ message: String, line: Int32, column: Int32) {
        let rendered = path.rendered
        issues.append(
            FHIRIssue(severity: .error, code: code, diagnostics: message, expression: rendered.isEmpty ? nil : rendered, line: line, column: column))
    }
}

/// A value's node among an object's children.
private struct Slot {
    var child: Int
    /// The value was `null`: the node is a placeholder until a `_name` item fills it.
    var isNull: Bool
}

/// A primitive member that needs more than its nodes: one with a refused or `null` value, an
/// empty array, or the wrong shape.
private struct PrimitiveEntry {
    var key: JSONStream.Key
    var repeating: Bool
    /// One per value (array item), nil where the value was refused.
    var slots: [Slot?]
    /// The member's shape was wrong (array for a single value or the reverse): nothing was kept.
    var failed = false
    var partnered = false
}

/// One item of a `_name` member.
private enum PartnerItem {
    case null
    case object([FHIRNode])
    /// Anything else, refused when joined.
    case other(JSONStream.ValueKind)
}

/// A `_name` member, kept until the object ends.
private struct PartnerEntry {
    var name: String
    var key: JSONStream.Key
    var isArray: Bool
    /// The primitive element `name` stands for, when the type has one.
    var known: (index: Int, type: FHIRType, repeating: Bool)?
    var items: [PartnerItem] = []
}

/// What reading one object gathers.
private struct ObjectState {
    var children: [FHIRNode]
    var primitives: [PrimitiveEntry] = []
    var partners: [PartnerEntry] = []
    /// Children to leave out: placeholders never filled, values whose partner was refused.
    var dropped: Set<Int> = []

    init() {
        children = []
        children.reserveCapacity(4)
    }

    mutating func drop(_ slots: [Slot?]) {
        for case let slot? in slots { dropped.insert(slot.child) }
    }

    mutating func removeDropped() {
        guard !dropped.isEmpty else { return }
        children = children.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
    }
}
