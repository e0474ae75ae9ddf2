import FHIRCore
import Foundation

/// One item of a FHIRPath collection: an element of the FHIR tree, or a System value.
public enum FHIRPathValue: Sendable, Equatable {
    /// An element of the tree (a resource, a datatype, a primitive with its FHIR type).
    case node(FHIRNode)
    case boolean(Bool)
    case string(String)
    case integer(Int)
    case decimal(Decimal)
    case date(FHIRPathTemporal)
    case dateTime(FHIRPathTemporal)
    case time(FHIRPathTemporal)
    case quantity(FHIRPathQuantity)

    /// The type as the official test suite writes it in `<output type="…">`: `boolean`, `integer`,
    /// `decimal`, `string`, `date`, `dateTime`, `time`, `Quantity`, or the FHIR type of a node
    /// (`code`, `HumanName`, `Observation`).
    public var suiteType: String {
        switch self {
        case .node(let node): node.type.name
        case .boolean: "boolean"
        case .string: "string"
        case .integer: "integer"
        case .decimal: "decimal"
        case .date: "date"
        case .dateTime: "dateTime"
        case .time: "time"
        case .quantity: "Quantity"
        }
    }

    /// The value as the suite writes it in `<output>`: `true`, `12`, `1.5`, `Peter`,
    /// `@2015-02-04`, `@2015-02-04T14:34:28+10:00`, `@T14:34`, `4 'mg'`, `1 week`. A primitive node
    /// gives its text (dates with `@`); a complex node gives nil.
    public var suiteValue: String? {
        switch self {
        case .node(let node):
            guard let value = node.value, node.type.isPrimitive else { return nil }
            switch node.type.primitive {
            case .date, .dateTime, .instant: return "@" + value
            case .time: return "@T" + value
            default: return value
            }
        case .boolean(let value): return value ? "true" : "false"
        case .string(let value): return value
        case .integer(let value): return String(value)
        case .decimal(let value): return Self.decimalText(value)
        case .date(let value), .dateTime(let value), .time(let value): return value.literal
        case .quantity(let value): return value.description
        }
    }

    /// A decimal as `toString()` writes it: always with a fractional part (`1.0`, `0.5`), so that
    /// a decimal is never mistaken for an integer.
    static func decimalText(_ value: Decimal) -> String {
        let text = value.description
        return text.contains(".") || text.contains("e") || text.contains("E") ? text : text + ".0"
    }
}

extension FHIRPathValue {
    /// The System value of a primitive node (`code` → String, `positiveInt` → Integer,
    /// `instant` → DateTime), or the value itself when it is not a node; nil for a complex node or
    /// a primitive without a value (only extensions).
    var systemValue: FHIRPathValue? {
        guard case .node(let node) = self else { return self }
        guard let text = node.value, let kind = node.type.primitive else { return nil }
        return Self.system(text, kind: kind)
    }

    static func system(_ text: String, kind: PrimitiveKind) -> FHIRPathValue? {
        switch kind {
        case .boolean: return text == "true" ? .boolean(true) : text == "false" ? .boolean(false) : nil
        case .integer, .positiveInt, .unsignedInt:
            // FHIR integers are 32-bit; a larger value is not an Integer (and cannot overflow
            // arithmetic on 64-bit Int).
            guard let n = Int(text), n >= Int(Int32.min), n <= Int(Int32.max) else { return nil }
            return .integer(n)
        case .decimal: return Decimal(string: text, locale: nil).map { .decimal($0) }
        case .date: return FHIRPathTemporal.date(text).map { .date($0) }
        case .dateTime, .instant:
            guard var value = FHIRPathTemporal.dateTime(text) else { return nil }
            // A date-time to the day or coarser is a Date as far as comparison goes, but stays a
            // DateTime by type.
            value.kind = .dateTime
            return .dateTime(value)
        case .time: return FHIRPathTemporal.time(text).map { .time($0) }
        case .string, .markdown, .code, .id, .uri, .url, .canonical, .oid, .uuid, .base64Binary, .xhtml: return .string(text)
        }
    }

    /// A FHIR Quantity node as a System Quantity: its value with its UCUM code (or its unit).
    var quantityValue: FHIRPathQuantity? {
        switch self {
        case .quantity(let quantity): return quantity
        case .node(let node):
            guard node.type.name == "Quantity" || node.type.baseName == "Quantity",
                let text = node.value(of: "value"), let value = Decimal(string: text, locale: nil)
            else { return nil }
            let unit = node.value(of: "code") ?? node.value(of: "unit") ?? "1"
            return FHIRPathQuantity(value: value, unit: unit)
        default: return nil
        }
    }

    var isNode: Bool {
        if case .node = self { return true }
        return false
    }
}
