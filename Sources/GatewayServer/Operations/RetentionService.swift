import Foundation
import Logging
import ServiceLifecycle
import Storage

/// Keeps the store from growing without end: every ten minutes it deletes the answers kept for
/// resends and the delivered (or superseded) outbox entries older than `storage.retentionDays`,
/// a few thousand rows per transaction so that requests never wait long behind it. Resources,
/// assessments, pending deliveries and dead letters are never pruned.
struct RetentionService: Service {
    let store: any GatewayStore
    let retentionDays: @Sendable () -> Int
    let logger: Logger
    let every: Duration = .seconds(600)
    let batch = 5_000

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: every) }
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            await pruneOnce(now: Date())
        }
    }

    func pruneOnce(now: Date) async {
        let before = now.addingTimeInterval(-Double(retentionDays()) * 86_400)
        var total = PruneCount(answers: 0, deliveries: 0)
        do {
            while !Task.isShuttingDownGracefully {
                let count = try await store.prune(answersBefore: before, deliveriesBefore: before, limit: batch)
                total.answers += count.answers
                total.deliveries += count.deliveries
                if count.answers < batch, count.deliveries < batch { break }
            }
        } catch {
            logger.error("pruning the store failed", metadata: ["error.type": "\(type(of: error))"])
        }
        if total.answers > 0 || total.deliveries > 0 {
            logger.notice(
                "pruned", metadata: ["answers": .stringConvertible(total.answers), "deliveries": .stringConvertible(total.deliveries), "retention.days": .stringConvertible(retentionDays())])
        }
    }
}
