/// Limits that ``JSONReader`` enforces while reading, so hostile input fails fast.
public struct JSONLimits: Sendable, Hashable {
    /// Total input size in bytes, checked before parsing. Default 8 MiB.
    public var maxBytes: Int
    /// Nesting of objects and arrays. Default 64.
    ///
    /// The reader itself never recurses, so any value is safe while reading. But releasing or comparing a
    /// ``JSONValue`` recurses once per level (roughly 160 bytes of stack each), so keep this in the hundreds:
    /// values nested tens of thousands deep can overflow a thread's stack when they are freed.
    public var maxDepth: Int
    /// One string's UTF-8 length in bytes after unescaping (keys and values). Default 1 MiB.
    public var maxStringBytes: Int
    /// Elements in one array. Default 100,000.
    public var maxArrayCount: Int
    /// Members in one object. Default 10,000.
    public var maxObjectMembers: Int
    /// Values in the whole document (every object, array, string, number, literal). Default 2,000,000.
    public var maxTotalValues: Int

    public init(
        maxBytes: Int = 8 * 1024 * 1024,
        maxDepth: Int = 64,
        maxStringBytes: Int = 1024 * 1024,
        maxArrayCount: Int = 100_000,
        maxObjectMembers: Int = 10_000,
        maxTotalValues: Int = 2_000_000
    ) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
        self.maxArrayCount = maxArrayCount
        self.maxObjectMembers = maxObjectMembers
        self.maxTotalValues = maxTotalValues
    }

    public static let `default` = JSONLimits()
}
