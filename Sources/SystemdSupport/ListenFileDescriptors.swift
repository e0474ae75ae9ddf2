#if canImport(Glibc)
    import Glibc
#endif

/// The listening sockets systemd passes on socket activation (`sd_listen_fds(3)`): descriptors
/// from 3 up, counted by `LISTEN_FDS`, named by `LISTEN_FDNAMES`, and meant for us only when
/// `LISTEN_PID` is our pid.
public struct ListenFileDescriptors: Sendable, Equatable {
    public struct Descriptor: Sendable, Equatable {
        public var fd: Int32
        /// From `FileDescriptorName=` in the socket unit (`unknown` when systemd gave none).
        public var name: String
    }

    public static let firstDescriptor: Int32 = 3

    public var descriptors: [Descriptor]

    /// Reads the environment; nil when no sockets were passed to this process.
    public init?(environment: [String: String], pid: Int32 = getpid()) {
        guard let owner = environment["LISTEN_PID"].flatMap(Int32.init), owner == pid,
            let count = environment["LISTEN_FDS"].flatMap(Int32.init), count > 0, count < 1024
        else { return nil }
        let names = environment["LISTEN_FDNAMES"].map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) } ?? []
        descriptors = (0..<count).map { index in
            Descriptor(fd: Self.firstDescriptor + index, name: Int(index) < names.count ? names[Int(index)] : "unknown")
        }
    }

    /// The descriptor named `name`, else the first one.
    public func preferred(named name: String) -> Descriptor? {
        descriptors.first { $0.name == name } ?? descriptors.first
    }

    /// Marks the descriptors close-on-exec and removes the `LISTEN_*` variables, so nothing this
    /// process starts inherits them (sd_listen_fds with unset_environment).
    public func claim() {
        for descriptor in descriptors {
            let flags = fcntl(descriptor.fd, F_GETFD)
            if flags >= 0 { _ = fcntl(descriptor.fd, F_SETFD, flags | FD_CLOEXEC) }
        }
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
    }

    /// Whether `fd` is a listening stream socket (what the gateway can serve on).
    public static func isListeningStreamSocket(_ fd: Int32) -> Bool {
        var type: Int32 = 0
        var listening: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 else { return false }
        length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 else { return false }
        return type == Int32(SOCK_STREAM.rawValue) && listening != 0
    }
}
