/// A JSON value as read by ``JSONReader``.
///
/// Objects keep their members in document order (keys are unique: the reader refuses duplicates), and numbers keep
/// their exact source text, so `0.010` and `1E-22` survive unchanged.
public enum JSONValue: Sendable, Hashable {
    /// Members in document order; keys are unique (the reader refuses duplicates).
    case object([JSONMember])
    case array([JSONValue])
    case string(String)
    /// The number's exact source text, e.g. `"0.010"`, `"-1.5E+3"`.
    case number(String)
    case bool(Bool)
    case null
}

/// One member of a JSON object: its key, its value and where the key starts in the source.
public struct JSONMember: Sendable, Hashable {
    public var key: String
    public var value: JSONValue
    /// 1-based line of the key's opening quote.
    public var line: Int32
    /// 1-based column of the key's opening quote, counted in bytes.
    public var column: Int32

    public init(key: String, value: JSONValue, line: Int32 = 0, column: Int32 = 0) {
        self.key = key
        self.value = value
        self.line = line
        self.column = column
    }
}
