import Foundation

extension Evaluator {
    /// `toX()` and `convertsToX()` on one item: a value that does not convert gives empty (or
    /// false).
    func invokeConversion(
        _ call: FunctionCall, on target: [FHIRPathValue], argument: (Int) throws(FHIRPathError) -> [FHIRPathValue], at expression: Expression
    ) throws(FHIRPathError) -> [FHIRPathValue] {
        guard let item = try singleton(target, at: expression) else { return [] }
        let value = item.systemValue ?? item
        let converted: FHIRPathValue?
        switch call.function {
        case .toBoolean, .convertsToBoolean: converted = Self.toBoolean(value)
        case .toInteger, .convertsToInteger: converted = Self.toInteger(value)
        case .toDecimal, .convertsToDecimal: converted = Self.toDecimal(value)
        case .toString, .convertsToString: converted = Self.toText(item).map { .string($0) }
        case .toDate, .convertsToDate: converted = Self.toDate(value)
        case .toDateTime, .convertsToDateTime: converted = Self.toDateTime(value)
        case .toTime, .convertsToTime: converted = Self.toTime(value)
        case .toQuantity, .convertsToQuantity:
            var quantity = Self.toQuantity(item)
            if let q = quantity, !call.arguments.isEmpty, let unit = try stringArgument(try argument(0), at: call.arguments[0]), unit != q.unit {
                let wanted = FHIRPathQuantity(value: 1, unit: unit)
                if let from = q.canonical, let to = wanted.canonical, from.unit.dimensions == to.unit.dimensions {
                    quantity = FHIRPathQuantity(value: from.value / to.unit.factor, unit: unit)
                } else {
                    quantity = nil
                }
            }
            converted = quantity.map { .quantity($0) }
        default:
            throw error("\(call.function.rawValue)() is not a conversion", at: expression)
        }
        if call.function.rawValue.hasPrefix("convertsTo") { return [.boolean(converted != nil)] }
        return converted.map { [$0] } ?? []
    }

    static func toBoolean(_ value: FHIRPathValue) -> FHIRPathValue? {
        switch value {
        case .boolean: return value
        case .integer(let n): return n == 0 ? .boolean(false) : n == 1 ? .boolean(true) : nil
        case .decimal(let d): return d == 0 ? .boolean(false) : d == 1 ? .boolean(true) : nil
        case .string(let s):
            switch s.lowercased() {
            case "true", "t", "yes", "y", "1", "1.0": return .boolean(true)
            case "false", "f", "no", "n", "0", "0.0": return .boolean(false)
            default: return nil
            }
        default: return nil
        }
    }

    static func toInteger(_ value: FHIRPathValue) -> FHIRPathValue? {
        switch value {
        case .integer: return value
        case .boolean(let b): return .integer(b ? 1 : 0)
        case .string(let s):
            let digits = s.hasPrefix("+") || s.hasPrefix("-") ? s.dropFirst() : Substring(s)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(s), n >= Int(Int32.min), n <= Int(Int32.max)
            else { return nil }
            return .integer(n)
        default: return nil
        }
    }

    static func toDecimal(_ value: FHIRPathValue) -> FHIRPathValue? {
        switch value {
        case .decimal: return value
        case .integer(let n): return .decimal(Decimal(n))
        case .boolean(let b): return .decimal(b ? 1 : 0)
        case .string(let s): return isDecimalText(s) ? Decimal(string: s, locale: nil).map { .decimal($0) } : nil
        default: return nil
        }
    }

    /// `(+|-)?digits(.digits)?`, the FHIRPath decimal form.
    static func isDecimalText(_ s: some StringProtocol) -> Bool {
        var text = Substring(s)
        if text.hasPrefix("+") || text.hasPrefix("-") { text = text.dropFirst() }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return false }
        return true
    }

    /// The string form of an item, as `toString()` gives it.
    static func toText(_ item: FHIRPathValue) -> String? {
        switch item.systemValue ?? item {
        case .string(let s): s
        case .boolean(let b): b ? "true" : "false"
        case .integer(let n): String(n)
        case .decimal(let d): FHIRPathValue.decimalText(d)
        case .date(let t), .dateTime(let t), .time(let t): t.description
        case .quantity(let q): q.description
        case .node: nil
        }
    }

    static func toDate(_ value: FHIRPathValue) -> FHIRPathValue? {
        switch value {
        case .date: return value
        case .dateTime(var t):
            t.kind = .date
            t.precision = min(t.precision, .day)
            t.timeZoneOffset = nil
            return .date(t)
        case .string(let s):
            if let date = FHIRPathTemporal.date(s) { return .date(date) }
            return FHIRPathTemporal.dateTime(s).flatMap { toDate(.dateTime($0)) }
        default: return nil
        }
    }

    static func toDateTime(_ value: FHIRPathValue) -> FHIRPathValue? {
        switch value {
        case .dateTime: return value
        case .date(var t):
            t.kind = .dateTime
            return .dateTime(t)
        case .string(let s): return FHIRPathTemporal.dateTime(s).map { .dateTime($0) }
        default: return nil
        }
    }

    static func toTime(_ value: FHIRPathValue) -> FHIRPathValue? {
        switch value {
        case .time: return value
        case .string(let s): return FHIRPathTemporal.time(s.hasPrefix("T") ? String(s.dropFirst()) : s).map { .time($0) }
        default: return nil
        }
    }

    /// A quantity from a quantity, a number (unit `'1'`), or a string `number 'unit'`,
    /// `number calendar-keyword` or `number`.
    static func toQuantity(_ item: FHIRPathValue) -> FHIRPathQuantity? {
        if let q = item.quantityValue { return q }
        switch item.systemValue ?? item {
        case .integer(let n): return FHIRPathQuantity(value: Decimal(n), unit: "1")
        case .decimal(let d): return FHIRPathQuantity(value: d, unit: "1")
        case .boolean(let b): return FHIRPathQuantity(value: b ? 1 : 0, unit: "1")
        case .string(let s):
            let text = s.trimmingCharacters(in: .whitespaces)
            let number = text.prefix { !$0.isWhitespace }
            guard isDecimalText(number), let value = Decimal(string: String(number), locale: nil) else { return nil }
            let rest = text.dropFirst(number.count).trimmingCharacters(in: .whitespaces)
            if rest.isEmpty { return FHIRPathQuantity(value: value, unit: "1") }
            if rest.count >= 2, rest.hasPrefix("'"), rest.hasSuffix("'") {
                return FHIRPathQuantity(value: value, unit: String(rest.dropFirst().dropLast()))
            }
            if FHIRPathQuantity.calendarKeywords[rest] != nil { return FHIRPathQuantity(value: value, unit: rest) }
            return nil
        default: return nil
        }
    }
}
