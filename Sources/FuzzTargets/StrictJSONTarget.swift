import StrictJSON

/// The strict JSON reader: a document that reads is written out compactly (members in order,
/// numbers with their exact text, strings escaped by `JSONText`) and must re-read to the same value.
enum StrictJSONTarget {
    static func check(_ bytes: [UInt8]) throws(FuzzInvariantViolation) {
        let reader = JSONReader()
        guard let value = try? reader.read(bytes) else { return }
        var written: [UInt8] = []
        write(value, to: &written)
        let reread: JSONValue
        do {
            reread = try reader.read(written)
        } catch {
            try invariant(false, .strictJSON, "the written document does not re-read: \(error)")
            return
        }
        try invariant(sameValue(value, reread), .strictJSON, "the re-read document differs from the one read")
    }

    /// Compact JSON text of a value.
    static func write(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendQuoted(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let string): JSONText.appendQuoted(string, to: &out)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        }
    }

    /// Equality without the members' source positions (which a compact re-write changes).
    static func sameValue(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            return zip(a, b).allSatisfy { $0.key == $1.key && sameValue($0.value, $1.value) }
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return false }
            return zip(a, b).allSatisfy { sameValue($0, $1) }
        case (.string(let a), .string(let b)): return a.utf8.elementsEqual(b.utf8)
        case (.number(let a), .number(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        default: return false
        }
    }
}
