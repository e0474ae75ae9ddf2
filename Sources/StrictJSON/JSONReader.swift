/// A strict RFC 8259 JSON reader over UTF-8 bytes.
///
/// It keeps numbers as their exact source text, refuses duplicate keys, invalid UTF-8, and anything RFC 8259 does not
/// allow, and enforces ``JSONLimits`` while reading. Nesting is tracked on an explicit stack, so deep input can never
/// overflow the call stack.
public struct JSONReader: Sendable {
    public var limits: JSONLimits

    public init(limits: JSONLimits = .default) {
        self.limits = limits
    }

    /// Reads exactly one JSON value (a leading UTF-8 byte order mark is skipped).
    public func read(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(base: try JSONParser.start(of: bytes, limits: limits), end: bytes.count, limits: limits)
        return try parser.parseDocument()
    }

    /// Reads exactly one JSON value from `bytes` (a leading UTF-8 byte order mark is skipped).
    public func read(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        let result: Result<JSONValue, JSONSyntaxError> = bytes.withUnsafeBytes { buffer in
            do throws(JSONSyntaxError) {
                return .success(try read(buffer))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
