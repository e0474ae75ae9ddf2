import Foundation

extension Evaluator {
    /// The math functions on one number (or a quantity for `abs()`); empty in, empty out.
    func invokeMath(
        _ call: FunctionCall, on target: [FHIRPathValue], argument: (Int) throws(FHIRPathError) -> [FHIRPathValue], at expression: Expression
    ) throws(FHIRPathError) -> [FHIRPathValue] {
        guard let item = try singleton(target, at: expression) else { return [] }
        let value = item.systemValue ?? item
        if call.function == .abs {
            switch value {
            case .integer(let n): return [.integer(Swift.abs(n))]
            case .decimal(let d): return [.decimal(Swift.abs(d))]
            default:
                if let q = item.quantityValue { return [.quantity(FHIRPathQuantity(value: Swift.abs(q.value), unit: q.unit))] }
            }
        }
        guard let number = Self.decimal(value) else {
            throw error("\(call.function.rawValue)() applies to a number, not to a \(item.suiteType)", at: expression)
        }
        switch call.function {
        case .ceiling: return [.integer(Self.integer(Self.round(number, 0, mode: .up)))]
        case .floor: return [.integer(Self.integer(Self.round(number, 0, mode: .down)))]
        case .truncate: return [.integer(Self.integer(Self.round(number, 0, mode: number < 0 ? .up : .down)))]
        case .round:
            let digits = call.arguments.isEmpty ? 0 : try integerArgument(try argument(0), at: call.arguments[0]) ?? 0
            guard digits >= 0 else { throw error("round() takes a precision of 0 or more", at: expression) }
            return [.decimal(Self.round(number, digits))]
        case .exp: return Self.fromDouble(Foundation.exp(Self.double(number)))
        case .ln: return Self.fromDouble(Foundation.log(Self.double(number)))
        case .sqrt: return Self.fromDouble(Foundation.sqrt(Self.double(number)))
        case .log:
            guard let base = try singleton(try argument(0), at: call.arguments[0]), let b = Self.decimal(base.systemValue ?? base) else { return [] }
            return Self.fromDouble(Foundation.log10(Self.double(number)) / Foundation.log10(Self.double(b)))
        case .power:
            guard let exponentItem = try singleton(try argument(0), at: call.arguments[0]) else { return [] }
            let exponent = exponentItem.systemValue ?? exponentItem
            if case .integer(let base) = value, case .integer(let e) = exponent, e >= 0 {
                // By squaring: at most 2 × 32 multiplications whatever the exponent.
                var result = 1
                var factor = base
                var remaining = e
                while remaining > 0 {
                    if remaining & 1 == 1 {
                        let (next, overflow) = result.multipliedReportingOverflow(by: factor)
                        guard !overflow, next >= Int(Int32.min), next <= Int(Int32.max) else {
                            throw error("power() overflows the 32-bit integer range", at: expression)
                        }
                        result = next
                    }
                    remaining >>= 1
                    if remaining > 0 {
                        let (square, overflow) = factor.multipliedReportingOverflow(by: factor)
                        // A factor beyond the range only matters if it is used again.
                        factor = overflow ? Int(Int32.max) + 1 : square
                    }
                }
                return [.integer(result)]
            }
            guard let e = Self.decimal(exponent) else { return [] }
            return Self.fromDouble(Foundation.pow(Self.double(number), Self.double(e)))
        default:
            throw error("\(call.function.rawValue)() is not a math function", at: expression)
        }
    }

    static func integer(_ value: Decimal) -> Int { NSDecimalNumber(decimal: value).intValue }

    static func double(_ value: Decimal) -> Double { NSDecimalNumber(decimal: value).doubleValue }

    /// A Double result as a Decimal, to 15 significant digits (so `exp(0)` is exactly 1); NaN
    /// and infinities give empty.
    static func fromDouble(_ value: Double) -> [FHIRPathValue] {
        guard value.isFinite, let decimal = Decimal(string: String(format: "%.15g", value), locale: nil) else { return [] }
        return [.decimal(decimal)]
    }
}
