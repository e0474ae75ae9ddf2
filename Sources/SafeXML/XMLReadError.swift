/// Why a document was refused.
public struct XMLReadError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The input is not well-formed XML (libxml2's message is in `message`).
        case notWellFormed
        /// The document has a DOCTYPE declaration; DTDs are never processed.
        case doctypeForbidden
        /// The document refers to an entity other than the five predefined ones.
        case entityReferenceForbidden
        /// One of the `XMLLimits` (or libxml2's own hard limits) was exceeded.
        case limitExceeded
        /// The input is not UTF-8 (bad bytes, a byte order mark or a declared encoding other than UTF-8).
        case invalidUTF8
        /// There is no root element.
        case emptyDocument
    }

    public var kind: Kind
    public var message: String
    /// 1-based; 0 when unknown.
    public var line: Int32
    /// 1-based; 0 when unknown.
    public var column: Int32

    public init(kind: Kind, message: String, line: Int32 = 0, column: Int32 = 0) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    /// "line L, column C: message".
    public var description: String {
        "line \(line), column \(column): \(message)"
    }
}
