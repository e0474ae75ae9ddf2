import CZlib

/// Inflates a gzip request body with a cap on the decompressed size, so a small compressed body
/// cannot expand into gigabytes (a "zip bomb").
enum GzipBody {
    static func inflate(_ compressed: [UInt8], limit: Int) throws(GzipBodyError) -> [UInt8] {
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
struct GzipBodyError: Error, Hashable {
    struct Code: Hashable {
        private enum Base: Hashable {
            case tooLarge, corrupt
        }

        private let base: Base

        /// Larger than the limit once inflated.
        static let tooLarge = Code(base: .tooLarge)
        /// Not a gzip stream, or one cut short.
        static let corrupt = Code(base: .corrupt)
    }

    let code: Code

    init(_ code: Code) {
        self.code = code
    }
}
