/// Limits enforced while reading a document; exceeding one is a `.limitExceeded` error.
public struct XMLLimits: Sendable, Hashable {
    /// Largest input accepted, checked before parsing. Default 8 MiB.
    public var maxBytes: Int
    /// Deepest element nesting (the root is level 1). Default 64.
    public var maxDepth: Int
    /// Most elements in one document. Default 500,000.
    public var maxElements: Int
    /// Most attributes on one element (namespace declarations not counted). Default 64.
    public var maxAttributes: Int
    /// Largest text content (adjacent text merged) or attribute value, in UTF-8 bytes. Default 1 MiB.
    public var maxTextBytes: Int

    public init(
        maxBytes: Int = 8 * 1024 * 1024,
        maxDepth: Int = 64,
        maxElements: Int = 500_000,
        maxAttributes: Int = 64,
        maxTextBytes: Int = 1024 * 1024
    ) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxElements = maxElements
        self.maxAttributes = maxAttributes
        self.maxTextBytes = maxTextBytes
    }

    public static let `default` = XMLLimits()
}
