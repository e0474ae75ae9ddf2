import FHIRCore
import Foundation
import Testing

/// The hand-written primitive checks agree with the R4 schema's regular expressions, except where
/// the specification's prose is stricter than the expression (32-bit integer ranges, real calendar
/// days) or the expression is known to be wrong (boolean and unsignedInt bind `|` wrongly).
@Suite struct PrimitiveFormatTests {
    static let samples: [String: [String]] = [
        "integer": ["0", "-0", "1", "-1", "2147483647", "01", "+1", "1.0", "", " 1", "12a"],
        "positiveInt": ["1", "10", "0", "-1", "01", "2147483647"],
        "decimal": ["0", "0.010", "-1.5", "1E-22", "-1.000000000000000000E+245", "1.0e0", "925.", ".5", "01", "1e", "+1", "-", "1.5e+3"],
        "date": ["2015", "2015-02", "2015-02-07", "0000", "2015-13", "2015-02-7", "15-02-07", "2015-02-07T10:00:00Z"],
        "dateTime": [
            "2015", "2015-02-07T13:28:17-05:00", "2015-02-07T13:28:17.239+02:00", "2015-02-07T13:28:17", "2015-02-07T13:28Z",
            "2015-02-07T24:00:00Z", "2015-02-07T13:28:17+14:00", "2015-02-07T13:28:17+14:30", "2015-02T10:00:00Z",
        ],
        "instant": ["2015-02-07T13:28:17.239+02:00", "2015-02-07T13:28:17Z", "2015-02-07", "2015-02-07T13:28:17"],
        "time": ["13:28:17", "13:28:17.5", "24:00:00", "13:28", "13:28:17Z"],
        "id": ["a", "a-b.c", "A1", String(repeating: "a", count: 64), String(repeating: "a", count: 65), "a_b", "a b", ""],
        "code": ["final", "two words", " lead", "trail ", "two  spaces", "tab\tsep", ""],
        "oid": ["urn:oid:1.2.3", "urn:oid:2.16.840.1.113883", "urn:oid:3.1", "urn:oid:1", "urn:oid:1.02", "oid:1.2"],
        "uuid": ["urn:uuid:a76d9bbf-f293-4fb7-ad4c-2851cac77162", "urn:uuid:A76D9BBF-F293-4FB7-AD4C-2851CAC77162", "urn:uuid:123"],
        "uri": ["http://example.org/a", "urn:x", "a b", "#frag"],
        "base64Binary": ["aGVsbG8=", "aGVs bG8=", "aGVsbG8", "a===", "!!!!"],
        "string": ["text", "line\nbreak", "tab\there", "bell\u{07}", "é ü"],
    ]

    /// Where the prose is stricter than the schema's expression.
    static let stricterThanRegex: Set<String> = ["2015-02-30", "2147483648", "bell\u{07}"]

    @Test(arguments: samples.keys.sorted())
    func handWrittenCheckAgreesWithTheSchemaExpression(_ type: String) throws {
        let pattern = try #require(R4Definitions.r4.primitivePatterns[type], "no pattern for \(type)")
        let regex = try NSRegularExpression(pattern: pattern)
        for sample in Self.samples[type] ?? [] {
            let range = NSRange(sample.startIndex..., in: sample)
            let byRegex = !sample.isEmpty && regex.firstMatch(in: sample, range: range) != nil
            let byCheck = PrimitiveFormat.isValid(sample, type: type)
            if Self.stricterThanRegex.contains(sample) { continue }
            #expect(byRegex == byCheck, "\(type) '\(sample)': regex \(byRegex), check \(byCheck)")
        }
    }

    @Test func noPrimitiveTakesAControlCharacter() {
        for type in ["code", "uri", "url", "canonical", "string"] {
            for control in ["\u{0}", "\u{7}", "\u{B}", "\u{1B}"] {
                #expect(!PrimitiveFormat.isValid("a\(control)b", type: type), "\(type) with \(control.unicodeScalars.first?.value ?? 0)")
            }
        }
        #expect(PrimitiveFormat.isValid("a b", type: "code"))
        #expect(PrimitiveFormat.isValid("http://example.org/a", type: "uri"))
    }

    @Test func integersAreHeldToThirtyTwoBits() {
        #expect(PrimitiveFormat.isValid("2147483647", type: "integer"))
        #expect(PrimitiveFormat.isValid("-2147483648", type: "integer"))
        #expect(!PrimitiveFormat.isValid("2147483648", type: "integer"))
        #expect(!PrimitiveFormat.isValid("99999999999", type: "unsignedInt"))
    }

    @Test func booleanAndUnsignedIntFollowTheProseNotTheMisboundExpression() {
        #expect(PrimitiveFormat.isValid("true", type: "boolean"))
        #expect(!PrimitiveFormat.isValid("trueish", type: "boolean"))
        #expect(PrimitiveFormat.isValid("0", type: "unsignedInt"))
        #expect(!PrimitiveFormat.isValid("0123", type: "unsignedInt"))
        #expect(!PrimitiveFormat.isValid("-1", type: "unsignedInt"))
    }

    @Test func datesMustBeRealCalendarDays() {
        #expect(!PrimitiveFormat.isValid("2015-02-30", type: "date"))
        #expect(PrimitiveFormat.isValid("2016-02-29", type: "date"))
        #expect(!PrimitiveFormat.isValid("2015-02-29", type: "date"))
        #expect(!PrimitiveFormat.isValid("1900-02-29", type: "date"))
        #expect(PrimitiveFormat.isValid("2000-02-29", type: "date"))
    }

    @Test func temporalValuesKeepTheirPrecision() throws {
        #expect(FHIRTemporal.date("2015")?.precision == .year)
        #expect(FHIRTemporal.date("2015-02")?.precision == .month)
        #expect(FHIRTemporal.dateTime("2015-02-07")?.precision == .day)
        #expect(FHIRTemporal.dateTime("2015-02-07T13:28:17Z")?.precision == .second)
        let instant = try #require(FHIRTemporal.instant("2015-02-07T13:28:17.2390+02:00"))
        #expect(instant.precision == .fraction)
        #expect(instant.fraction == "2390")
        #expect(instant.timeZone == "+02:00")
        #expect(instant.text == "2015-02-07T13:28:17.2390+02:00")
    }
}
