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

    /// A store this process cannot take: another daemon holds it, or the lock file cannot be made.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Takes the lock of the store at `storePath`, or says why not; never waits.
    public init(storePath: String) throws(Failure) {
        path = storePath + ".lock"
        let folder = (storePath as NSString).deletingLastPathComponent
        if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(description: "the store's lock file \(path) cannot be opened: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno == EWOULDBLOCK ? "another fhir-risk-gateway serve is running on this store" : String(cString: strerror(errno))
            close(descriptor)
            throw Failure(
                description: "the store \(storePath) is locked (\(path)): \(reason); one daemon serves one store, so stop the other or point storage.path elsewhere")
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }
}
