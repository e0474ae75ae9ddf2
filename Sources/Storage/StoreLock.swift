import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The lock that keeps one daemon per store: an exclusive `flock` on a file beside the SQLite
/// file (`gateway.sqlite.lock`), held for the process's life. The command line's `outbox` does
/// not take it, so it works beside the running daemon.
public final class StoreLock: Sendable {
    public let path: String
    private let descriptor: Int32

    /// Takes the lock of the store at `storePath`, or says why not; never waits.
    public init(storePath: String) throws(StoreLockError) {
        path = storePath + ".lock"
        let folder = (storePath as NSString).deletingLastPathComponent
        if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreLockError(description: "the store's lock file \(path) cannot be opened: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno == EWOULDBLOCK ? "another fhir-risk-gateway serve is running on this store" : String(cString: strerror(errno))
            close(descriptor)
            throw StoreLockError(
                description: "the store \(storePath) is locked (\(path)): \(reason); one daemon serves one store, so stop the other or point storage.path elsewhere")
        }
        self.descriptor = descriptor
    }

    /// Who holds the lock of the store at `storePath` now (`process 1234`), read from
    /// `/proc/locks` without taking the lock (taking it, even shared, could make a daemon
    /// starting at that moment fail); nil when nobody does or it cannot be told.
    public static func holder(storePath: String) -> String? {
        var status = stat()
        guard stat(storePath + ".lock", &status) == 0,
            let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8)
        else { return nil }
        let device = UInt64(status.st_dev)
        let major = (device >> 8) & 0xFFF | (device >> 32) & ~0xFFF
        let minor = device & 0xFF | (device >> 12) & ~0xFF
        for line in locks.split(separator: "\n") {
            // `1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF`
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK" else { continue }
            let file = fields[5].split(separator: ":")
            guard file.count == 3, UInt64(file[0], radix: 16) == major, UInt64(file[1], radix: 16) == minor,
                UInt64(file[2]) == UInt64(status.st_ino)
            else { continue }
            return "process \(fields[4])"
        }
        return nil
    }

    deinit {
        close(descriptor)
    }
}

/// A store this process cannot take: another daemon holds it, or the lock file cannot be made.
public struct StoreLockError: Error, CustomStringConvertible {
    public var description: String
}
