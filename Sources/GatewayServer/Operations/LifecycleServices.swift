import AsyncHTTPClient
import Logging
import ServiceLifecycle
import SystemdSupport
import UnixSignals

/// On SIGTERM or SIGINT (it is the last service, so the first told): `STOPPING=1`, `/readyz`
/// answers "draining", and a log line.
struct ShutdownNotice: Service {
    let notifier: SystemdNotifier
    let health: HealthState
    let monitor: HealthMonitor
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        health.update { $0.draining = true }
        notifier.stopping(status: monitor.statusLine())
        logger.notice("shutting down: no new connections; finishing requests in flight, then the outbox")
    }
}

/// SIGHUP → a reload, one at a time, until shutdown.
struct ReloadService: Service {
    let signals: UnixSignalsSequence
    let reload: @Sendable () async -> Void

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            await reload()
        }
    }
}

/// The delivery's HTTP client, shut down once the services after it in the group (delivery)
/// have stopped.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
