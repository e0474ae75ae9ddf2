/// A FHIRPath Date, DateTime or Time: its fields, the precision it was written with and, for a
/// DateTime, the time zone offset if one was given. Seconds and milliseconds form one precision for
/// comparison, as the specification says.
public struct FHIRPathTemporal: Sendable, Hashable, CustomStringConvertible {
    public enum Precision: Int, Sendable, Hashable, Comparable {
        case year, month, day, hour, minute, second, millisecond
        public static func < (lhs: Precision, rhs: Precision) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public enum Kind: Sendable, Hashable { case date, dateTime, time }

    public var kind: Kind
    public var year = 0
    public var month = 1
    public var day = 1
    public var hour = 0
    public var minute = 0
    public var second = 0
    public var millisecond = 0
    public var precision: Precision
    /// Minutes east of UTC; nil when the value has no time zone.
    public var timeZoneOffset: Int?

    public init(kind: Kind, precision: Precision) {
        self.kind = kind
        self.precision = precision
    }

    // MARK: Parsing

    /// Parses a date (`2015`, `2015-02`, `2015-02-04`).
    public static func date(_ text: some StringProtocol) -> FHIRPathTemporal? {
        guard let value = parse(Array(text.utf8), allowTime: false, kind: .date), value.precision <= .day else { return nil }
        return value
    }

    /// Parses a date-time: a date, optionally followed by `T`, a partial time and a time zone.
    public static func dateTime(_ text: some StringProtocol) -> FHIRPathTemporal? {
        parse(Array(text.utf8), allowTime: true, kind: .dateTime)
    }

    /// Parses a time (`14`, `14:34`, `14:34:28.123`), without a time zone.
    public static func time(_ text: some StringProtocol) -> FHIRPathTemporal? {
        var value = FHIRPathTemporal(kind: .time, precision: .hour)
        let bytes = Array(text.utf8)
        var i = 0
        guard parseTime(bytes, &i, into: &value), i == bytes.count else { return nil }
        return value
    }

    private static func number(_ bytes: [UInt8], _ i: inout Int, _ count: Int) -> Int? {
        guard i + count <= bytes.count else { return nil }
        var value = 0
        for k in i..<(i + count) {
            guard bytes[k] >= 0x30, bytes[k] <= 0x39 else { return nil }
            value = value * 10 + Int(bytes[k] - 0x30)
        }
        i += count
        return value
    }

    private static func parseTime(_ bytes: [UInt8], _ i: inout Int, into value: inout FHIRPathTemporal) -> Bool {
        guard let hour = number(bytes, &i, 2), hour < 24 else { return false }
        value.hour = hour
        value.precision = .hour
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return true }
        i += 1
        guard let minute = number(bytes, &i, 2), minute < 60 else { return false }
        value.minute = minute
        value.precision = .minute
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return true }
        i += 1
        guard let second = number(bytes, &i, 2), second <= 60 else { return false }
        value.second = second
        value.precision = .second
        guard i < bytes.count, bytes[i] == UInt8(ascii: ".") else { return true }
        i += 1
        let start = i
        var millis = 0
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            if i - start < 3 { millis = millis * 10 + Int(bytes[i] - 0x30) }
            i += 1
        }
        guard i > start else { return false }
        for _ in min(i - start, 3)..<3 { millis *= 10 }
        value.millisecond = millis
        value.precision = .millisecond
        return true
    }

    private static func parse(_ bytes: [UInt8], allowTime: Bool, kind: Kind) -> FHIRPathTemporal? {
        var value = FHIRPathTemporal(kind: kind, precision: .year)
        var i = 0
        guard let year = number(bytes, &i, 4) else { return nil }
        value.year = year
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") {
            i += 1
            guard let month = number(bytes, &i, 2), (1...12).contains(month) else { return nil }
            value.month = month
            value.precision = .month
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") {
                i += 1
                guard let day = number(bytes, &i, 2), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
                value.day = day
                value.precision = .day
            }
        }
        if i == bytes.count { return value }
        guard allowTime, bytes[i] == UInt8(ascii: "T") else { return nil }
        i += 1
        if i == bytes.count { return value }
        guard value.precision == .day, parseTime(bytes, &i, into: &value) else { return nil }
        if i == bytes.count { return value }
        if bytes[i] == UInt8(ascii: "Z") {
            value.timeZoneOffset = 0
            i += 1
        } else if bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            let sign = bytes[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let hours = number(bytes, &i, 2), i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            guard let minutes = number(bytes, &i, 2), hours <= 14, minutes < 60 else { return nil }
            value.timeZoneOffset = sign * (hours * 60 + minutes)
        } else {
            return nil
        }
        return i == bytes.count ? value : nil
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // MARK: Text

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private var timeText: String {
        var text = Self.pad(hour, 2)
        if precision >= .minute { text += ":" + Self.pad(minute, 2) }
        if precision >= .second { text += ":" + Self.pad(second, 2) }
        if precision >= .millisecond { text += "." + Self.pad(millisecond, 3) }
        return text
    }

    /// The value as FHIR and `toString()` write it: `2015-02`, `2015-02-04`,
    /// `2015-02-04T14:34:28.123+10:00`, `14:34`.
    public var description: String {
        if kind == .time { return timeText }
        var text = Self.pad(year, 4)
        if precision >= .month { text += "-" + Self.pad(month, 2) }
        if precision >= .day { text += "-" + Self.pad(day, 2) }
        if kind == .dateTime, precision >= .hour {
            text += "T" + timeText
            if let offset = timeZoneOffset {
                if offset == 0 {
                    text += "Z"
                } else {
                    text += (offset < 0 ? "-" : "+") + Self.pad(abs(offset) / 60, 2) + ":" + Self.pad(abs(offset) % 60, 2)
                }
            }
        }
        return text
    }

    /// The literal notation: `@2015-02-04`, `@2015-02-04T14:34`, `@T14:34`; a dateTime precise
    /// to the year or month ends in `T` (`@2015-02T`), which tells it from a date.
    public var literal: String {
        if kind == .time { return "@T" + description }
        return "@" + description + (kind == .dateTime && precision < .day ? "T" : "")
    }

    // MARK: Calendar arithmetic

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(_ y: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y - 1 : y
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z: Int) -> (year: Int, month: Int, day: Int) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }

    /// Milliseconds since 1970-01-01T00:00 of the fields as written (time zone not applied).
    var localMilliseconds: Int {
        let days = kind == .time ? 0 : Self.daysFromCivil(year, month, day)
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millisecond
    }

    mutating func setLocalMilliseconds(_ total: Int) {
        var days = total / 86_400_000
        var rest = total % 86_400_000
        if rest < 0 {
            rest += 86_400_000
            days -= 1
        }
        if kind != .time {
            (year, month, day) = Self.civilFromDays(days)
        }
        hour = rest / 3_600_000
        minute = rest / 60_000 % 60
        second = rest / 1000 % 60
        millisecond = rest % 1000
    }

    /// Adds whole months, keeping the day within the new month.
    mutating func addMonths(_ months: Int) {
        let total = year * 12 + (month - 1) + months
        year = total / 12
        month = total % 12 + 1
        day = min(day, Self.daysIn(month: month, year: year))
    }

    /// The same instant in UTC when the value has a time zone and a time.
    var normalisedToUTC: FHIRPathTemporal {
        guard kind == .dateTime, let offset = timeZoneOffset, offset != 0, precision >= .hour else { return self }
        var copy = self
        copy.setLocalMilliseconds(localMilliseconds - offset * 60_000)
        copy.timeZoneOffset = 0
        return copy
    }

    // MARK: Comparison

    /// Compares two values of the same kind field by field, to the coarser precision: -1, 0 or 1,
    /// or nil when they are equal as far as both go but one is more precise (the answer is
    /// unknown), or when only one has a time zone and the comparison reaches the time.
    static func compare(_ lhs: FHIRPathTemporal, _ rhs: FHIRPathTemporal) -> Int? {
        var a = lhs
        var b = rhs
        let common = min(a.precision == .millisecond ? .second : a.precision, b.precision == .millisecond ? .second : b.precision)
        if a.kind != .time, b.kind != .time, common >= .hour {
            switch (a.timeZoneOffset, b.timeZoneOffset) {
            case (.some, .some):
                a = a.normalisedToUTC
                b = b.normalisedToUTC
            case (nil, nil): break
            default: return nil
            }
        }
        let fields: [(Precision, Int, Int)] =
            a.kind == .time
            ? [(.hour, a.hour, b.hour), (.minute, a.minute, b.minute), (.second, a.second * 1000 + a.millisecond, b.second * 1000 + b.millisecond)]
            : [
                (.year, a.year, b.year), (.month, a.month, b.month), (.day, a.day, b.day), (.hour, a.hour, b.hour),
                (.minute, a.minute, b.minute), (.second, a.second * 1000 + a.millisecond, b.second * 1000 + b.millisecond),
            ]
        for (precision, x, y) in fields where precision <= common {
            if x != y { return x < y ? -1 : 1 }
        }
        let pa = a.precision == .millisecond ? Precision.second : a.precision
        let pb = b.precision == .millisecond ? Precision.second : b.precision
        return pa == pb ? 0 : nil
    }
}
