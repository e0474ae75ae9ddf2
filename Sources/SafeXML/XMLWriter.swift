/// Writes elements and escapes text as XML, canonically: UTF-8, no XML declaration, elements
/// unprefixed (namespaces given by default-namespace declarations), attributes in document order.
public enum XMLWriter {
    /// Escapes text content: `&` `<` `>` (and `\r` as `&#xD;`).
    public static func escapeText(_ s: String) -> String {
        guard s.utf8.contains(where: { escapesInText($0) }) else { return s }
        var output: [UInt8] = []
        output.reserveCapacity(s.utf8.count + 16)
        appendText(s, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Escapes an attribute value for double quotes: `&` `<` `>` `"` and `\t` `\n` `\r` as character references.
    public static func escapeAttribute(_ s: String) -> String {
        guard s.utf8.contains(where: { escapesInAttribute($0) }) else { return s }
        var output: [UInt8] = []
        output.reserveCapacity(s.utf8.count + 16)
        appendAttributeValue(s, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Serialises an element subtree: `<name attr="v">…</name>`, an empty element as `<name/>`.
    /// Attributes keep document order and, if they have a namespace, their prefix (`xml:lang` stays
    /// `xml:lang`; another prefix is declared where first used). If `declareNamespace` is true the
    /// root gets `xmlns="<its namespaceURI>"` as its first attribute; otherwise the root's namespace
    /// is taken as already in scope. A child element gets a declaration only when its namespace
    /// differs from its parent's.
    public static func serialize(_ element: XMLElement, declareNamespace: Bool) -> String {
        var output: [UInt8] = []
        Serializer().write(element, declareNamespace: declareNamespace, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    @inline(__always)
    static func escapesInText(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "&") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "\r")
    }

    @inline(__always)
    static func escapesInAttribute(_ byte: UInt8) -> Bool {
        escapesInText(byte) || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
    }

    static func appendText(_ s: String, to output: inout [UInt8]) {
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "&"): output.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): output.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): output.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\r"): output.append(contentsOf: "&#xD;".utf8)
            default: output.append(byte)
            }
        }
    }

    static func appendAttributeValue(_ s: String, to output: inout [UInt8]) {
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "&"): output.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): output.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): output.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): output.append(contentsOf: "&quot;".utf8)
            case UInt8(ascii: "\t"): output.append(contentsOf: "&#x9;".utf8)
            case UInt8(ascii: "\n"): output.append(contentsOf: "&#xA;".utf8)
            case UInt8(ascii: "\r"): output.append(contentsOf: "&#xD;".utf8)
            default: output.append(byte)
            }
        }
    }
}
