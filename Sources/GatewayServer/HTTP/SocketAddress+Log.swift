import NIOCore

extension Optional where Wrapped == SocketAddress {
    /// `10.20.4.7:51234` for a log line's `peer` (`unknown:0` when the connection has none).
    var logText: String { "\(self?.ipAddress ?? "unknown"):\(self?.port ?? 0)" }
}
