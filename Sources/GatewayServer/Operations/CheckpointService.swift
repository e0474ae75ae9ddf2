import Foundation
import Logging
import ServiceLifecycle
import Storage

/// Checkpoints the store's write-ahead log ten times a second from a connection of its own, so
/// that the store's single writer never stops between two commit groups to copy pages into the
/// database file and fsync it (see `SQLiteStore.checkpoint()`).
struct CheckpointService: Service {
    let store: any GatewayStore
    let logger: Logger
    let every: Duration = .milliseconds(100)

    func run() async throws {
        var failing = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: every) }
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            do {
                _ = try await store.checkpoint()
                if failing { logger.notice("checkpoints of the store work again") }
                failing = false
            } catch {
                // Said once per failing stretch, not ten times a second; the log then grows until
                // a checkpoint succeeds (or SQLite checkpoints when the daemon closes the store).
                if !failing { logger.error("checkpointing the store failed", metadata: ["error.type": "\(type(of: error))"]) }
                failing = true
            }
        }
    }
}
