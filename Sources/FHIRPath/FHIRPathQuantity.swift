import Foundation

/// A FHIRPath Quantity: a decimal value and a unit, either a UCUM code (`'mg'`, `'wk'`) or one of
/// the calendar duration keywords (`week`, `days`, `month`). Calendar keywords are kept as written
/// so that `1 week.toString()` gives `1 week` and `1 'wk'.toString()` gives `1 'wk'`.
public struct FHIRPathQuantity: Sendable, Hashable, CustomStringConvertible {
    public var value: Decimal
    public var unit: String

    public init(value: Decimal, unit: String) {
        self.value = value
        self.unit = unit
    }

    /// The calendar keywords, singular and plural, by their singular form.
    static let calendarKeywords: [String: String] = [
        "year": "year", "years": "year", "month": "month", "months": "month", "week": "week", "weeks": "week",
        "day": "day", "days": "day", "hour": "hour", "hours": "hour", "minute": "minute", "minutes": "minute",
        "second": "second", "seconds": "second", "millisecond": "millisecond", "milliseconds": "millisecond",
    ]

    /// The singular calendar keyword of the unit, or nil for a UCUM unit.
    public var calendarUnit: String? { Self.calendarKeywords[unit] }

    /// `4.5 'mg'`, `1 week`, as `toString()` and the suite write it.
    public var description: String {
        let number = value.description
        return calendarUnit != nil ? "\(number) \(unit)" : "\(number) '\(unit)'"
    }

    /// The unit for comparison and conversion: calendar keywords from week down to millisecond are
    /// the same as their UCUM units; `year` and `month` stay calendar units (not `'a'`, `'mo'`).
    var comparableUnit: String {
        switch calendarUnit {
        case "week": "wk"
        case "day": "d"
        case "hour": "h"
        case "minute": "min"
        case "second": "s"
        case "millisecond": "ms"
        case "year": "calendar-year"
        case "month": "calendar-month"
        default: unit
        }
    }

    /// The value in the unit's canonical form (`g`, `m`, `s`), when the unit is known.
    var canonical: (value: Decimal, unit: UCUMUnit)? {
        let code = comparableUnit
        if code == "calendar-year" || code == "calendar-month" { return nil }
        guard let unit = UCUMUnit(code) else { return nil }
        return (value * unit.factor, unit)
    }

    /// Compares two quantities after conversion to a common unit: -1, 0, 1, or nil when the units
    /// cannot be compared.
    static func compare(_ a: FHIRPathQuantity, _ b: FHIRPathQuantity) -> Int? {
        let ua = a.comparableUnit
        let ub = b.comparableUnit
        if ua == ub { return a.value < b.value ? -1 : a.value == b.value ? 0 : 1 }
        if (ua == "calendar-year" && ub == "calendar-month") || (ua == "calendar-month" && ub == "calendar-year") {
            let ma = ua == "calendar-year" ? a.value * 12 : a.value
            let mb = ub == "calendar-year" ? b.value * 12 : b.value
            return ma < mb ? -1 : ma == mb ? 0 : 1
        }
        guard let ca = a.canonical, let cb = b.canonical, ca.unit.dimensions == cb.unit.dimensions else { return nil }
        return ca.value < cb.value ? -1 : ca.value == cb.value ? 0 : 1
    }
}
