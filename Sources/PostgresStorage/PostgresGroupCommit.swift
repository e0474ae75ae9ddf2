import Foundation
import Logging
import PostgresNIO
import Storage
import Synchronization

/// Group commit on PostgreSQL: the request transactions that arrive while every writer is busy go
/// together into the next transaction a writer commits, each in its own savepoint, so one that
/// fails rolls back alone and the group commits (and waits for PostgreSQL's flush) once. Up to
/// `writers` groups are under way at once, one per pooled connection; a request that finds a
/// writer free runs at once, alone, so a quiet gateway answers as fast as without groups.
///
/// A request that PostgreSQL aborts for a deadlock (two gateways' groups locking patients in
/// opposite orders), a serialization failure or a unique key taken meanwhile rolls back to its
/// savepoint (which releases the locks it took) and runs again in a later group, up to five
/// times in all.
final class PostgresGroupCommit: Sendable {
    /// One request's transaction, type-erased.
    struct Job: Sendable {
        /// Runs the body in the group's transaction (`attempt` from 1). What it gave is kept
        /// until the group is committed.
        let run: @Sendable (PostgresTransaction, _ attempt: Int) -> Ran
        /// Once the group's commit succeeded (nil) or failed (its error).
        let finish: @Sendable ((any Error)?) -> Void
        var attempt = 1
    }

    /// What became of a request's body in the group's transaction.
    enum Ran: Sendable {
        /// Its writes stay.
        case kept
        /// It failed: its writes are rolled back, its error is its answer.
        case failed
        /// PostgreSQL aborted it for what passes at once (a deadlock): its writes are rolled
        /// back and it runs again in a later group.
        case again
    }

    private struct State: ~Copyable {
        var queue: [Job] = []
        var writers = 0
    }

    private let state = Mutex(State())
    private let writers: Int
    /// The most requests in one group (bounds what one failing commit costs).
    private let maximumGroup = 32
    /// Runs a group on a pooled connection, on one of the store's threads.
    private let commit: @Sendable (@escaping @Sendable (PostgresConnection, Logger) throws -> [Int]) async throws -> [Int]

    init(
        writers: Int,
        commit: @escaping @Sendable (@escaping @Sendable (PostgresConnection, Logger) throws -> [Int]) async throws -> [Int]
    ) {
        self.writers = writers
        self.commit = commit
    }

    /// Runs `body` in the next group; returns once that group is committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = Mutex<Result<T, any Error>?>(nil)
            let job = Job(
                run: { transaction, attempt in
                    do {
                        let value = try body(transaction)
                        outcome.withLock { $0 = .success(value) }
                        return .kept
                    } catch let error as PSQLError where attempt < 5 && PostgresStore.runsAgain(error) {
                        return .again
                    } catch let error as PSQLError {
                        outcome.withLock { $0 = .failure(PostgresStore.storeError(error)) }
                    } catch {
                        // The request's own refusal, or the store's failure in words.
                        outcome.withLock { $0 = .failure(error) }
                    }
                    return .failed
                },
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: PostgresStore.storeError(commitError))
                    } else {
                        continuation.resume(with: outcome.withLock { $0 } ?? .failure(CancellationError()))
                    }
                })
            enqueue([job])
        }
    }

    private func enqueue(_ jobs: [Job]) {
        let start = state.withLock { state -> Bool in
            state.queue.append(contentsOf: jobs)
            guard state.writers < writers else { return false }
            state.writers += 1
            return true
        }
        if start {
            // A writer commits groups until the queue is empty.
            Task { await self.writeGroups() }
        }
    }

    private func writeGroups() async {
        while true {
            let group = state.withLock { state -> [Job] in
                if state.queue.isEmpty {
                    state.writers -= 1
                    return []
                }
                let count = min(maximumGroup, state.queue.count)
                let group = Array(state.queue.prefix(count))
                state.queue.removeFirst(count)
                return group
            }
            if group.isEmpty { return }
            await run(group)
        }
    }

    /// Commits one group; the requests to run again go back in the queue.
    private func run(_ group: [Job]) async {
        do {
            let again = try await commit { connection, logger in
                try Self.transaction(group, connection: connection, logger: logger)
            }
            for (index, job) in group.enumerated() where !again.contains(index) { job.finish(nil) }
            if !again.isEmpty {
                enqueue(again.map { index in
                    var job = group[index]
                    job.attempt += 1
                    return job
                })
            }
        } catch {
            for job in group { job.finish(error) }
        }
    }

    /// The group's transaction: a savepoint per request when there are several. Returns the
    /// indexes of the requests to run again.
    static func transaction(_ group: [Job], connection: PostgresConnection, logger: Logger) throws -> [Int] {
        let begin = PostgresTransaction(connection: connection, logger: logger)
        try begin.run("BEGIN")
        do {
            if group.count == 1, let job = group.first {
                // Alone: the transaction is its savepoint.
                let ran = job.run(PostgresTransaction(connection: connection, logger: logger), job.attempt)
                try begin.run(ran == .kept ? "COMMIT" : "ROLLBACK")
                return ran == .again ? [0] : []
            }
            var again: [Int] = []
            for (index, job) in group.enumerated() {
                try begin.run("SAVEPOINT request")
                // Each request keeps its own locks' bookkeeping: a rolled-back savepoint releases
                // the locks taken in it.
                let ran = job.run(PostgresTransaction(connection: connection, logger: logger), job.attempt)
                if ran == .again { again.append(index) }
                if ran != .kept { try begin.run("ROLLBACK TO SAVEPOINT request") }
                try begin.run("RELEASE SAVEPOINT request")
            }
            try begin.run("COMMIT")
            return again
        } catch {
            _ = try? begin.run("ROLLBACK")
            throw error
        }
    }
}
