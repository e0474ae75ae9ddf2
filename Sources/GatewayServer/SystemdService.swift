import Foundation
import ServiceLifecycle
import SystemdSupport

/// Keeps systemd informed: `WATCHDOG=1` every half `WATCHDOG_USEC` while the store answers, and
/// `STOPPING=1` as soon as a graceful shutdown begins (it is the last service of the group, so the
/// first to hear of the shutdown).
struct SystemdService: Service {
    let notifier: SystemdNotifier
    let watchdog: WatchdogSettings?
    let healthy: @Sendable () async -> Bool

    func run() async throws {
        await withGracefulShutdownHandler {
            guard let watchdog else {
                try? await gracefulShutdown()
                return
            }
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                if await healthy() { notifier.notify("WATCHDOG=1") }
                try? await Task.sleep(for: .microseconds(Int64(watchdog.intervalMicroseconds)))
            }
        } onGracefulShutdown: {
            notifier.stopping()
        }
    }
}
