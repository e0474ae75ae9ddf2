import AsyncHTTPClient
import FHIRCore
import FHIRModels
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus
import RiskModel
import ServiceLifecycle
import Storage
import SystemdSupport

extension GatewayDaemon {
    /// Each listener's cap on open connections, below the descriptor limit, so that a flood of
    /// idle connections never takes the descriptors of the other listener, the store or delivery.
    struct ConnectionCaps {
        var api: ConnectionAdmission
        var operations: ConnectionAdmission

        init(_ connections: GatewayConfiguration.Connections, events: GatewayEvents) {
            let operationsLimit = connections.operationsMax
            let apiLimit =
                connections.apiMax
                ?? ConnectionAdmission.defaultLimit(descriptorLimit: ConnectionAdmission.descriptorLimit(), operationsLimit: operationsLimit)
            api = ConnectionAdmission(listener: "api", limit: apiLimit) { count in
                events.connectionRefused(listener: "api", limit: apiLimit, sinceLastReport: count)
            }
            operations = ConnectionAdmission(listener: "operations", limit: operationsLimit) { count in
                events.connectionRefused(listener: "operations", limit: operationsLimit, sinceLastReport: count)
            }
        }
    }

    /// The FHIR API's routes behind its middleware: the request log and trace, OperationOutcome
    /// answers for what no route takes, the client allow-list.
    static func apiRouter(
        store: any GatewayStore, events: GatewayEvents, metrics: GatewayMetrics, outbox: OutboxSignal, logger: Logger
    ) -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: logger, metrics: metrics))
        router.add(middleware: FHIROutcomeMiddleware(logger: logger))
        router.add(middleware: ClientNameMiddleware())
        GatewayAPI(store: store, events: events, outbox: outbox).register(on: router)
        return router
    }

    /// The FHIR API: its router, over HTTP/1.1 in TLS with the live
    /// settings' current certificate. `listening` runs once the socket is bound or adopted.
    static func apiListener(
        ground: Ground, settings: LiveSettings, events: GatewayEvents, metrics: GatewayMetrics, outbox: OutboxSignal, admission: ConnectionAdmission,
        logger: Logger,
        listening: @escaping @Sendable (SocketAddress?) -> Void
    ) -> Listener<GatewayTLSChannel> {
        let configuration = settings.current.configuration
        let router = apiRouter(store: ground.store, events: events, metrics: metrics, outbox: outbox, logger: logger)
        let channel = GatewayTLSChannel(
            base: HTTP1Channel(
                responder: GatewayResponder.make(router.buildResponder(), logger: logger) { channel in
                    GatewayRequestContext(source: GatewayRequestSource(channel: channel, logger: logger, settings: settings.current))
                },
                configuration: .init(idleTimeout: .seconds(75))
            ),
            context: { settings.current.tls.context },
            handshakeTimeout: .milliseconds(Int64(configuration.connections.tlsHandshakeTimeoutSeconds * 1000)),
            handshakeFailed: { peer, failure in
                events.tlsHandshakeFailed(peer: peer, failure: failure.underServerCertificate(valid: settings.current.tls.isValid(at: Date())))
            },
            maxBodyBytes: { settings.current.configuration.limits.maxBodyBytes },
            requestHeaderTimeout: .milliseconds(Int64(configuration.connections.requestHeaderTimeoutSeconds * 1000)),
            refusedAtTheEdge: { status, reason, peer, client in events.refusedAtTheEdge(status: status, reason: reason, peer: peer, client: client) }
        )
        return Listener(
            name: "the FHIR API (server.host, server.port)", source: ground.source, channel: channel, admission: admission, backlog: 1024,
            logger: logger, onRunning: listening)
    }

    /// `/livez`, `/readyz`, `/metrics` and the outbox's state, plain HTTP on its own address.
    static func operationsListener(
        _ configuration: GatewayConfiguration, endpoints: OperationsEndpoints, admission: ConnectionAdmission, logger: Logger
    ) -> Listener<HTTP1Channel> {
        Listener(
            name: "the operations listener (metrics.host, metrics.port)",
            source: .bind(host: configuration.metrics.host, port: configuration.metrics.port),
            channel: HTTP1Channel(
                responder: GatewayResponder.make(endpoints.router().buildResponder(), logger: logger) { channel in
                    BasicRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
                },
                configuration: .init(idleTimeout: .seconds(30))
            ),
            admission: admission, backlog: 64, logger: logger
        ) { _ in }
    }

    /// The HTTP client and the outbox worker, in the order the group starts them (so shutdown
    /// drains the outbox before it closes the client); none without an upstream.
    static func deliveryServices(
        _ configuration: GatewayConfiguration, store: any GatewayStore, settings: LiveSettings, metrics: GatewayMetrics, ground: Ground,
        outbox: OutboxSignal, notifier: SystemdNotifier, logger: Logger
    ) throws(StartupError) -> [any Service] {
        guard let upstream = configuration.upstream else { return [] }
        let clientConfiguration: HTTPClient.Configuration
        do {
            clientConfiguration = try DeliveryService.clientConfiguration(upstream, timeoutSeconds: configuration.delivery.timeoutSeconds)
        } catch {
            throw fail("the upstream's TLS files cannot be used: \(error)", exitCode: 78, notifier: notifier)
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        var smart: SMARTBackendAuth?
        if let settingsSMART = upstream.smart, let signer = ground.signer {
            smart = SMARTBackendAuth(
                settings: settingsSMART, baseURL: upstream.baseURL, signer: signer, client: client, timeoutSeconds: configuration.delivery.timeoutSeconds,
                backoff: (configuration.delivery.initialBackoffSeconds, configuration.delivery.maxBackoffSeconds), logger: logger
            ) { failure in
                metrics.upstreamAuthFailures(failure.code.description).increment()
                logger.error("the authorization server refused the gateway", metadata: ["auth.error": "\(failure.code)", "reason": "\(failure.message)"])
            }
        }
        return [
            HTTPClientService(client: client),
            DeliveryService(
                store: store, upstream: upstream, authorization: UpstreamAuthorization(upstream, smart: smart), signal: outbox,
                policy: { settings.current.configuration.delivery }, client: client, logger: logger, metrics: metrics, pseudonym: ground.pseudonym),
        ]
    }

    /// The `started` line: what this daemon runs with.
    static func announceStart(
        _ loaded: Loaded, tls: ServerTLSMaterial, address: SocketAddress?, ground: Ground, caps: ConnectionCaps, started: Date, logger: Logger
    ) {
        logger.notice(
            "listening",
            metadata: [
                "address": "\(address.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? ground.source.description)",
                "socket.activated": .stringConvertible(ground.socketActivated),
            ])
        logger.notice(
            "started",
            metadata: [
                "version": "\(GatewayVersion.current)",
                "model": "\(loaded.parameters.name)",
                "mutual.tls": .stringConvertible(tls.requiresClientCertificate),
                "certificate.expires": "\(FHIRInstant.text(tls.notAfter))",
                "upstream": "\(loaded.configuration.upstream == nil ? "none" : "configured")",
                "startup.ms": .stringConvertible(Int(Date().timeIntervalSince(started) * 1000)),
                "connections.max": .stringConvertible(caps.api.limit),
            ]
        )
    }
}
