import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import ServiceLifecycle

/// Where a listener's socket comes from.
enum ListenerSource: Sendable, CustomStringConvertible {
    case bind(host: String, port: Int)
    /// A listening socket inherited from systemd (`LISTEN_FDS`).
    case adopt(descriptor: Int32, name: String)

    var description: String {
        switch self {
        case .bind(let host, let port): "\(host):\(port)"
        case .adopt(let descriptor, let name): "socket-activated fd \(descriptor) (\(name))"
        }
    }
}

/// A listener: the FHIR API's (HTTPS, `server.host:server.port`, or the listening socket systemd
/// passed on socket activation) and the operations listener (plain HTTP). It admits at most its
/// `admission` cap of connections at once, closing any more as soon as they are accepted. On
/// graceful shutdown it stops accepting, lets every connection finish the request it is on (idle
/// ones close), and returns when the last one is done; the ServiceGroup bounds that wait.
struct Listener<ChildChannel: ServerChildChannel>: Service {
    /// The listener in words, for errors: "the FHIR API", "the operations listener".
    let name: String
    let source: ListenerSource
    let channel: ChildChannel
    let admission: ConnectionAdmission
    let backlog: Int32
    let logger: Logger
    /// Called once the listener accepts connections, with its bound address.
    let onRunning: @Sendable (SocketAddress?) -> Void

    func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let quiescing = ServerQuiescingHelper(group: group)
        let admission = self.admission
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: backlog)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .serverChannelInitializer { server in
                server.eventLoop.makeCompletedFuture {
                    // First the cap: a connection closed here is never tracked for quiescing.
                    try server.pipeline.syncOperations.addHandler(AdmissionHandler(admission: admission))
                    try server.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: server))
                }
            }
        let channel = self.channel
        let logger = self.logger
        let server: NIOAsyncChannel<ChildChannel.Value, Never>
        do {
            switch source {
            case .bind(let host, let port):
                server = try await bootstrap.bind(host: host, port: port) { channel.setup(channel: $0, logger: logger) }
            case .adopt(let descriptor, _):
                server = try await bootstrap.bind(descriptor) { channel.setup(channel: $0, logger: logger) }
            }
        } catch {
            throw BindError(listener: name, address: source.description, error: error)
        }
        onRunning(server.channel.localAddress)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { connections in
                do {
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            connections.addTask { await channel.handle(value: connection, logger: logger) }
                        }
                    }
                } catch {
                    logger.error("the listener failed", metadata: ["error.type": "\(type(of: error))"])
                }
            }
        } onGracefulShutdown: {
            let done = server.channel.eventLoop.makePromise(of: Void.self)
            quiescing.initiateShutdown(promise: done)
        }
    }
}

/// A listener that cannot take its address (already in use, not on this host, not allowed).
struct BindError: Error, CustomStringConvertible {
    let listener: String
    let address: String
    let error: any Error

    var description: String {
        let reason: String
        if let io = error as? IOError {
            reason = "\(String(cString: strerror(io.errnoCode))) (errno \(io.errnoCode))"
        } else {
            reason = "\(error)"
        }
        return "\(listener) cannot listen on \(address): \(reason)"
    }
}
