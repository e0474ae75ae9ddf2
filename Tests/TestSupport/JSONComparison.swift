import SafeXML
import StrictJSON

/// Compares two FHIR JSON documents value for value: object members in any order, arrays in
/// order, numbers by their exact text (or by numeric value when asked), and narrative `div`s after
/// normalising namespace declarations and white space between tags.
public struct JSONComparison {
    public var numbersByValue = false

    public init(numbersByValue: Bool = false) {
        self.numbersByValue = numbersByValue
    }

    /// The differences, each with its JSON path; empty when the documents are equal.
    public func differences(_ lhs: JSONValue, _ rhs: JSONValue, path: String = "$") -> [String] {
        switch (lhs, rhs) {
        case (.object(let a), .object(let b)):
            var found: [String] = []
            let bByKey = Dictionary(b.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
            let aKeys = Set(a.map(\.key))
            for member in a {
                guard let other = bByKey[member.key] else {
                    found.append("\(path).\(member.key): only on the left")
                    continue
                }
                if member.key == "div", case .string(let x) = member.value, case .string(let y) = other {
                    if Self.normalisedXHTML(x) != Self.normalisedXHTML(y) {
                        found.append("\(path).div: narratives differ:\n  \(Self.normalisedXHTML(x))\n  \(Self.normalisedXHTML(y))")
                    }
                    continue
                }
                found += differences(member.value, other, path: "\(path).\(member.key)")
            }
            for member in b where !aKeys.contains(member.key) {
                found.append("\(path).\(member.key): only on the right")
            }
            return found
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return ["\(path): \(a.count) items against \(b.count)"] }
            return zip(a, b).enumerated().flatMap { differences($0.element.0, $0.element.1, path: "\(path)[\($0.offset)]") }
        case (.number(let a), .number(let b)):
            if a == b { return [] }
            if numbersByValue, let x = Double(a), let y = Double(b), x == y { return [] }
            return ["\(path): number \(a) against \(b)"]
        default:
            return lhs == rhs ? [] : ["\(path): \(lhs) against \(rhs)"]
        }
    }

    /// A narrative in canonical form: parsed, written back with one namespace declaration, and
    /// white space between tags removed.
    public static func normalisedXHTML(_ text: String) -> String {
        guard let root = try? XMLDocumentReader().readFragment(text) else { return "unreadable: " + text }
        let canonical = XMLWriter.serialize(root, declareNamespace: true)
        var out = ""
        var pendingSpace = ""
        var afterTag = false
        for character in canonical {
            if character.isWhitespace {
                pendingSpace.append(character)
                continue
            }
            if character == "<", afterTag {
                pendingSpace = ""
            }
            out += pendingSpace
            pendingSpace = ""
            out.append(character)
            afterTag = character == ">"
        }
        return out
    }
}
