import FHIRCore
import Foundation

extension Evaluator {
    /// The decimals written for a decimal: from the literal or the node's text, since a Decimal
    /// drops trailing zeros (`12.500` has 3).
    private func writtenScale(of item: FHIRPathValue, invocant expression: Expression) -> Int {
        if case .node(let node) = item, let text = node.value {
            return text.firstIndex(of: ".").map { text.distance(from: $0, to: text.endIndex) - 1 } ?? 0
        }
        if case .function(let base?, _) = expression.kind, case .literal(_, let scale) = base.kind { return scale }
        switch item {
        case .decimal(let d): return Self.scale(of: d)
        case .quantity(let q): return Self.scale(of: q.value)
        default: return 0
        }
    }

    /// `lowBoundary()`, `highBoundary()`, `precision()` and `comparable()` (FHIRPath 2.1): the
    /// range a value of limited precision stands for.
    func invokeBoundary(
        _ call: FunctionCall, on target: [FHIRPathValue], argument: (Int) throws(FHIRPathError) -> [FHIRPathValue], at expression: Expression
    ) throws(FHIRPathError) -> [FHIRPathValue] {
        guard let item = try singleton(target, at: expression) else { return [] }
        let value = item.systemValue ?? item
        if call.function == .comparable {
            guard let a = item.quantityValue, let other = try singleton(try argument(0), at: call.arguments[0]), let b = other.quantityValue else {
                return []
            }
            if a.comparableUnit == b.comparableUnit { return [.boolean(true)] }
            guard let ca = a.canonical, let cb = b.canonical else { return [.boolean(false)] }
            return [.boolean(ca.unit.dimensions == cb.unit.dimensions)]
        }
        if call.function == .precision {
            switch value {
            case .integer, .decimal: return [.integer(writtenScale(of: item, invocant: expression))]
            case .date(let t), .dateTime(let t), .time(let t): return [.integer(Self.digits(of: t))]
            default: return []
            }
        }
        let low = call.function == .lowBoundary
        let requested = call.arguments.isEmpty ? nil : try integerArgument(try argument(0), at: call.arguments[0])
        switch value {
        case .integer, .decimal:
            guard let number = Self.decimal(value) else { return [] }
            let scale = writtenScale(of: item, invocant: expression)
            return Self.boundary(number, scale: scale, precision: requested ?? 8, low: low).map { [.decimal($0)] } ?? []
        case .date(let t), .dateTime(let t), .time(let t):
            guard let result = Self.boundary(t, digits: requested, low: low) else { return [] }
            switch value {
            case .date: return [.date(result)]
            case .dateTime: return [.dateTime(result)]
            default: return [.time(result)]
            }
        default:
            guard let q = item.quantityValue else { return [] }
            let scale = writtenScale(of: item, invocant: expression)
            return Self.boundary(q.value, scale: scale, precision: requested ?? 8, low: low).map {
                [.quantity(FHIRPathQuantity(value: $0, unit: q.unit))]
            } ?? []
        }
    }

    /// A decimal written with `scale` decimals stands for ± half a unit in its last place; the
    /// boundary is cut to `precision` decimals towards the outside of that range.
    static func boundary(_ value: Decimal, scale: Int, precision: Int, low: Bool) -> Decimal? {
        guard precision >= 0, precision <= 31 else { return nil }
        var half = Decimal(5)
        for _ in 0...scale { half /= 10 }
        let edge = low ? value - half : value + half
        var unit: Decimal = 1
        for _ in 0..<precision { unit /= 10 }
        // Below the precision asked for, the boundary is zero (0.0034 to one decimal).
        if Swift.abs(value) < unit, precision > 0 { return 0 }
        return round(edge, precision, mode: low ? .down : .up)
    }

    /// The number of digits of a date/time's precision: 4 (year) … 17 (milliseconds); 2 … 9 for a
    /// time.
    static func digits(of t: FHIRPathTemporal) -> Int {
        let table: [FHIRPathTemporal.Precision: Int] =
            t.kind == .time
            ? [.hour: 2, .minute: 4, .second: 6, .millisecond: 9]
            : [.year: 4, .month: 6, .day: 8, .hour: 10, .minute: 12, .second: 14, .millisecond: 17]
        return table[t.precision] ?? 0
    }

    /// The earliest or latest moment a partial date/time can stand for, to `digits` of precision
    /// (the most by default); a date-time without a time zone takes the widest one (+14:00 for the
    /// low boundary, -12:00 for the high).
    static func boundary(_ value: FHIRPathTemporal, digits requested: Int?, low: Bool) -> FHIRPathTemporal? {
        var t = value
        let precisions: [(Int, FHIRPathTemporal.Precision)] =
            t.kind == .time
            ? [(2, .hour), (4, .minute), (6, .second), (9, .millisecond)]
            : t.kind == .date
                ? [(4, .year), (6, .month), (8, .day)]
                : [(4, .year), (6, .month), (8, .day), (10, .hour), (12, .minute), (14, .second), (17, .millisecond)]
        let digits = requested ?? (precisions.last?.0 ?? 17)
        guard let target = precisions.first(where: { $0.0 == digits })?.1 else { return nil }
        // An hour alone is read as hh:00.
        if t.precision == .hour { t.precision = .minute }
        if t.precision < .month { t.month = low ? 1 : 12 }
        if t.precision < .day { t.day = low ? 1 : FHIRPathTemporal.daysIn(month: t.month, year: t.year) }
        if t.precision < .hour { t.hour = low ? 0 : 23 }
        if t.precision < .minute { t.minute = low ? 0 : 59 }
        if t.precision < .second { t.second = low ? 0 : 59 }
        if t.precision < .millisecond { t.millisecond = low ? 0 : 999 }
        if t.kind == .dateTime, target >= .hour, t.timeZoneOffset == nil { t.timeZoneOffset = low ? 14 * 60 : -12 * 60 }
        t.precision = target
        return t
    }
}
