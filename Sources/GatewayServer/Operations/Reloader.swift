import CaseProcessing
import FHIRModels
import Foundation
import Logging
import Prometheus
import RiskModel
import SystemdSupport

/// A reload (SIGHUP, `systemctl reload`): `RELOADING=1` with `MONOTONIC_USEC`, then the
/// configuration, the model, the ValueSets of `Profiles/` and the TLS files are read again and
/// checked. All good: they replace the running ones as one piece (new connections get the new
/// certificate). Anything wrong: nothing changes, an error line says what, and the daemon goes
/// on serving the old configuration. Either way `READY=1` follows.
///
/// The listeners' addresses, the store, the upstream and the drain budget are fixed at start-up;
/// a change to them is reported and takes effect at the next restart.
struct Reloader: Sendable {
    let settings: LiveSettings
    let reload: @Sendable () async throws(ConfigurationError) -> GatewayDaemon.Loaded
    let notifier: SystemdNotifier
    let monitor: HealthMonitor
    let metrics: GatewayMetrics
    let logger: Logger

    func reload() async {
        notifier.reloading()
        logger.notice("reloading")
        let outcome = await attempt()
        switch outcome {
        case .success(let (snapshot, restartOnly)):
            settings.replace(snapshot)
            metrics.reloads("applied").increment()
            for key in restartOnly {
                logger.warning("reload: this change takes effect at the next restart", metadata: ["key": "\(key)"])
            }
            logger.notice(
                "reloaded",
                metadata: [
                    "model": "\(snapshot.processor.assessor.parameters.name)",
                    "certificate.expires": "\(FHIRInstant.text(snapshot.tls.notAfter))",
                    "mutual.tls": .stringConvertible(snapshot.tls.requiresClientCertificate),
                ]
            )
        case .failure(let failure):
            metrics.reloads("refused").increment()
            logger.error(
                "reload refused: still serving the previous configuration",
                metadata: ["problems": .stringConvertible(failure.problems.joined(separator: "; "))]
            )
        }
        notifier.ready(status: monitor.statusLine())
    }

    func attempt() async -> Result<(LiveSettings.Snapshot, [String]), ConfigurationError> {
        let loaded: GatewayDaemon.Loaded
        do {
            loaded = try await reload()
        } catch {
            return .failure(error)
        }
        let tls: ServerTLSMaterial
        do {
            tls = try ServerTLSMaterial.load(loaded.configuration.tls)
        } catch {
            return .failure(ConfigurationError(problems: [error.description]))
        }
        let old = settings.current.configuration
        var new = loaded.configuration
        let restartOnly = Self.restartOnlyChanges(from: old, to: new)
        // Keep what only a restart can change as it is now.
        new.server = old.server
        new.metrics = old.metrics
        new.connections = old.connections
        new.storagePath = old.storagePath
        new.postgres = old.postgres
        new.upstream = old.upstream
        new.drainSeconds = old.drainSeconds
        new.pseudonymKeyFile = old.pseudonymKeyFile
        var current = loaded
        current.configuration = new
        return .success(
            (LiveSettings.Snapshot(configuration: new, processor: GatewayDaemon.processor(current), conformance: current.conformance, tls: tls), restartOnly))
    }

    /// The keys whose change needs a restart, that changed.
    static func restartOnlyChanges(from old: GatewayConfiguration, to new: GatewayConfiguration) -> [String] {
        var keys: [String] = []
        if old.server != new.server { keys.append("server") }
        if old.metrics != new.metrics { keys.append("metrics") }
        if old.connections != new.connections { keys.append("connections (server.maxConnections, metrics.maxConnections, server.tlsHandshakeTimeoutSeconds, server.requestHeaderTimeoutSeconds)") }
        if old.storagePath != new.storagePath { keys.append("storage.path") }
        if old.postgres != new.postgres { keys.append("storage (kind, url, passwordFile, tls, caCertificate, poolSize)") }
        if old.upstream != new.upstream { keys.append("upstream") }
        if old.delivery.concurrency != new.delivery.concurrency { keys.append("delivery.concurrency") }
        if old.drainSeconds != new.drainSeconds { keys.append("shutdown.drainSeconds") }
        if old.pseudonymKeyFile != new.pseudonymKeyFile { keys.append("logging.pseudonymKeyFile") }
        return keys
    }
}
