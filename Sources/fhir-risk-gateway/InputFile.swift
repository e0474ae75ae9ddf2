import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a whole file (or standard input for `-`) with a size limit, for the offline commands.
enum InputFile {
    struct Unreadable: Error, CustomStringConvertible {
        var description: String
    }

    static func read(_ path: String, limit: Int) throws(Unreadable) -> [UInt8] {
        let handle: UnsafeMutablePointer<FILE>?
        if path == "-" {
            handle = stdin
        } else {
            handle = fopen(path, "rb")
        }
        guard let handle else {
            throw Unreadable(description: "Cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { if path != "-" { fclose(handle) } }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if bytes.count > limit {
                throw Unreadable(description: "'\(path)' is larger than the limit of \(limit) bytes")
            }
            if count < chunk.count {
                if ferror(handle) != 0 { throw Unreadable(description: "Cannot read '\(path)': \(String(cString: strerror(errno)))") }
                break
            }
        }
        return bytes
    }
}
