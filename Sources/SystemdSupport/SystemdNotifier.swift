#if canImport(Glibc)
    import Glibc
#endif

/// The service manager's notification socket (`sd_notify`): `READY=1`, `STATUS=…`, `WATCHDOG=1`,
/// `RELOADING=1`, `STOPPING=1`, sent as one datagram each to `$NOTIFY_SOCKET` — a path, or an
/// abstract name written with a leading `@`. Without `NOTIFY_SOCKET` (not run by systemd) every
/// call does nothing.
public struct SystemdNotifier: Sendable {
    let socketPath: String?

    /// - Parameter environment: the process environment (handed in, not read here).
    public init(environment: [String: String]) {
        let path = environment["NOTIFY_SOCKET"]
        socketPath = (path?.isEmpty ?? true) ? nil : path
    }

    /// Sends `state` (`KEY=value` lines); returns false when there is no socket or sending failed.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let path = socketPath else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        // An abstract name's length counts exactly its bytes; a path's includes the terminating NUL.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes { buffer in
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
        return sent == message.count
    }

    public func ready(status: String? = nil) {
        notify("READY=1" + (status.map { "\nSTATUS=\($0)" } ?? "") + "\nMAINPID=\(getpid())")
    }

    public func status(_ text: String) { notify("STATUS=\(text)") }

    public func stopping(status: String) { notify("STOPPING=1\nSTATUS=\(status)") }

    /// `RELOADING=1` with `MONOTONIC_USEC` (CLOCK_MONOTONIC in µs), in one datagram.
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        notify("RELOADING=1\nMONOTONIC_USEC=\(microseconds)")
    }
}

/// The watchdog's interval: half of `WATCHDOG_USEC`, when the watchdog is meant for this process
/// (`WATCHDOG_PID` unset or equal to our pid).
public struct WatchdogSettings: Sendable, Equatable {
    public let intervalMicroseconds: UInt64

    public init?(environment: [String: String], pid: Int32 = getpid()) {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"], let ownerPID = Int32(owner), ownerPID != pid { return nil }
        intervalMicroseconds = usec / 2
    }
}
