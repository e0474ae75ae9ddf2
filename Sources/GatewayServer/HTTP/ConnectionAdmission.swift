import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOTLS

#if canImport(Glibc)
    import Glibc
#endif

/// How many connections a listener keeps open at once. Past the cap a new connection is closed as
/// soon as it is accepted, so that a flood of idle or slow connections can never take the file
/// descriptors the store, the other listener and delivery need (when a process runs out of them,
/// accept spins, the operations listener stops answering and libdispatch can crash it).
final class ConnectionAdmission: Sendable {
    /// The listener, for the metric label and the log (`api`, `operations`).
    let listener: String
    let limit: Int
    private let state = NIOLockedValueBox(State())
    private let refused: @Sendable (_ sinceLastReport: Int?) -> Void

    private struct State {
        var open = 0
        /// The most connections open since memory was last given back.
        var peak = 0
        /// Refusals not yet reported in the log, and when the log last said so.
        var unreported = 0
        var lastReport: UInt64 = 0
    }

    /// - Parameter refused: called for each refusal (the metric), with the count of refusals since
    ///   the last report at most once every 10 s (the log line), else nil.
    init(listener: String, limit: Int, refused: @escaping @Sendable (_ sinceLastReport: Int?) -> Void) {
        self.listener = listener
        self.limit = limit
        self.refused = refused
    }

    /// Takes a place for a new connection, or says there is none.
    func admit() -> Bool {
        let now = DispatchTime.now().uptimeNanoseconds
        let outcome: (admitted: Bool, report: Int?) = state.withLockedValue { state in
            if state.open < limit {
                state.open += 1
                state.peak = max(state.peak, state.open)
                return (true, nil)
            }
            state.unreported += 1
            guard state.lastReport == 0 || now - state.lastReport >= 10_000_000_000 else { return (false, nil) }
            state.lastReport = now
            defer { state.unreported = 0 }
            return (false, state.unreported)
        }
        if !outcome.admitted { refused(outcome.report) }
        return outcome.admitted
    }

    func release() {
        let stormOver: Bool = state.withLockedValue { state in
            state.open -= 1
            guard Self.stormIsOver(peak: state.peak, open: state.open) else { return false }
            state.peak = state.open
            return true
        }
        if stormOver { MemoryReturn.giveBack() }
    }

    /// After a storm of connections (at least 256 open at once) has mostly closed (a quarter
    /// left), the memory their buffers took is given back to the system.
    static func stormIsOver(peak: Int, open: Int) -> Bool {
        peak >= 256 && open <= peak / 4
    }

    var open: Int { state.withLockedValue { $0.open } }

    /// The default cap of the FHIR API's connections: the descriptor limit less what the rest of
    /// the process needs (the store's connections and their log files, the event loops, delivery,
    /// standard streams) and the operations listener's own cap; at least 16.
    static func defaultLimit(descriptorLimit: Int, operationsLimit: Int) -> Int {
        max(16, descriptorLimit - reservedDescriptors - operationsLimit)
    }

    /// Descriptors kept for everything but the two listeners: about 25 for SQLite (7
    /// connections with their database, log and shared-memory files), 10 for the event loops,
    /// up to 20 for delivery, the standard streams, the journal and systemd's sockets, with room.
    static let reservedDescriptors = 96

    /// The soft limit on open files (`ulimit -n`, `LimitNOFILE=`).
    static func descriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        // RLIM_INFINITY is all ones, which clamps to a very large limit.
        return min(Int(clamping: limit.rlim_cur), 1 << 20)
    }
}

/// On a listening channel: admits each accepted connection or closes it at once.
final class AdmissionHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    let admission: ConnectionAdmission

    init(admission: ConnectionAdmission) {
        self.admission = admission
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let connection = unwrapInboundIn(data)
        guard admission.admit() else {
            connection.close(promise: nil)
            return
        }
        let admission = self.admission
        connection.closeFuture.whenComplete { _ in admission.release() }
        context.fireChannelRead(data)
    }
}

/// Closes a connection whose TLS handshake has not completed within the timeout: a client that
/// opens a connection and never speaks holds a descriptor for nothing.
final class HandshakeTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let timeout: TimeAmount
    let expired: @Sendable (SocketAddress?) -> Void
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount, expired: @escaping @Sendable (SocketAddress?) -> Void) {
        self.timeout = timeout
        self.expired = expired
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let expired = self.expired
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            expired(channel.remoteAddress)
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            deadline?.cancel()
            deadline = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }
}

/// Gives the memory the C allocator keeps after freeing back to the system. glibc's malloc keeps
/// freed memory in its arenas for reuse, so the buffers of thousands of closed connections stay
/// resident until `malloc_trim` returns them (`scripts/connection-storm.py` measures it; the
/// figures are in BENCHMARKS.md). Runs off the event loops, one at a time.
enum MemoryReturn {
    private static let queue = DispatchQueue(label: "fhir-risk-gateway.memory-return", qos: .utility)

    /// glibc's `malloc_trim` (declared in malloc.h, which Swift's Glibc module does not bring in),
    /// or nil with another C library.
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
            guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
            return nil
        #endif
    }()

    static func giveBack() {
        guard let trim else { return }
        queue.async { _ = trim(0) }
    }
}
