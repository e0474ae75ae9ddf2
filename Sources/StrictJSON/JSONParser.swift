/// The reading state over one input buffer. All reads are guarded by `index < end`.
struct JSONParser: ~Copyable {
    let base: UnsafePointer<UInt8>
    let end: Int
    let limits: JSONLimits
    /// The next byte to look at.
    var index = 0
    /// 1-based line of `index`. Line feeds only occur in whitespace (strings refuse raw control characters), so the
    /// whitespace skipper is the only place that has to track them.
    var line = 1
    /// Offset of the first byte of the current line.
    var lineStart = 0
    var valueCount = 0
    /// Elements of the open arrays, innermost last.
    var elements = ScratchStack<JSONValue>()
    /// Members of the open objects, innermost last.
    var members = ScratchStack<JSONMember>()

    init(base: UnsafePointer<UInt8>, end: Int, limits: JSONLimits) {
        self.base = base
        self.end = end
        self.limits = limits
    }

    /// The first byte of a document, once the checks before reading pass: the size limit, and
    /// not empty.
    static func start(of bytes: UnsafeRawBufferPointer, limits: JSONLimits) throws(JSONSyntaxError) -> UnsafePointer<UInt8> {
        guard bytes.count <= limits.maxBytes else {
            throw JSONSyntaxError(
                kind: .limitExceeded,
                message: "The document is \(bytes.count) bytes, more than the limit of \(limits.maxBytes) bytes (maxBytes)",
                line: 1,
                column: 1
            )
        }
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JSONSyntaxError(kind: .emptyDocument, message: "The document is empty", line: 1, column: 1)
        }
        return base.assumingMemoryBound(to: UInt8.self)
    }

    /// An object or array being read, with everything needed to resume it after a nested value.
    struct OpenContainer {
        var isObject: Bool
        /// Where its elements or members start in `elements` or `members`.
        var start: Int
        var keys = DuplicateKeyDetector()
    }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        if end >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF {
            index = 3
        }
        skipWhitespace()
        guard index < end else {
            throw error(.emptyDocument, "The document contains no JSON value", at: index)
        }
        var stack: [OpenContainer] = []
        stack.reserveCapacity(16)
        var current = OpenContainer(isObject: false, start: 0)
        var depth = 0
        do throws(JSONSyntaxError) {
            return try parseValues(stack: &stack, current: &current, depth: &depth)
        } catch {
            var located = error
            located.path = openPath(stack: stack, current: current, depth: depth)
            throw located
        }
    }

    /// Where reading stopped: the member names and array positions of the containers still open.
    func openPath(stack: [OpenContainer], current: OpenContainer, depth: Int) -> [JSONPathComponent] {
        guard depth > 0 else { return [] }
        let open = stack + [current]
        var path: [JSONPathComponent] = []
        for (i, container) in open.enumerated() {
            let deeper = open[(i + 1)...]
            if container.isObject {
                let next = deeper.first(where: \.isObject)?.start ?? members.count
                if next > container.start { path.append(.key(members[next - 1].key)) }
            } else {
                let next = deeper.first(where: { !$0.isObject })?.start ?? elements.count
                path.append(.index(next - container.start))
            }
        }
        return path
    }

    mutating func parseValues(stack: inout [OpenContainer], current: inout OpenContainer, depth: inout Int) throws(JSONSyntaxError) -> JSONValue {
        nextValue: while true {
            guard index < end else {
                throw error(.unexpectedEndOfInput, "The document ends where a value was expected", at: index)
            }
            valueCount &+= 1
            if valueCount > limits.maxTotalValues {
                throw error(.limitExceeded, "More than \(limits.maxTotalValues) values in the document (maxTotalValues)", at: index)
            }
            var value: JSONValue
            switch base[index] {
            case UInt8(ascii: "\""):
                value = .string(try readString())
            case UInt8(ascii: "{"):
                try checkDepth(depth)
                index += 1
                skipWhitespace()
                if index < end && base[index] == UInt8(ascii: "}") {
                    index += 1
                    value = .object([])
                } else {
                    if depth > 0 { stack.append(current) }
                    depth += 1
                    current = OpenContainer(isObject: true, start: members.count)
                    try readKey(into: &current)
                    continue nextValue
                }
            case UInt8(ascii: "["):
                try checkDepth(depth)
                index += 1
                skipWhitespace()
                if index < end && base[index] == UInt8(ascii: "]") {
                    index += 1
                    value = .array([])
                } else {
                    if limits.maxArrayCount < 1 { throw arrayLimitError() }
                    if depth > 0 { stack.append(current) }
                    depth += 1
                    current = OpenContainer(isObject: false, start: elements.count)
                    continue nextValue
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = .number(try readNumber())
            case UInt8(ascii: "t"):
                try readLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try readLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try readLiteral("null")
                value = .null
            default:
                throw unexpectedValueStart()
            }

            // Hand the finished value to its container, closing containers as long as they end here.
            while true {
                skipWhitespace()
                guard depth > 0 else {
                    guard index == end else { throw trailingContentError() }
                    return value
                }
                guard index < end else {
                    let what = current.isObject ? "an object: expected ',' or '}'" : "an array: expected ',' or ']'"
                    throw error(.unexpectedEndOfInput, "The document ends inside \(what)", at: index)
                }
                let byte = base[index]
                if current.isObject {
                    // `readKey` pushed the member with a placeholder value; nested members have been removed since.
                    members.last.value = consume value
                    if byte == UInt8(ascii: ",") {
                        index += 1
                        skipWhitespace()
                        try readKey(into: &current)
                        continue nextValue
                    }
                    guard byte == UInt8(ascii: "}") else {
                        throw unexpected("Expected ',' or '}' after an object member", at: index)
                    }
                    index += 1
                    value = .object(members.removeArray(from: current.start))
                } else {
                    elements.append(consume value)
                    if byte == UInt8(ascii: ",") {
                        index += 1
                        skipWhitespace()
                        if elements.count - current.start >= limits.maxArrayCount { throw arrayLimitError() }
                        continue nextValue
                    }
                    guard byte == UInt8(ascii: "]") else {
                        throw unexpected("Expected ',' or ']' after an array element", at: index)
                    }
                    index += 1
                    value = .array(elements.removeArray(from: current.start))
                }
                depth -= 1
                current = stack.popLast() ?? OpenContainer(isObject: false, start: 0)
            }
        }
    }

    /// Reads `"key"` and the `:` after it (and the whitespace around), leaving `index` at the member's value.
    @inline(__always)
    mutating func readKey(into container: inout OpenContainer) throws(JSONSyntaxError) {
        guard index < end else {
            throw error(.unexpectedEndOfInput, "The document ends inside an object: expected a member name", at: index)
        }
        let quote = index
        guard base[quote] == UInt8(ascii: "\"") else {
            let hint = base[quote] == UInt8(ascii: "}") ? " (a trailing comma is not allowed)" : ""
            throw unexpected("Expected a member name in double quotes", at: quote, hint: hint)
        }
        if members.count - container.start >= limits.maxObjectMembers {
            throw error(.limitExceeded, "An object with more than \(limits.maxObjectMembers) members (maxObjectMembers)", at: quote)
        }
        let key = try readString()
        if !container.keys.insert(key, members: members, from: container.start) {
            throw error(.duplicateKey, "Duplicate key \"\(key)\" in object", at: quote)
        }
        // The member waits on the stack for its value.
        members.append(JSONMember(key: key, value: .null, line: Int32(clamping: line), column: Int32(clamping: quote - lineStart + 1)))
        skipWhitespace()
        guard index < end else {
            throw error(.unexpectedEndOfInput, "The document ends after the member name \"\(members.last.key)\": expected ':'", at: index)
        }
        guard base[index] == UInt8(ascii: ":") else {
            throw unexpected("Expected ':' after the member name \"\(members.last.key)\"", at: index)
        }
        index += 1
        skipWhitespace()
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < end {
            let byte = base[index]
            if byte > 0x20 { return }
            switch byte {
            case 0x20, 0x09, 0x0D:
                index += 1
            case 0x0A:
                index += 1
                line += 1
                lineStart = index
                // Indentation after a line break: skip spaces eight bytes at a time.
                while end - index >= 8 {
                    let nonSpace = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self) ^ 0x2020_2020_2020_2020
                    if nonSpace != 0 {
                        index += UInt64(littleEndian: nonSpace).trailingZeroBitCount >> 3
                        break
                    }
                    index += 8
                }
            default:
                return
            }
        }
    }

    @inline(__always)
    func checkDepth(_ depth: Int) throws(JSONSyntaxError) {
        if depth >= limits.maxDepth {
            throw error(.limitExceeded, "Nesting deeper than \(limits.maxDepth) levels (maxDepth)", at: index)
        }
    }

    mutating func readLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        let expected = literal.utf8Start
        var offset = 0
        while offset < count {
            guard index + offset < end else {
                throw error(.unexpectedEndOfInput, "The document ends inside the literal '\(literal)'", at: index + offset)
            }
            guard base[index + offset] == expected[offset] else {
                throw unexpected("Expected the literal '\(literal)'", at: index + offset)
            }
            offset += 1
        }
        index += count
    }
}
