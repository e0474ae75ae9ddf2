/// Why ``JSONReader`` refused a document, and where.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case invalidUTF8
        case unexpectedCharacter
        case unexpectedEndOfInput
        case invalidNumber
        case invalidEscape
        case controlCharacterInString
        case duplicateKey
        case trailingContent
        case emptyDocument
        case limitExceeded
    }

    public var kind: Kind
    /// Plain words for an integration engineer, e.g. `Duplicate key "status" in object`.
    public var message: String
    /// 1-based line where the problem was found; lines end at LF.
    public var line: Int32
    /// 1-based column where the problem was found, counted in bytes since the last LF.
    public var column: Int32

    /// The member names and array positions leading to where reading stopped, outermost first
    /// (`entry`, 0, `resource`, `name`, 0): empty at the top level.
    public var path: [JSONPathComponent]

    public init(kind: Kind, message: String, line: Int32, column: Int32, path: [JSONPathComponent] = []) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
        self.path = path
    }

    /// `line L, column C: message`
    public var description: String {
        "line \(line), column \(column): \(message)"
    }
}

/// One step of a ``JSONSyntaxError/path``.
public enum JSONPathComponent: Sendable, Hashable {
    case key(String)
    case index(Int)
}
