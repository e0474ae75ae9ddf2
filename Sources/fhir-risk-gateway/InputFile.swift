import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a whole file (or standard input for `-`) with a size limit, for the offline commands.
enum InputFile {
    struct InputFileError: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads the file for a command: an unreadable file is reported on standard error and ends
    /// the command with exit code 2.
    static func readForCommand(_ path: String, limit: Int) throws -> [UInt8] {
        do {
            return try read(path, limit: limit)
        } catch {
            writeToStandardError(error.description + "\n")
            throw ExitCode(2)
        }
    }

    static func read(_ path: String, limit: Int) throws(InputFileError) -> [UInt8] {
        let descriptor = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw InputFileError(description: "Cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { if path != "-" { close(descriptor) } }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw InputFileError(description: "Cannot read '\(path)': \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit {
                throw InputFileError(description: "'\(path)' is larger than the limit of \(limit) bytes")
            }
        }
        return bytes
    }
}
