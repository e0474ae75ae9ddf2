import GzipInflate

/// Gzip inflation with the size cap: the output never exceeds the cap, and the cap is exact (the
/// same stream inflates under a cap of its inflated size and is refused as too large under one
/// byte less).
enum GzipTarget {
    /// The cap while fuzzing: small, so that exceeding it is within the fuzzer's reach.
    static let limit = 64 * 1024

    static func check(_ bytes: [UInt8]) throws(FuzzInvariantViolation) {
        let output: [UInt8]
        do {
            output = try GzipBody.inflate(bytes, limit: limit)
        } catch {
            return
        }
        try invariant(output.count <= limit, .gzip, "\(output.count) bytes inflated under a cap of \(limit)")
        let exact = try? GzipBody.inflate(bytes, limit: output.count)
        try invariant(exact == output, .gzip, "the stream does not inflate to the same bytes under a cap of its size")
        if output.count > 0 {
            let underCap: Result<[UInt8], GzipBodyError> = Result { () throws(GzipBodyError) in
                try GzipBody.inflate(bytes, limit: output.count - 1)
            }
            switch underCap {
            case .success: try invariant(false, .gzip, "\(output.count) bytes inflated under a cap of \(output.count - 1)")
            case .failure(let error): try invariant(error.code == .tooLarge, .gzip, "over the cap by one byte is not said as too large")
            }
        }
    }
}
