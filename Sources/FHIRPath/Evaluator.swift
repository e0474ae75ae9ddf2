import FHIRCore
import Foundation

/// What `$this`, `$index` and `$total` stand for where an expression is evaluated.
struct Scope {
    var this: [FHIRPathValue]
    var index: Int?
    var total: [FHIRPathValue]?
}

/// Evaluates an `Expression` tree over collections. Nodes are values whose children arrays are
/// shared (copy-on-write), so navigation copies references, not subtrees; element names are matched
/// through the type's element index, not by building strings.
struct Evaluator {
    /// The most items `repeat()` and `descendants()` may produce, far above any real resource.
    static let maxItems = 1_000_000
    /// The most System values `repeat()` may produce: each new one is compared with all before
    /// it, so `1.repeat($this + 1)` must stop early.
    static let maxRepeatValues = 1000

    let text: String
    /// The focus and the environment, borrowed for one evaluation (see
    /// `FHIRPathExpression.withEvaluator`): copying them into every evaluation cost about a third
    /// of a short invariant's time.
    private let focusPointer: UnsafePointer<FHIRNode>
    private let environmentPointer: UnsafePointer<FHIRPathEnvironment>

    init(text: String, focus: UnsafePointer<FHIRNode>, environment: UnsafePointer<FHIRPathEnvironment>) {
        self.text = text
        self.focusPointer = focus
        self.environmentPointer = environment
    }

    var focus: FHIRNode { focusPointer.pointee }
    /// Read field by field (`environment.pointee.now`), never copied whole.
    var environment: UnsafePointer<FHIRPathEnvironment> { environmentPointer }
    /// The R4 types, read through the shared instance rather than copied into each evaluator.
    var definitions: R4Definitions { R4Definitions.r4 }

    var resource: FHIRNode { environmentPointer.pointee.resource ?? focus }
    var rootResource: FHIRNode { environmentPointer.pointee.rootResource ?? environmentPointer.pointee.resource ?? focus }

    func error(_ message: String, at expression: Expression) -> FHIRPathError {
        FHIRPathError(.execution, message, at: expression.offset, in: text)
    }

    func evaluate(_ expression: Expression, input: [FHIRPathValue], scope: Scope) throws(FHIRPathError) -> [FHIRPathValue] {
        switch expression.kind {
        case .literal(let value, _):
            return [value]
        case .empty:
            return []
        case .identifier(let name):
            var out: [FHIRPathValue] = []
            for item in input {
                guard case .node(let node) = item else { continue }
                if let first = name.utf8.first, first >= UInt8(ascii: "A"), first <= UInt8(ascii: "Z"), isType(node.type, named: name) {
                    out.append(item)
                } else {
                    appendChildren(of: node, named: name, to: &out)
                }
            }
            return out
        case .member(let base, let name):
            if case .function(_, let call) = base.kind, call.function == .type {
                let types = try evaluate(base, input: input, scope: scope)
                return types.compactMap { item -> FHIRPathValue? in
                    guard case .string(let qualified) = item, let dot = qualified.firstIndex(of: ".") else { return nil }
                    if name == "namespace" { return .string(String(qualified[..<dot])) }
                    if name == "name" { return .string(String(qualified[qualified.index(after: dot)...])) }
                    return nil
                }
            }
            let values = try evaluate(base, input: input, scope: scope)
            var out: [FHIRPathValue] = []
            for item in values {
                if case .node(let node) = item { appendChildren(of: node, named: name, to: &out) }
            }
            return out
        case .function(let base, let call):
            // exists(), empty() and count() only need the number of items.
            if call.arguments.isEmpty, call.function == .exists || call.function == .empty || call.function == .count {
                let n = try base.map { (b) throws(FHIRPathError) in try count(b, input: input, scope: scope) } ?? input.count
                return [call.function == .count ? .integer(n) : .boolean(call.function == .exists ? n > 0 : n == 0)]
            }
            let target = try base.map { (b) throws(FHIRPathError) in try evaluate(b, input: input, scope: scope) } ?? input
            return try invoke(call, on: target, hasInvocant: base != nil, input: input, scope: scope, at: expression)
        case .this:
            return scope.this
        case .index:
            return scope.index.map { [.integer($0)] } ?? []
        case .total:
            return scope.total ?? []
        case .variable(let name):
            return try variable(name, at: expression)
        case .indexer(let base, let indexExpression):
            let values = try evaluate(base, input: input, scope: scope)
            let index = try evaluate(indexExpression, input: input, scope: scope)
            guard let first = index.first else { return [] }
            guard index.count == 1, case .integer(let i) = first.systemValue ?? first else {
                throw error("An index must be one integer", at: indexExpression)
            }
            return i >= 0 && i < values.count ? [values[i]] : []
        case .negate(let operand):
            let values = try evaluate(operand, input: input, scope: scope)
            guard let item = try singleton(values, at: expression) else { return [] }
            switch item.systemValue ?? item {
            case .integer(let n): return [.integer(-n)]
            case .decimal(let d): return [.decimal(-d)]
            case .quantity(var q):
                q.value = -q.value
                return [.quantity(q)]
            default:
                if let q = item.quantityValue { return [.quantity(FHIRPathQuantity(value: -q.value, unit: q.unit))] }
                throw error("Unary minus applies to a number or a quantity, not to a \(item.suiteType)", at: expression)
            }
        case .binary(let op, let lhs, let rhs):
            return try binary(op, lhs, rhs, input: input, scope: scope, at: expression)
        case .isType(let operand, let type):
            let values = try evaluate(operand, input: input, scope: scope)
            guard let item = try singleton(values, at: expression) else { return [] }
            return [.boolean(try item.matches(type, exact: false, evaluator: self, at: expression))]
        case .asType(let operand, let type):
            let values = try evaluate(operand, input: input, scope: scope)
            guard let item = try singleton(values, at: expression) else { return [] }
            return try item.matches(type, exact: true, evaluator: self, at: expression) ? [item] : []
        }
    }

    // MARK: Counting

    /// The number of items `expression` gives, without building the collection when it is a path
    /// of element names or `children()` (what `exists()`, `empty()` and `count()` ask of most
    /// invariants: `low.exists()`, `children().count()`).
    func count(_ expression: Expression, input: [FHIRPathValue], scope: Scope) throws(FHIRPathError) -> Int {
        switch expression.kind {
        case .identifier(let name):
            guard let first = name.utf8.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else { break }
            var total = 0
            for case .node(let node) in input { total += countChildren(of: node, named: name) }
            return total
        case .member(let base, let name):
            if case .function(_, let call) = base.kind, call.function == .type { break }
            let values = try evaluate(base, input: input, scope: scope)
            var total = 0
            for case .node(let node) in values { total += countChildren(of: node, named: name) }
            return total
        case .function(let base, let call) where call.function == .children:
            let values = try base.map { (b) throws(FHIRPathError) in try evaluate(b, input: input, scope: scope) } ?? input
            var total = 0
            for case .node(let node) in values { total += node.children.count }
            return total
        default:
            break
        }
        return try evaluate(expression, input: input, scope: scope).count
    }

    private func countChildren(of node: FHIRNode, named name: String) -> Int {
        guard let index = elementIndex(of: node.type, named: name) else { return 0 }
        var total = 0
        for i in node.children.indices where node.children[i].elementIndex == index { total += 1 }
        return total
    }

    // MARK: Navigation

    /// Appends the children of `node` for the element `name` (for a choice element, its base name:
    /// `value` finds `valueQuantity`).
    func appendChildren(of node: FHIRNode, named name: String, to out: inout [FHIRPathValue]) {
        guard let index = elementIndex(of: node.type, named: name) else { return }
        for child in node.children where child.elementIndex == index { out.append(.node(child)) }
    }

    /// The index of the element `name` in `type`, matching a choice element by its base name only.
    func elementIndex(of type: FHIRType, named name: String) -> Int? {
        if let match = type.element(named: name), type.elements[match.index].name == name { return match.index }
        let elements = type.elements
        for i in elements.indices where elements[i].isChoice && elements[i].name == name { return i }
        return nil
    }

    /// Whether `type` is the type `name` or derives from it (`Age` is a `Quantity`, every resource
    /// is a `Resource`).
    func isType(_ type: FHIRType, named name: String) -> Bool { Self.isType(type, named: name) }

    static func isType(_ type: FHIRType, named name: String) -> Bool {
        var current: FHIRType? = type
        var steps = 0
        while let t = current, steps < 16 {
            if t.name == name { return true }
            guard let base = t.baseName else { return false }
            current = R4Definitions.r4.type(base)
            steps += 1
        }
        return false
    }

    // MARK: Variables

    func variable(_ name: String, at expression: Expression) throws(FHIRPathError) -> [FHIRPathValue] {
        switch name {
        case "resource": return [.node(resource)]
        case "rootResource": return [.node(rootResource)]
        case "context": return [.node(focus)]
        case "ucum": return [.string("http://unitsofmeasure.org")]
        case "sct": return [.string("http://snomed.info/sct")]
        case "loinc": return [.string("http://loinc.org")]
        default:
            if let value = environment.pointee.variables[name] { return value }
            if name.hasPrefix("vs-") { return [.string("http://hl7.org/fhir/ValueSet/" + name.dropFirst(3))] }
            if name.hasPrefix("ext-") { return [.string("http://hl7.org/fhir/StructureDefinition/" + name.dropFirst(4))] }
            throw error("Unknown variable %\(name): give it in FHIRPathEnvironment.variables", at: expression)
        }
    }

    // MARK: Collections

    /// The one item of a collection, nil when it is empty; an error when it has more.
    func singleton(_ values: [FHIRPathValue], at expression: Expression) throws(FHIRPathError) -> FHIRPathValue? {
        guard values.count <= 1 else {
            throw error("Expected at most one item but found \(values.count)", at: expression)
        }
        return values.first
    }

    /// A collection as one Boolean, following singleton evaluation: empty is nil, one boolean is
    /// itself, one item of another type is true, more than one item is an error.
    func boolean(_ values: [FHIRPathValue], at expression: Expression) throws(FHIRPathError) -> Bool? {
        guard let item = try singleton(values, at: expression) else { return nil }
        switch item {
        case .boolean(let value): return value
        case .node(let node) where node.type.primitive == .boolean: return node.value == "true"
        default: return true
        }
    }

    /// `values` without repeated items (by equality), first occurrences kept.
    func distinct(_ values: [FHIRPathValue]) -> [FHIRPathValue] {
        var out: [FHIRPathValue] = []
        out.reserveCapacity(values.count)
        for item in values where !out.contains(where: { Self.equals($0, item) == true }) { out.append(item) }
        return out
    }
}
