import FHIRCore

/// Boolean evaluation without intermediate collections: invariants are mostly `and`/`or` of
/// `exists()`, `empty()`, `hasValue()` and comparisons of counts, and evaluating those through
/// one-item arrays cost an allocation per step. The results are the same as
/// `boolean(evaluate(expression))`; shapes not listed here take that path.
extension Evaluator {
    /// Whether the expression always gives a Boolean (or nothing), so that its collection and
    /// `booleanValue` agree.
    static func givesBoolean(_ expression: Expression) -> Bool {
        switch expression.kind {
        case .binary(let op, _, _):
            switch op {
            case .and, .or, .xor, .implies, .less, .lessOrEqual, .greater, .greaterOrEqual: return true
            default: return false
            }
        case .function(_, let call):
            switch call.function {
            case .exists, .empty, .hasValue, .not, .all, .allTrue, .anyTrue, .allFalse, .anyFalse: return true
            default: return false
            }
        case .literal(.boolean, _): return true
        default: return false
        }
    }

    /// `boolean(evaluate(expression))`, computed directly for the common shapes.
    func booleanValue(_ expression: Expression, input: [FHIRPathValue], scope: Scope) throws(FHIRPathError) -> Bool? {
        switch expression.kind {
        case .literal(.boolean(let value), _):
            return value
        case .binary(let op, let lhs, let rhs):
            switch op {
            case .and, .or, .xor, .implies:
                let a = try booleanValue(lhs, input: input, scope: scope)
                if op == .and, a == false { return false }
                if op == .or, a == true { return true }
                if op == .implies, a == false { return true }
                let b = try booleanValue(rhs, input: input, scope: scope)
                switch op {
                case .and: return b == false ? false : (a == true && b == true ? true : nil)
                case .or: return b == true ? true : (a == false && b == false ? false : nil)
                case .xor: return a != nil && b != nil ? a != b : nil
                default: return b == true ? true : (a == true && b == false ? false : nil)
                }
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                guard let a = try singleValue(lhs, input: input, scope: scope), let b = try singleValue(rhs, input: input, scope: scope),
                    let order = try compare(a, b, at: expression)
                else { return nil }
                switch op {
                case .less: return order < 0
                case .lessOrEqual: return order <= 0
                case .greater: return order > 0
                default: return order >= 0
                }
            default:
                break
            }
        case .function(let base, let call) where call.arguments.isEmpty:
            switch call.function {
            case .exists, .empty:
                let n = try base.map { (b) throws(FHIRPathError) in try count(b, input: input, scope: scope) } ?? input.count
                return call.function == .exists ? n > 0 : n == 0
            case .not:
                if let base, Self.givesBoolean(base) { return try booleanValue(base, input: input, scope: scope).map { !$0 } }
            case .hasValue:
                let target = try base.map { (b) throws(FHIRPathError) in try evaluate(b, input: input, scope: scope) } ?? input
                guard target.count == 1 else { return false }
                if case .node(let node) = target[0] { return node.type.isPrimitive && node.value != nil }
                return true
            default:
                break
            }
        default:
            break
        }
        return try boolean(try evaluate(expression, input: input, scope: scope), at: expression)
    }

    /// The one item an operand of a comparison gives (nil for none; more is an error), computed
    /// directly for literals and counts.
    func singleValue(_ expression: Expression, input: [FHIRPathValue], scope: Scope) throws(FHIRPathError) -> FHIRPathValue? {
        switch expression.kind {
        case .literal(let value, _):
            return value
        case .function(let base, let call) where call.function == .count && call.arguments.isEmpty:
            return .integer(try base.map { (b) throws(FHIRPathError) in try count(b, input: input, scope: scope) } ?? input.count)
        default:
            return try singleton(try evaluate(expression, input: input, scope: scope), at: expression)
        }
    }
}
