import FHIRCore

/// A Swift value that a FHIR primitive's text converts to and from without loss.
public protocol FHIRPrimitiveValue: Sendable, Hashable {
    init?(fhirText: String)
    var fhirText: String { get }
}

extension String: FHIRPrimitiveValue {
    public init?(fhirText: String) { self = fhirText }
    public var fhirText: String { self }
}

extension Bool: FHIRPrimitiveValue {
    public init?(fhirText: String) {
        switch fhirText {
        case "true": self = true
        case "false": self = false
        default: return nil
        }
    }
    public var fhirText: String { self ? "true" : "false" }
}

extension Int32: FHIRPrimitiveValue {
    public init?(fhirText: String) { self.init(fhirText, radix: 10) }
    public var fhirText: String { String(self) }
}

/// A FHIR `decimal`, kept as the exact text it was written with: `0.010` stays `0.010`, as FHIR
/// requires (precision is part of the value).
public struct FHIRDecimal: FHIRPrimitiveValue, CustomStringConvertible, ExpressibleByStringLiteral {
    public let text: String

    public init?(fhirText: String) {
        guard PrimitiveFormat.isValid(fhirText, type: "decimal") else { return nil }
        text = fhirText
    }

    public init(stringLiteral value: String) {
        precondition(PrimitiveFormat.isValid(value, type: "decimal"), "'\(value)' is not a FHIR decimal")
        text = value
    }

    public var fhirText: String { text }
    public var description: String { text }
    /// The value as a Double, for arithmetic; the text stays the value of record.
    public var doubleValue: Double { Double(text) ?? .nan }
}

/// A FHIR `date`, `dateTime`, `instant` or `time`, with the precision it was written with.
public protocol FHIRTemporalValue: FHIRPrimitiveValue, CustomStringConvertible {
    var temporal: FHIRTemporal { get }
}

extension FHIRTemporalValue {
    public var fhirText: String { temporal.text }
    public var description: String { temporal.text }
    public var precision: FHIRTemporal.Precision { temporal.precision }
}

public struct FHIRDate: FHIRTemporalValue {
    public let temporal: FHIRTemporal
    public init?(fhirText: String) {
        guard let value = FHIRTemporal.date(fhirText) else { return nil }
        temporal = value
    }
}

public struct FHIRDateTime: FHIRTemporalValue {
    public let temporal: FHIRTemporal
    public init?(fhirText: String) {
        guard let value = FHIRTemporal.dateTime(fhirText) else { return nil }
        temporal = value
    }
}

public struct FHIRInstant: FHIRTemporalValue {
    public let temporal: FHIRTemporal
    public init?(fhirText: String) {
        guard let value = FHIRTemporal.instant(fhirText) else { return nil }
        temporal = value
    }
}

public struct FHIRTime: FHIRTemporalValue {
    public let temporal: FHIRTemporal
    public init?(fhirText: String) {
        guard let value = FHIRTemporal.time(fhirText) else { return nil }
        temporal = value
    }
}
