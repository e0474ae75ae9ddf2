import CaseProcessing
import AsyncHTTPClient
import FHIRCore
import FHIRModels
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import RiskModel
import ServiceLifecycle
import Storage
import SystemdSupport
import UnixSignals

/// The daemon: TLS material, store and migrations first, then the FHIR API, the operations
/// listener, the delivery worker and the reload handler in one ServiceGroup. SIGHUP reloads;
/// SIGTERM and SIGINT drain.
public enum GatewayDaemon {
    /// Why the daemon could not start; `exitCode` 78 (EX_CONFIG) for a configuration that will
    /// not work however often systemd restarts it.
    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
        public var exitCode: Int32
    }

    /// The configuration with the model and the ValueSets it names, read and checked.
    public struct Loaded: Sendable {
        public var configuration: GatewayConfiguration
        public var codes: FeatureCodes
        public var parameters: ModelParameters

        public init(configuration: GatewayConfiguration, codes: FeatureCodes, parameters: ModelParameters) {
            self.configuration = configuration
            self.codes = codes
            self.parameters = parameters
        }
    }

    /// - Parameters:
    ///   - loaded: the configuration read at start-up.
    ///   - reload: reads the configuration again (on SIGHUP).
    ///   - environment: the process environment, for `NOTIFY_SOCKET`, `WATCHDOG_*`, `LISTEN_*`.
    public static func run(
        loaded: Loaded,
        reload: @escaping @Sendable () async throws(ConfigurationError) -> Loaded,
        environment: [String: String],
        logger: Logger
    ) async throws(StartupError) {
        let started = Date()
        let configuration = loaded.configuration
        let notifier = SystemdNotifier(environment: environment)
        let sockets = ListenFileDescriptors(environment: environment)
        sockets?.claim()
        // Trap SIGHUP now: from here on it means "reload", never "terminate".
        let hangups = await UnixSignalsSequence(trapping: .sighup)

        // The checks check-config reports: what stops the start is refused with every reason;
        // the rest (a certificate expired or near its end) is logged and the daemon starts.
        let preflight = Preflight.local(configuration)
        let stopping = preflight.findings.filter(\.stopsServe)
        guard stopping.isEmpty, let tls = preflight.tls else {
            throw fail(stopping.map(\.description).joined(separator: "; "), exitCode: 78, notifier: notifier)
        }
        for finding in preflight.findings {
            logger.log(
                level: finding.level == .error ? .error : .warning, "configuration check",
                metadata: ["key": "\(finding.key)", "problem": "\(finding.problem)", "fix": "\(finding.fix)"])
        }
        let pseudonym: CasePseudonym
        do {
            pseudonym = try CasePseudonym.load(path: configuration.pseudonymKeyFile)
        } catch {
            throw fail("\(error)", exitCode: 78, notifier: notifier)
        }
        let source: ListenerSource
        if let sockets {
            guard let socket = sockets.preferred(named: "https"), ListenFileDescriptors.isListeningStreamSocket(socket.fd) else {
                throw fail("the socket systemd passed (LISTEN_FDS) is not a listening stream socket", exitCode: 78, notifier: notifier)
            }
            source = .adopt(descriptor: socket.fd, name: socket.name)
        } else {
            source = .bind(host: configuration.server.host, port: configuration.server.port)
        }

        // One daemon per store: a second one on the same file is refused before it touches it.
        let storeLock: StoreLock
        do {
            storeLock = try StoreLock(storePath: configuration.storagePath)
        } catch {
            throw fail(error.description, exitCode: 78, notifier: notifier)
        }
        defer { withExtendedLifetime(storeLock) {} }
        let store: SQLiteStore
        do {
            store = try SQLiteStore(path: configuration.storagePath, checkpointsInBackground: true)
            try await store.migrate()
        } catch let mismatch as SchemaVersionError {
            throw fail("storage.path: \(configuration.storagePath): \(mismatch)", exitCode: 78, notifier: notifier)
        } catch {
            throw fail("the store \(configuration.storagePath) cannot be opened: \(error)", exitCode: 1, notifier: notifier)
        }

        let settings = LiveSettings(
            .init(configuration: configuration, processor: processor(loaded), tls: tls))
        let health = HealthState()
        let metrics = GatewayMetrics()
        // The last delivery survives a restart: an alert on its age must not fire on every start.
        if let last = try? await store.lastDeliveredAt() { metrics.delivered(at: last) }
        let events = GatewayEvents(logger: logger, metrics: metrics, pseudonym: pseudonym)

        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: logger, metrics: metrics))
        router.add(middleware: FHIROutcomeMiddleware(logger: logger))
        router.add(middleware: ClientNameMiddleware())
        GatewayAPI(store: store, events: events).register(on: router)
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
        // Each listener's cap on open connections, below the descriptor limit, so that a flood of
        // idle connections never takes the descriptors of the other listener, the store or delivery.
        let operationsLimit = configuration.connections.operationsMax
        let apiLimit =
            configuration.connections.apiMax
            ?? ConnectionAdmission.defaultLimit(descriptorLimit: ConnectionAdmission.descriptorLimit(), operationsLimit: operationsLimit)
        let apiAdmission = ConnectionAdmission(listener: "api", limit: apiLimit) { count in
            events.connectionRefused(listener: "api", limit: apiLimit, sinceLastReport: count)
        }
        let operationsAdmission = ConnectionAdmission(listener: "operations", limit: operationsLimit) { count in
            events.connectionRefused(listener: "operations", limit: operationsLimit, sinceLastReport: count)
        }
        let monitor = HealthMonitor(
            store: store, health: health, settings: settings, notifier: notifier, watchdog: WatchdogSettings(environment: environment),
            listening: source)
        let api = Listener(name: "the FHIR API (server.host, server.port)", source: source, channel: channel, admission: apiAdmission, backlog: 1024, logger: logger) {
            address in
            logger.notice(
                "listening",
                metadata: [
                    "address": "\(address.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? source.description)",
                    "socket.activated": .stringConvertible(sockets != nil),
                ])
            // The configuration is valid, the TLS material loaded, the store migrated and the
            // listener bound or adopted: ready.
            notifier.ready(status: monitor.statusLine())
            logger.notice(
                "started",
                metadata: [
                    "version": "\(GatewayVersion.current)",
                    "model": "\(loaded.parameters.name)",
                    "mutual.tls": .stringConvertible(tls.requiresClientCertificate),
                    "certificate.expires": "\(FHIRInstant.text(tls.notAfter))",
                    "upstream": "\(configuration.upstream == nil ? "none" : "configured")",
                    "startup.ms": .stringConvertible(Int(Date().timeIntervalSince(started) * 1000)),
                    "connections.max": .stringConvertible(apiLimit),
                ]
            )
        }

        let operations = Listener(
            name: "the operations listener (metrics.host, metrics.port)",
            source: .bind(host: configuration.metrics.host, port: configuration.metrics.port),
            channel: HTTP1Channel(
                responder: GatewayResponder.make(
                    OperationsEndpoints(store: store, settings: settings, health: health, metrics: metrics).router().buildResponder(), logger: logger
                ) { channel in BasicRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger)) },
                configuration: .init(idleTimeout: .seconds(30))
            ),
            admission: operationsAdmission, backlog: 64, logger: logger
        ) { _ in }

        // The whole runtime, one ServiceGroup. Graceful shutdown runs from the last service to the
        // first: say STOPPING, stop taking reloads, stop accepting and finish in-flight requests,
        // drain the outbox, shut the HTTP client, then stop checkpoints and retention, close the
        // operations listener (which answers /readyz "draining" meanwhile), and last the health
        // monitor, which keeps the watchdog fed until then.
        var services: [any Service] = [
            monitor, operations,
            RetentionService(store: store, retentionDays: { settings.current.configuration.retentionDays }, logger: logger),
            CheckpointService(store: store, logger: logger),
        ]
        if let upstream = configuration.upstream {
            let clientConfiguration: HTTPClient.Configuration
            do {
                clientConfiguration = try DeliveryService.clientConfiguration(upstream, timeoutSeconds: configuration.delivery.timeoutSeconds)
            } catch {
                throw fail("the upstream's TLS files cannot be used: \(error)", exitCode: 78, notifier: notifier)
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
            services += [
                HTTPClientService(client: client),
                DeliveryService(
                    store: store, upstream: upstream, policy: { settings.current.configuration.delivery }, client: client, logger: logger,
                    metrics: metrics, pseudonym: pseudonym),
            ]
        }
        let reloader = Reloader(settings: settings, reload: reload, notifier: notifier, monitor: monitor, metrics: metrics, logger: logger)
        services += [
            api,
            ReloadService(signals: hangups) { await reloader.reload() },
            ShutdownNotice(notifier: notifier, health: health, monitor: monitor, logger: logger),
        ]
        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(Int64(configuration.drainSeconds * 1000))
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: groupConfiguration)

        let result: Result<Void, any Error>
        do {
            try await group.run()
            result = .success(())
        } catch {
            result = .failure(error)
        }
        let statistics = try? await store.statistics()
        logger.notice(
            "stopped",
            metadata: [
                "uptime.seconds": .stringConvertible(Int(Date().timeIntervalSince(started))),
                "outbox.pending": statistics.map { .stringConvertible($0.pending) } ?? "unknown",
                "outcome": "\(result.isSuccess ? "clean" : "failed")",
            ]
        )
        if case .failure(let error) = result {
            throw fail("the daemon stopped on an error: \(error)", exitCode: 1, notifier: notifier)
        }
    }

    static func processor(_ loaded: Loaded) -> CaseProcessor {
        CaseProcessor(codes: loaded.codes, parameters: loaded.parameters, policy: loaded.configuration.cases)
    }

    /// Tells systemd why (`STATUS=`) and builds the error the command exits with.
    static func fail(_ description: String, exitCode: Int32, notifier: SystemdNotifier) -> StartupError {
        notifier.status("failed: \(description.prefix(200))")
        return StartupError(description: description, exitCode: exitCode)
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
