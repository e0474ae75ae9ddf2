import CaseProcessing
import AsyncHTTPClient
import FHIRCore
import FHIRModels
import FHIRProfiles
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import PostgresStorage
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
        /// The profiles of Profiles/, incoming resources are validated against.
        public var conformance: ConformancePackage

        public init(configuration: GatewayConfiguration, codes: FeatureCodes, parameters: ModelParameters, conformance: ConformancePackage) {
            self.configuration = configuration
            self.codes = codes
            self.parameters = parameters
            self.conformance = conformance
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
        let ground = try await Ground.prepare(configuration, sockets: sockets, notifier: notifier, logger: logger)
        defer { withExtendedLifetime(ground.storeLock) {} }
        guard let postgres = ground.store as? PostgresStore else {
            return try await serve(loaded, ground: ground, reload: reload, hangups: hangups, notifier: notifier, environment: environment, started: started, logger: logger)
        }
        // The PostgreSQL store's connection pool runs around the services: from the first read
        // (the last delivery's time) to the last (the outbox's count on the "stopped" line).
        do {
            try await postgres.withRunning {
                try await serve(loaded, ground: ground, reload: reload, hangups: hangups, notifier: notifier, environment: environment, started: started, logger: logger)
            }
        } catch let failure as StartupError {
            throw failure
        } catch {
            throw fail("the daemon stopped on an error: \(error)", exitCode: 1, notifier: notifier)
        }
    }

    /// The services on the ground prepared, in one ServiceGroup, until shutdown.
    static func serve(
        _ loaded: Loaded, ground: Ground, reload: @escaping @Sendable () async throws(ConfigurationError) -> Loaded,
        hangups: UnixSignalsSequence, notifier: SystemdNotifier, environment: [String: String], started: Date, logger: Logger
    ) async throws(StartupError) {
        let configuration = loaded.configuration
        let store = ground.store

        let settings = LiveSettings(.init(configuration: configuration, processor: processor(loaded), conformance: loaded.conformance, tls: ground.tls))
        let health = HealthState()
        let metrics = GatewayMetrics(assessmentProfiles: GatewayMetrics.assessmentProfiles(in: loaded.conformance))
        // The last delivery survives a restart: an alert on its age must not fire on every start.
        if let last = try? await store.lastDeliveredAt() { metrics.delivered(at: last) }
        let events = GatewayEvents(logger: logger, metrics: metrics, pseudonym: ground.pseudonym)
        let monitor = HealthMonitor(
            store: store, health: health, settings: settings, notifier: notifier, watchdog: WatchdogSettings(environment: environment),
            listening: ground.source)
        let caps = ConnectionCaps(configuration.connections, events: events)
        let outbox = OutboxSignal()
        let api = apiListener(
            ground: ground, settings: settings, events: events, metrics: metrics, outbox: outbox, admission: caps.api, logger: logger
        ) { address in
            // The configuration is valid, the TLS material loaded, the store migrated and the
            // listener bound or adopted: ready.
            notifier.ready(status: monitor.statusLine())
            announceStart(loaded, tls: ground.tls, address: address, ground: ground, caps: caps, started: started, logger: logger)
        }
        let operations = operationsListener(
            configuration, endpoints: OperationsEndpoints(store: store, settings: settings, health: health, metrics: metrics, jwks: ground.signer?.publicJWKS),
            admission: caps.operations, logger: logger)
        let delivery = try deliveryServices(
            configuration, store: store, settings: settings, metrics: metrics, ground: ground, outbox: outbox, notifier: notifier, logger: logger)
        let reloader = Reloader(settings: settings, reload: reload, notifier: notifier, monitor: monitor, metrics: metrics, logger: logger)

        // The whole runtime, one ServiceGroup. Graceful shutdown runs from the last service to the
        // first: say STOPPING, stop taking reloads, stop accepting and finish in-flight requests,
        // drain the outbox, shut the HTTP client, then stop checkpoints and retention, close the
        // operations listener (which answers /readyz "draining" meanwhile), and last the health
        // monitor, which keeps the watchdog fed until then.
        let services: [any Service] =
            [
                monitor, operations,
                RetentionService(store: store, retentionDays: { settings.current.configuration.retentionDays }, logger: logger),
                CheckpointService(store: store, logger: logger),
            ] + delivery
            + [
                api,
                ReloadService(signals: hangups) { await reloader.reload() },
                ShutdownNotice(notifier: notifier, health: health, monitor: monitor, logger: logger),
            ]
        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(Int64(configuration.drainSeconds * 1000))
        groupConfiguration.maximumCancellationDuration = .seconds(5)

        let result: Result<Void, any Error>
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
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
        CaseProcessor(codes: loaded.codes, parameters: loaded.parameters, policy: loaded.configuration.cases, conformance: loaded.conformance)
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
