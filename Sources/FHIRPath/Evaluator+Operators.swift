import FHIRCore
import Foundation

extension Evaluator {
    func binary(
        _ op: BinaryOperator, _ lhs: Expression, _ rhs: Expression, input: [FHIRPathValue], scope: Scope, at expression: Expression
    ) throws(FHIRPathError) -> [FHIRPathValue] {
        // Boolean operators evaluate the right side only when it can change the answer.
        switch op {
        case .and, .or, .xor, .implies:
            let a = try booleanValue(lhs, input: input, scope: scope)
            if op == .and, a == false { return [.boolean(false)] }
            if op == .or, a == true { return [.boolean(true)] }
            if op == .implies, a == false { return [.boolean(true)] }
            let b = try booleanValue(rhs, input: input, scope: scope)
            let result: Bool? =
                switch op {
                case .and: b == false ? false : (a == true && b == true ? true : nil)
                case .or: b == true ? true : (a == false && b == false ? false : nil)
                case .xor: a != nil && b != nil ? a != b : nil
                default: b == true ? true : (a == true && b == false ? false : nil)
                }
            return result.map { [.boolean($0)] } ?? []
        default:
            break
        }
        let left = try evaluate(lhs, input: input, scope: scope)
        let right = try evaluate(rhs, input: input, scope: scope)
        switch op {
        case .union:
            return distinct(left + right)
        case .equal, .notEqual:
            guard !left.isEmpty, !right.isEmpty else { return [] }
            guard left.count == right.count else { return [.boolean(op == .notEqual)] }
            var all = true
            for (a, b) in zip(left, right) {
                guard let same = Self.equals(a, b) else { return [] }
                if !same { all = false }
            }
            return [.boolean(op == .equal ? all : !all)]
        case .equivalent, .notEquivalent:
            let same = Self.equivalent(left, right)
            return [.boolean(op == .equivalent ? same : !same)]
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard let a = try singleton(left, at: lhs), let b = try singleton(right, at: rhs) else { return [] }
            guard let order = try compare(a, b, at: expression) else { return [] }
            let result =
                switch op {
                case .less: order < 0
                case .lessOrEqual: order <= 0
                case .greater: order > 0
                default: order >= 0
                }
            return [.boolean(result)]
        case .in, .contains:
            let (item, collection) = op == .in ? (left, right) : (right, left)
            guard let one = try singleton(item, at: op == .in ? lhs : rhs) else { return [] }
            return [.boolean(collection.contains { Self.equals($0, one) == true })]
        case .concatenate:
            let a = try singleton(left, at: lhs)
            let b = try singleton(right, at: rhs)
            return [.string(try text(of: a, at: lhs) + text(of: b, at: rhs))]
        default:
            guard let a = try singleton(left, at: lhs), let b = try singleton(right, at: rhs) else { return [] }
            return try arithmetic(op, a, b, at: expression).map { [$0] } ?? []
        }
    }

    private func text(of item: FHIRPathValue?, at expression: Expression) throws(FHIRPathError) -> String {
        guard let item else { return "" }
        guard case .string(let value) = item.systemValue ?? item else {
            throw error("& joins strings, not a \(item.suiteType)", at: expression)
        }
        return value
    }

    // MARK: Equality

    /// `=` for two items: nil when the answer is unknown (dates of different precision, quantities
    /// in units that cannot be compared, a primitive without a value).
    static func equals(_ a: FHIRPathValue, _ b: FHIRPathValue) -> Bool? {
        if case .node(let x) = a, case .node(let y) = b, !x.type.isPrimitive || !y.type.isPrimitive {
            return x.type === y.type && x.value == y.value && x.children == y.children
        }
        if isQuantity(a) || isQuantity(b) {
            guard let x = a.quantityValue, let y = b.quantityValue else { return false }
            return FHIRPathQuantity.compare(x, y).map { $0 == 0 }
        }
        guard let x = a.systemValue, let y = b.systemValue else { return nil }
        switch (x, y) {
        case (.boolean(let p), .boolean(let q)): return p == q
        case (.string(let p), .string(let q)): return p == q
        case (.integer(let p), .integer(let q)): return p == q
        case (.integer(let p), .decimal(let q)): return Decimal(p) == q
        case (.decimal(let p), .integer(let q)): return p == Decimal(q)
        case (.decimal(let p), .decimal(let q)): return p == q
        case (.date(let p), .date(let q)), (.date(let p), .dateTime(let q)), (.dateTime(let p), .date(let q)),
            (.dateTime(let p), .dateTime(let q)), (.time(let p), .time(let q)):
            return FHIRPathTemporal.compare(p, q).map { $0 == 0 }
        default: return false
        }
    }

    static func isQuantity(_ value: FHIRPathValue) -> Bool {
        switch value {
        case .quantity: return true
        case .node(let node): return node.type.name == "Quantity" || node.type.baseName == "Quantity"
        default: return false
        }
    }

    /// `~` for two collections: the same items in any order, each pair equivalent.
    static func equivalent(_ left: [FHIRPathValue], _ right: [FHIRPathValue]) -> Bool {
        guard left.count == right.count else { return false }
        var unmatched = right
        for a in left {
            guard let i = unmatched.firstIndex(where: { equivalent($0, a) }) else { return false }
            unmatched.remove(at: i)
        }
        return true
    }

    /// `~` for two items: strings ignoring case and white space runs, decimals to the precision of
    /// the less precise, dates only at the same precision.
    static func equivalent(_ a: FHIRPathValue, _ b: FHIRPathValue) -> Bool {
        if case .node(let x) = a, case .node(let y) = b, !x.type.isPrimitive || !y.type.isPrimitive {
            guard x.type === y.type, x.children.count == y.children.count else { return false }
            if x.value != y.value { return false }
            return zip(x.children, y.children).allSatisfy { $0.name == $1.name && equivalent(.node($0), .node($1)) }
        }
        if isQuantity(a) || isQuantity(b) {
            guard let x = a.quantityValue, let y = b.quantityValue else { return false }
            guard let cx = x.canonical, let cy = y.canonical, cx.unit.dimensions == cy.unit.dimensions else {
                return FHIRPathQuantity.compare(x, y) == 0
            }
            let scale = min(Self.scale(of: cx.value), Self.scale(of: cy.value))
            return round(cx.value, scale) == round(cy.value, scale)
        }
        guard let x = a.systemValue, let y = b.systemValue else { return false }
        switch (x, y) {
        case (.string(let p), .string(let q)): return normalised(p) == normalised(q)
        case (.integer, .decimal), (.decimal, .integer), (.decimal, .decimal):
            guard let p = decimal(x), let q = decimal(y) else { return false }
            let scale = min(Self.scale(of: p), Self.scale(of: q))
            return round(p, scale) == round(q, scale)
        case (.date(let p), .date(let q)), (.date(let p), .dateTime(let q)), (.dateTime(let p), .date(let q)),
            (.dateTime(let p), .dateTime(let q)), (.time(let p), .time(let q)):
            let pp = p.precision == .millisecond ? FHIRPathTemporal.Precision.second : p.precision
            let qp = q.precision == .millisecond ? FHIRPathTemporal.Precision.second : q.precision
            return pp == qp && FHIRPathTemporal.compare(p, q) == 0
        default: return equals(x, y) == true
        }
    }

    private static func normalised(_ text: String) -> String {
        text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func decimal(_ value: FHIRPathValue) -> Decimal? {
        switch value {
        case .integer(let n): Decimal(n)
        case .decimal(let d): d
        default: nil
        }
    }

    /// The number of decimals a Decimal carries (trailing zeros are not kept).
    static func scale(of value: Decimal) -> Int { max(0, -value.exponent) }

    static func round(_ value: Decimal, _ scale: Int, mode: NSDecimalNumber.RoundingMode = .plain) -> Decimal {
        var input = value
        var result = Decimal()
        NSDecimalRound(&result, &input, scale, mode)
        return result
    }

    // MARK: Ordering

    /// Orders two items: -1, 0, 1, nil when unknown (dates of different precision, incomparable
    /// units); an execution error when the types cannot be compared at all.
    func compare(_ a: FHIRPathValue, _ b: FHIRPathValue, at expression: Expression) throws(FHIRPathError) -> Int? {
        // Counts compared with counts, the commonest comparison in invariants.
        if case .integer(let p) = a, case .integer(let q) = b { return p == q ? 0 : (p < q ? -1 : 1) }
        if Self.isQuantity(a) || Self.isQuantity(b) {
            guard let x = a.quantityValue, let y = b.quantityValue else {
                throw error("A \(a.suiteType) cannot be compared with a \(b.suiteType)", at: expression)
            }
            return FHIRPathQuantity.compare(x, y)
        }
        guard let x = a.systemValue, let y = b.systemValue else { return nil }
        switch (x, y) {
        case (.string(let p), .string(let q)): return p == q ? 0 : (p < q ? -1 : 1)
        case (.integer(let p), .integer(let q)): return p == q ? 0 : (p < q ? -1 : 1)
        case (.integer, .decimal), (.decimal, .integer), (.decimal, .decimal):
            guard let p = Self.decimal(x), let q = Self.decimal(y) else { return nil }
            return p == q ? 0 : (p < q ? -1 : 1)
        case (.date(let p), .date(let q)), (.date(let p), .dateTime(let q)), (.dateTime(let p), .date(let q)),
            (.dateTime(let p), .dateTime(let q)), (.time(let p), .time(let q)):
            return FHIRPathTemporal.compare(p, q)
        default:
            throw error("A \(a.suiteType) cannot be compared with a \(b.suiteType)", at: expression)
        }
    }

    // MARK: Arithmetic

    func arithmetic(_ op: BinaryOperator, _ a: FHIRPathValue, _ b: FHIRPathValue, at expression: Expression) throws(FHIRPathError) -> FHIRPathValue? {
        let x = a.systemValue ?? a
        let y = b.systemValue ?? b
        func mismatch() -> FHIRPathError {
            error("'\(op.rawValue)' does not apply to a \(a.suiteType) and a \(b.suiteType)", at: expression)
        }
        switch (x, y) {
        case (.integer(let p), .integer(let q)):
            switch op {
            case .add, .subtract, .multiply:
                let (value, overflow) =
                    op == .add
                    ? p.addingReportingOverflow(q) : op == .subtract ? p.subtractingReportingOverflow(q) : p.multipliedReportingOverflow(by: q)
                guard !overflow, value >= Int(Int32.min), value <= Int(Int32.max) else {
                    throw error("The integer result is out of the 32-bit range", at: expression)
                }
                return .integer(value)
            case .divide: return q == 0 ? nil : .decimal(Decimal(p) / Decimal(q))
            case .div: return q == 0 ? nil : .integer(p / q)
            case .mod: return q == 0 ? nil : .integer(p % q)
            default: throw mismatch()
            }
        case (.integer, .decimal), (.decimal, .integer), (.decimal, .decimal):
            guard let p = Self.decimal(x), let q = Self.decimal(y) else { throw mismatch() }
            switch op {
            case .add: return .decimal(p + q)
            case .subtract: return .decimal(p - q)
            case .multiply: return .decimal(p * q)
            case .divide: return q == 0 ? nil : .decimal(p / q)
            case .div:
                guard q != 0 else { return nil }
                return .integer(NSDecimalNumber(decimal: Self.round(p / q, 0, mode: p / q < 0 ? .up : .down)).intValue)
            case .mod:
                guard q != 0 else { return nil }
                let quotient = Self.round(p / q, 0, mode: p / q < 0 ? .up : .down)
                return .decimal(p - quotient * q)
            default: throw mismatch()
            }
        case (.string(let p), .string(let q)) where op == .add:
            return .string(p + q)
        case (.date(let t), _), (.dateTime(let t), _), (.time(let t), _):
            guard op == .add || op == .subtract, let quantity = b.quantityValue else { throw mismatch() }
            let result = try adding(quantity, to: t, negate: op == .subtract, at: expression)
            switch x {
            case .date: return .date(result)
            case .dateTime: return .dateTime(result)
            default: return .time(result)
            }
        default:
            if let p = a.quantityValue, let q = b.quantityValue {
                return try quantityArithmetic(op, p, q, at: expression).map { .quantity($0) }
            }
            if let p = a.quantityValue, let n = Self.decimal(y), op == .multiply || op == .divide {
                if op == .divide, n == 0 { return nil }
                return .quantity(FHIRPathQuantity(value: op == .multiply ? p.value * n : p.value / n, unit: p.unit))
            }
            if let n = Self.decimal(x), let q = b.quantityValue, op == .multiply {
                return .quantity(FHIRPathQuantity(value: q.value * n, unit: q.unit))
            }
            throw mismatch()
        }
    }

    private func quantityArithmetic(_ op: BinaryOperator, _ p: FHIRPathQuantity, _ q: FHIRPathQuantity, at expression: Expression)
        throws(FHIRPathError) -> FHIRPathQuantity?
    {
        switch op {
        case .add, .subtract:
            if p.comparableUnit == q.comparableUnit {
                return FHIRPathQuantity(value: op == .add ? p.value + q.value : p.value - q.value, unit: p.unit)
            }
            guard let cp = p.canonical, let cq = q.canonical, cp.unit.dimensions == cq.unit.dimensions else {
                throw error("Quantities in '\(p.unit)' and '\(q.unit)' cannot be added or subtracted", at: expression)
            }
            let value = op == .add ? cp.value + cq.value : cp.value - cq.value
            return FHIRPathQuantity(value: value / cp.unit.factor, unit: p.unit)
        case .multiply, .divide:
            guard let cp = p.canonical, let cq = q.canonical else {
                throw error("Quantities in '\(p.unit)' and '\(q.unit)' cannot be multiplied or divided", at: expression)
            }
            if op == .divide, cq.value == 0 { return nil }
            var dimensions = cp.unit.dimensions
            for (name, power) in cq.unit.dimensions { dimensions[name, default: 0] += op == .multiply ? power : -power }
            let unit = UCUMUnit(factor: 1, dimensions: dimensions)
            return FHIRPathQuantity(value: op == .multiply ? cp.value * cq.value : cp.value / cq.value, unit: unit.code)
        default:
            throw error("'\(op.rawValue)' does not apply to quantities", at: expression)
        }
    }

    /// A date, date-time or time moved by a duration: calendar keywords and the UCUM units of
    /// definite length (`'wk'`, `'d'`, `'h'`, `'min'`, `'s'`, `'ms'`); UCUM `'a'` and `'mo'` are
    /// refused because their length is not a calendar year or month. Fractions are dropped.
    func adding(_ quantity: FHIRPathQuantity, to value: FHIRPathTemporal, negate: Bool, at expression: Expression) throws(FHIRPathError)
        -> FHIRPathTemporal
    {
        let unit: String
        switch quantity.calendarUnit ?? quantity.unit {
        case "year": unit = "year"
        case "month": unit = "month"
        case "week", "wk": unit = "week"
        case "day", "d": unit = "day"
        case "hour", "h": unit = "hour"
        case "minute", "min": unit = "minute"
        case "second", "s": unit = "second"
        case "millisecond", "ms": unit = "millisecond"
        case "a", "mo":
            throw error("'\(quantity.unit)' is a UCUM unit of average length; add a calendar duration (1 year, 1 month) instead", at: expression)
        default:
            throw error("A date or time cannot be moved by a quantity in '\(quantity.unit)'", at: expression)
        }
        let whole = NSDecimalNumber(decimal: Self.round(quantity.value, 0, mode: quantity.value < 0 ? .up : .down)).intValue
        // Far beyond any calendar, and small enough that no sum below can overflow.
        guard Swift.abs(whole) <= 1_000_000_000 else {
            throw error("A duration of \(quantity) is too large to add to a date or time", at: expression)
        }
        let amount = negate ? -whole : whole
        var result = value
        switch unit {
        case "year": result.addMonths(12 * amount)
        case "month": result.addMonths(amount)
        default:
            let milliseconds: Int =
                switch unit {
                case "week": amount * 604_800_000
                case "day": amount * 86_400_000
                case "hour": amount * 3_600_000
                case "minute": amount * 60_000
                case "second": amount * 1000
                default: amount
                }
            if value.kind == .date || value.precision <= .day {
                let days = milliseconds / 86_400_000
                result.setLocalMilliseconds(value.localMilliseconds + days * 86_400_000)
            } else {
                result.setLocalMilliseconds(value.localMilliseconds + milliseconds)
            }
        }
        return result
    }
}
