/// A pull reader over one JSON document: the caller asks what the next value is and reads it, so a
/// decoder can build its own structures straight from the bytes without a `JSONValue` tree in
/// between. It applies every rule and limit of ``JSONReader`` (the same scanning code): exact
/// number text, no duplicate keys, valid UTF-8, depth, string, array, member and total-value limits.
///
/// The errors it throws say what is wrong and where (line and column) but carry no `path`; a
/// caller that wants the path reads the document again with ``JSONReader``, which finds the same
/// first error. Callers must follow the grammar: after `nextValueKind()`, read that value with the
/// matching call (`readString`, `enterObject`, …) or `skipValue`.
public struct JSONStream: ~Copyable {
    /// What the next value is.
    public enum ValueKind: Sendable, Hashable {
        case object, array, string, number, bool, null
    }

    /// A member name and where its opening quote is.
    public struct Key {
        public let name: String
        public let line: Int32
        public let column: Int32

        public init(name: String, line: Int32, column: Int32) {
            self.name = name
            self.line = line
            self.column = column
        }
    }

    /// An object or array being read.
    struct Frame {
        var container: JSONParser.OpenContainer
        /// Whether a member or element has been started.
        var started = false
        /// Array elements started so far.
        var count = 0
    }

    /// A position to return to with ``reset(to:)``.
    public struct Mark {
        let index: Int
        let line: Int
        let lineStart: Int
        let valueCount: Int
        let memberCount: Int
        let frames: [Frame]
    }

    var parser: JSONParser
    var frames: [Frame]

    /// Starts reading `bytes`, which must stay valid while the stream is used. Skips a UTF-8 byte
    /// order mark and leading white space.
    public init(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits = .default) throws(JSONSyntaxError) {
        var opened = JSONParser(base: try JSONParser.start(of: bytes, limits: limits), end: bytes.count, limits: limits)
        if bytes.count >= 3 && opened.base[0] == 0xEF && opened.base[1] == 0xBB && opened.base[2] == 0xBF {
            opened.index = 3
        }
        opened.skipWhitespace()
        guard opened.index < opened.end else {
            throw opened.error(.emptyDocument, "The document contains no JSON value", at: opened.index)
        }
        parser = opened
        frames = []
        frames.reserveCapacity(16)
    }

    /// What the value at the cursor is; counts it against `maxTotalValues`.
    public mutating func nextValueKind() throws(JSONSyntaxError) -> ValueKind {
        guard parser.index < parser.end else {
            throw parser.error(.unexpectedEndOfInput, "The document ends where a value was expected", at: parser.index)
        }
        parser.valueCount &+= 1
        if parser.valueCount > parser.limits.maxTotalValues {
            throw parser.error(.limitExceeded, "More than \(parser.limits.maxTotalValues) values in the document (maxTotalValues)", at: parser.index)
        }
        switch parser.base[parser.index] {
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: throw parser.unexpectedValueStart()
        }
    }

    public mutating func readString() throws(JSONSyntaxError) -> String { try parser.readString() }

    /// The number's exact source text.
    public mutating func readNumber() throws(JSONSyntaxError) -> String { try parser.readNumber() }

    public mutating func readBool() throws(JSONSyntaxError) -> Bool {
        if parser.base[parser.index] == UInt8(ascii: "t") {
            try parser.readLiteral("true")
            return true
        }
        try parser.readLiteral("false")
        return false
    }

    public mutating func readNull() throws(JSONSyntaxError) { try parser.readLiteral("null") }

    // MARK: - Objects

    /// Enters the object at the cursor; then call ``nextKey()`` until it returns nil.
    public mutating func enterObject() throws(JSONSyntaxError) {
        try parser.checkDepth(frames.count)
        parser.index += 1
        parser.skipWhitespace()
        frames.append(Frame(container: JSONParser.OpenContainer(isObject: true, start: parser.members.count)))
    }

    /// The next member's name, leaving the cursor at its value; nil when the object ends (then the
    /// object's keys stay known to ``keyPosition(_:)`` until ``endObject()``).
    public mutating func nextKey() throws(JSONSyntaxError) -> Key? {
        let last = frames.count - 1
        if frames[last].started {
            guard try separator(closing: UInt8(ascii: "}"), inside: "an object", after: "an object member") else { return nil }
        } else {
            if parser.index < parser.end && parser.base[parser.index] == UInt8(ascii: "}") {
                parser.index += 1
                return nil
            }
            frames[last].started = true
        }
        try parser.readKey(into: &frames[last].container)
        let member = parser.members.last
        return Key(name: member.key, line: member.line, column: member.column)
    }

    /// Where the member `key` of the object being read starts, nil when it has none (so far). The
    /// object's keys stay known after ``nextKey()`` returned nil, until ``endObject()``.
    public func keyPosition(_ key: String) -> (line: Int32, column: Int32)? {
        guard let frame = frames.last else { return nil }
        for position in frame.container.start..<parser.members.count where KeyBytes.sameBytes(parser.members[position].key, key) {
            return (parser.members[position].line, parser.members[position].column)
        }
        return nil
    }

    /// Leaves the object whose end ``nextKey()`` returned.
    public mutating func endObject() {
        guard let frame = frames.popLast() else { return }
        parser.members.removeAll(from: frame.container.start)
    }

    // MARK: - Arrays

    /// Enters the array at the cursor; then call ``nextElement()`` until it returns false.
    public mutating func enterArray() throws(JSONSyntaxError) {
        try parser.checkDepth(frames.count)
        parser.index += 1
        parser.skipWhitespace()
        frames.append(Frame(container: JSONParser.OpenContainer(isObject: false, start: 0)))
    }

    /// Moves to the next element; false (and the array left) when the array ends.
    public mutating func nextElement() throws(JSONSyntaxError) -> Bool {
        let last = frames.count - 1
        if frames[last].started {
            guard try separator(closing: UInt8(ascii: "]"), inside: "an array", after: "an array element") else {
                frames.removeLast()
                return false
            }
            if frames[last].count >= parser.limits.maxArrayCount { throw parser.arrayLimitError() }
        } else {
            if parser.index < parser.end && parser.base[parser.index] == UInt8(ascii: "]") {
                parser.index += 1
                frames.removeLast()
                return false
            }
            if parser.limits.maxArrayCount < 1 { throw parser.arrayLimitError() }
            frames[last].started = true
        }
        frames[last].count += 1
        return true
    }

    /// After a member or element: true at `,` (then at the next one), false at `closing` (consumed).
    private mutating func separator(closing: UInt8, inside container: String, after item: String) throws(JSONSyntaxError) -> Bool {
        parser.skipWhitespace()
        guard parser.index < parser.end else {
            throw parser.error(
                .unexpectedEndOfInput, "The document ends inside \(container): expected ',' or '\(Character(Unicode.Scalar(closing)))'",
                at: parser.index)
        }
        let byte = parser.base[parser.index]
        if byte == closing {
            parser.index += 1
            return false
        }
        guard byte == UInt8(ascii: ",") else {
            throw parser.unexpected("Expected ',' or '\(Character(Unicode.Scalar(closing)))' after \(item)", at: parser.index)
        }
        parser.index += 1
        parser.skipWhitespace()
        return true
    }

    // MARK: - Skipping, the end, rewinding

    /// Reads and checks the value whose kind ``nextValueKind()`` returned, keeping nothing.
    public mutating func skipValue(_ kind: ValueKind) throws(JSONSyntaxError) {
        let outer = frames.count
        var kind = kind
        next: while true {
            switch kind {
            case .object:
                try enterObject()
                if try nextKey() != nil {
                    kind = try nextValueKind()
                    continue next
                }
                endObject()
            case .array:
                try enterArray()
                if try nextElement() {
                    kind = try nextValueKind()
                    continue next
                }
            case .string: _ = try parser.readString()
            case .number: _ = try parser.readNumber()
            case .bool: _ = try readBool()
            case .null: try readNull()
            }
            // The value is done: go on in the containers this skip opened, closing those that end.
            while frames.count > outer {
                if frames[frames.count - 1].container.isObject {
                    if try nextKey() != nil {
                        kind = try nextValueKind()
                        continue next
                    }
                    endObject()
                } else if try nextElement() {
                    kind = try nextValueKind()
                    continue next
                }
            }
            return
        }
    }

    /// Checks that nothing but white space follows the document's value.
    public mutating func finish() throws(JSONSyntaxError) {
        parser.skipWhitespace()
        guard parser.index == parser.end else { throw parser.trailingContentError() }
    }

    public func mark() -> Mark {
        Mark(
            index: parser.index, line: parser.line, lineStart: parser.lineStart, valueCount: parser.valueCount, memberCount: parser.members.count,
            frames: frames)
    }

    /// Returns to `mark`, taken in the same object or an enclosing one.
    public mutating func reset(to mark: Mark) {
        parser.index = mark.index
        parser.line = mark.line
        parser.lineStart = mark.lineStart
        parser.valueCount = mark.valueCount
        if parser.members.count > mark.memberCount { parser.members.removeAll(from: mark.memberCount) }
        frames = mark.frames
    }
}
