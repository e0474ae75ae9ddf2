extension Sequence where Element == UInt8 {
    /// The bytes as lowercase hex digits (`[0x0f, 0xa0]` → `"0fa0"`), written straight into one
    /// buffer: the idempotency key hashes every request body, and a formatted string per byte
    /// would be a large share of a request's CPU (BENCHMARKS.md).
    public var hexEncoded: String {
        let digits = hexDigits
        var text: [UInt8] = []
        text.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
