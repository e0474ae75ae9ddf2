import Foundation

/// A small file the configuration names (a token, a PEM key), read with a cap on its size, so a
/// path pointed at something large (or endless, such as `/dev/zero`) costs nothing.
enum SmallFile {
    /// The file's text; nil when it cannot be read, is not UTF-8, or holds more than `limit` bytes.
    static func text(_ path: String, limit: Int = 65_536) -> String? {
        bytes(path, limit: limit).flatMap { String(bytes: $0, encoding: .utf8) }
    }

    /// The file's bytes; nil when it cannot be read or holds more than `limit` bytes (no more
    /// than `limit` + 1 are ever read).
    static func bytes(_ path: String, limit: Int) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: limit + 1), data.count <= limit else { return nil }
        return Array(data)
    }
}
