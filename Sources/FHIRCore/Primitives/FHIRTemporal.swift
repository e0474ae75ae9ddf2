/// A FHIR `date`, `dateTime`, `instant` or `time` value split into its parts, keeping the precision
/// it was written with (`2015`, `2015-02`, `2015-02-07T13:28:17.239+02:00`). Parsing follows the R4
/// regular expressions exactly and also refuses impossible calendar days (`2015-02-30`).
public struct FHIRTemporal: Sendable, Hashable, CustomStringConvertible {
    public enum Precision: Int, Sendable, Hashable, Comparable {
        case year, month, day, minute, second, fraction
        public static func < (lhs: Precision, rhs: Precision) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var year: Int?
    public var month: Int?
    public var day: Int?
    public var hour: Int?
    public var minute: Int?
    public var second: Int?
    /// The digits after the decimal point of the seconds, as written (`239`).
    public var fraction: String?
    /// `Z`, `+02:00` or `-05:00`, as written; nil when the value has no time zone.
    public var timeZone: String?
    public let precision: Precision
    /// The exact text the value was parsed from.
    public let text: String

    public var description: String { text }

    /// Parses a `date`: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    public static func date(_ text: String) -> FHIRTemporal? {
        parse(text) { p in
            guard let value = p.parseDate(), p.atEnd else { return nil }
            return value
        }
    }

    /// Runs `body` over the text's contiguous UTF-8 (no copy for a native string).
    private static func parse(_ text: String, _ body: (inout Parser) -> FHIRTemporal?) -> FHIRTemporal? {
        var copy = text
        return copy.withUTF8 { buffer in
            var parser = Parser(buffer, text: text)
            return body(&parser)
        }
    }

    /// Parses a `dateTime`: a date, or a full date with a time and a time zone.
    public static func dateTime(_ text: String) -> FHIRTemporal? {
        parse(text) { p in
            guard var value = p.parseDate() else { return nil }
            if p.atEnd { return value }
            guard value.precision == .day, p.take(UInt8(ascii: "T")), p.parseTime(into: &value), p.parseZone(into: &value), p.atEnd
            else { return nil }
            return value.with(precision: value.fraction == nil ? .second : .fraction)
        }
    }

    /// Parses an `instant`: a full date, time to the second and a time zone.
    public static func instant(_ text: String) -> FHIRTemporal? {
        guard let value = dateTime(text), value.precision >= .second else { return nil }
        return value
    }

    /// Parses a `time`: `hh:mm:ss` with optional fraction, no time zone.
    public static func time(_ text: String) -> FHIRTemporal? {
        parse(text) { p in
            var value = FHIRTemporal(precision: .second, text: text)
            guard p.parseTime(into: &value), p.atEnd else { return nil }
            return value.with(precision: value.fraction == nil ? .second : .fraction)
        }
    }

    private init(precision: Precision, text: String) {
        self.precision = precision
        self.text = text
    }

    private func with(precision: Precision) -> FHIRTemporal {
        var copy = FHIRTemporal(precision: precision, text: text)
        copy.year = year
        copy.month = month
        copy.day = day
        copy.hour = hour
        copy.minute = minute
        copy.second = second
        copy.fraction = fraction
        copy.timeZone = timeZone
        return copy
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        let text: String
        var i = 0

        init(_ bytes: UnsafeBufferPointer<UInt8>, text: String) {
            self.text = text
            self.bytes = bytes
        }

        var atEnd: Bool { i == bytes.count }

        mutating func take(_ byte: UInt8) -> Bool {
            guard i < bytes.count, bytes[i] == byte else { return false }
            i += 1
            return true
        }

        mutating func digits(_ count: Int) -> Int? {
            guard i + count <= bytes.count else { return nil }
            var value = 0
            for k in i..<(i + count) {
                let b = bytes[k]
                guard b >= 0x30, b <= 0x39 else { return nil }
                value = value * 10 + Int(b - 0x30)
            }
            i += count
            return value
        }

        mutating func parseDate() -> FHIRTemporal? {
            guard let year = digits(4), year > 0 else { return nil }
            var value = FHIRTemporal(precision: .year, text: text)
            value.year = year
            guard take(UInt8(ascii: "-")) else { return value }
            guard let month = digits(2), (1...12).contains(month) else { return nil }
            value.month = month
            guard take(UInt8(ascii: "-")) else { return value.with(precision: .month) }
            guard let day = digits(2), day >= 1, day <= FHIRTemporal.daysIn(month: month, year: year) else { return nil }
            value.day = day
            return value.with(precision: .day)
        }

        mutating func parseTime(into value: inout FHIRTemporal) -> Bool {
            guard let hour = digits(2), hour <= 23, take(UInt8(ascii: ":")),
                let minute = digits(2), minute <= 59, take(UInt8(ascii: ":")),
                let second = digits(2), second <= 60
            else { return false }
            value.hour = hour
            value.minute = minute
            value.second = second
            if take(UInt8(ascii: ".")) {
                let start = i
                while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
                guard i > start else { return false }
                value.fraction = String(decoding: bytes[start..<i], as: UTF8.self)
            }
            return true
        }

        mutating func parseZone(into value: inout FHIRTemporal) -> Bool {
            if take(UInt8(ascii: "Z")) {
                value.timeZone = "Z"
                return true
            }
            let start = i
            guard take(UInt8(ascii: "+")) || take(UInt8(ascii: "-")) else { return false }
            guard let hours = digits(2), take(UInt8(ascii: ":")), let minutes = digits(2) else { return false }
            guard (hours <= 13 && minutes <= 59) || (hours == 14 && minutes == 0) else { return false }
            value.timeZone = String(decoding: bytes[start..<i], as: UTF8.self)
            return true
        }
    }
}
