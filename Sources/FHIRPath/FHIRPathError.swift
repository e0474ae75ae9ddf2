/// Why an expression was refused or could not be evaluated. `syntax` and `semantic` errors come
/// from `FHIRPathExpression.init` (and `semantic` also from the first evaluation against a type the
/// expression does not fit); `execution` errors come from evaluation. The description says what is
/// wrong and where in the expression (line, column and UTF-8 offset).
public struct FHIRPathError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable, Hashable {
        /// The text is not a FHIRPath expression (or exceeds the length or nesting limit).
        case syntax
        /// The expression is well formed but cannot be right: an unknown function, a wrong number of
        /// arguments, an element the input's type does not have, an operator on types it does not take.
        case semantic
        /// Evaluation failed on this input: a collection where one item is required, operands of
        /// types that cannot be compared, an unknown variable.
        case execution
    }

    public let kind: Kind
    /// The message alone, without the position.
    public let message: String
    /// UTF-8 offset of the offending part of the expression, when known.
    public let offset: Int?
    public let line: Int?
    public let column: Int?

    init(_ kind: Kind, _ message: String, at offset: Int? = nil, in text: String? = nil) {
        self.kind = kind
        self.message = message
        self.offset = offset
        if let offset, let text {
            var line = 1
            var column = 1
            for (i, byte) in text.utf8.enumerated() {
                if i >= offset { break }
                if byte == 0x0A {
                    line += 1
                    column = 1
                } else if byte & 0xC0 != 0x80 {
                    column += 1
                }
            }
            self.line = line
            self.column = column
        } else {
            self.line = nil
            self.column = nil
        }
    }

    public var description: String {
        var text = "FHIRPath \(kind.rawValue) error"
        if let line, let column, let offset {
            text += " at line \(line), column \(column) (offset \(offset))"
        }
        return text + ": " + message
    }

    /// The same error located in `text` (for errors raised where only the offset was known).
    func located(in text: String) -> FHIRPathError {
        guard line == nil, let offset else { return self }
        return FHIRPathError(kind, message, at: offset, in: text)
    }
}
