import CZlib

/// Inflates a gzip request body with a cap on the decompressed size, so a small compressed body
/// cannot expand into gigabytes (a "zip bomb"). A module of its own (zlib only), so that the
/// fuzz target for it links without the HTTP server.
public enum GzipBody {
    public static func inflate(_ compressed: [UInt8], limit: Int) throws(GzipBodyError) -> [UInt8] {
        var stream = z_stream()
        guard czlib_inflate_init_gzip(&stream) == Z_OK else { throw GzipBodyError(.corrupt) }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = compressed
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { destination in
                    stream.next_out = destination.baseAddress
                    stream.avail_out = UInt32(destination.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    let produced = destination.count - Int(stream.avail_out)
                    if output.count + produced > limit {
                        status = Z_MEM_ERROR  // marks "over the limit" below
                        return
                    }
                    output.append(contentsOf: destination[0..<produced])
                }
            } while status == Z_OK && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        switch status {
        case Z_STREAM_END: return output
        case Z_MEM_ERROR: throw GzipBodyError(.tooLarge)
        default: throw GzipBodyError(.corrupt)
        }
    }
}

/// A gzip request body that cannot be inflated: corrupt, or larger than the limit once inflated.
public struct GzipBodyError: Error, Hashable, Sendable {
    public struct Code: Hashable, Sendable {
        private enum Base: Hashable, Sendable {
            case tooLarge, corrupt
        }

        private let base: Base

        /// Larger than the limit once inflated.
        public static let tooLarge = Code(base: .tooLarge)
        /// Not a gzip stream, or one cut short.
        public static let corrupt = Code(base: .corrupt)
    }

    public let code: Code

    public init(_ code: Code) {
        self.code = code
    }
}
