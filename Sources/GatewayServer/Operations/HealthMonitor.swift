import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import Storage
import SystemdSupport

/// Looks at the daemon's health every watchdog interval (every 5 seconds without a watchdog):
/// the store must take a write and every event loop must answer within two seconds. Only then is
/// `WATCHDOG=1` sent, so a wedged event loop or a SQLite store that stopped taking writes leads
/// systemd to restart the daemon (a PostgreSQL outage does not: see `GatewayStore.isLocal`). Every 5 seconds the `STATUS=` line is refreshed with the store's counts.
struct HealthMonitor: Service {
    let store: any GatewayStore
    let health: HealthState
    let settings: LiveSettings
    let notifier: SystemdNotifier
    let watchdog: WatchdogSettings?
    /// Where the API listens, for the status line.
    let listening: ListenerSource
    let statusEvery: Duration = .seconds(5)

    /// Watches until the group's graceful shutdown reaches it: it is the first service, so the
    /// last one asked to stop.
    func run() async throws {
        try? await cancelWhenGracefulShutdown { await watch() }
    }

    func watch() async {
        let clock = ContinuousClock()
        let interval: Duration = watchdog.map { .microseconds(Int64($0.intervalMicroseconds)) } ?? statusEvery
        var lastStatus: ContinuousClock.Instant?
        while !Task.isCancelled {
            let writable = await storeTakesWrites()
            let responsive = await Self.eventLoopsAnswer(within: .seconds(2))
            health.update {
                $0.storeWritable = writable
                $0.eventLoopsResponsive = responsive
            }
            // A database server that does not take writes is reported (/readyz, the status line,
            // 503s), but the watchdog goes on: restarting the gateway would not mend it.
            if writable || !store.isLocal, responsive, watchdog != nil {
                notifier.notify("WATCHDOG=1")
            }
            if lastStatus.map({ clock.now - $0 >= statusEvery }) ?? true {
                lastStatus = clock.now
                if let statistics = try? await store.statistics() {
                    health.update { $0.statistics = statistics }
                }
                notifier.status(statusLine())
            }
            try? await Task.sleep(for: interval)
        }
    }

    func storeTakesWrites() async -> Bool {
        do {
            try await store.probeWritable(now: Date())
            return true
        } catch {
            return false
        }
    }

    /// Submits a no-op to every loop of the shared event loop group and waits (without blocking
    /// a thread) until all have run it, or the time is up.
    static func eventLoopsAnswer(within limit: Duration) async -> Bool {
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        let answered = NIOLockedValueBox(0)
        for loop in loops {
            loop.execute { answered.withLockedValue { $0 += 1 } }
        }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if answered.withLockedValue({ $0 }) == loops.count { return true }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return false
    }

    /// One line for `systemctl status`: state, cases, outbox, dead letters.
    func statusLine() -> String {
        let now = health.current
        var state = "serving FHIR on \(listening)"
        if now.draining { state = "draining" }
        if !now.storeWritable { state = "degraded: the store does not take writes" }
        if !now.eventLoopsResponsive { state = "degraded: event loops slow to answer" }
        if !settings.current.tls.isValid(at: Date()) { state = "degraded: the server certificate is not valid now" }
        guard let statistics = now.statistics else { return state }
        var line = "\(state); \(statistics.assessments) cases; outbox \(statistics.pending) pending"
        if let oldest = statistics.oldestPending {
            line += " (oldest \(Int(max(0, Date().timeIntervalSince(oldest)))) s)"
        }
        line += "; \(statistics.dead) dead letters"
        return line
    }
}
