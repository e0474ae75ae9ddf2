import Dispatch
import GRDB
import Synchronization

/// Group commit: the request transactions that arrive while one commit is being written to disk
/// go together into the next one. Each runs in its own savepoint, so one that fails rolls back
/// alone; the group then commits once, with one fsync, and only after that is every waiting
/// request told it is durable. Nothing waits for a group to fill: a request that finds the queue
/// idle is committed at once, so a quiet gateway answers as fast as before, and a busy one shares
/// each fsync among many requests.
final class GroupCommit: Sendable {
    /// One request's transaction, type-erased: `run` inside the group's transaction, `finish`
    /// once the group's commit succeeded (nil) or failed (the error).
    struct Job: Sendable {
        let run: @Sendable (Database) -> Void
        let finish: @Sendable ((any Error)?) -> Void
        /// Runs alone between two groups, outside any transaction (a checkpoint of the log).
        var betweenGroups = false
    }

    private struct State: ~Copyable {
        var queue: [Job] = []
        var writing = false
    }

    private let state = Mutex(State())
    /// Transactions and the groups they were committed in, since the store opened.
    private let counts = Mutex((transactions: 0, groups: 0))

    /// How many request transactions were committed, and in how many groups (commits).
    var committed: (transactions: Int, groups: Int) { counts.withLock { $0 } }
    private let pool: DatabasePool
    /// The most transactions in one group (bounds the work lost to one failing commit).
    let maximumGroup: Int

    init(pool: DatabasePool, maximumGroup: Int = 64) {
        self.pool = pool
        self.maximumGroup = maximumGroup
    }

    /// Runs `body` in the next group; returns once that group is committed to disk.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await enqueue(body, betweenGroups: false)
    }

    /// Runs `body` on the writer's connection after the group being committed, outside any
    /// transaction, before the next group (for work that needs the writer's lock, such as
    /// starting the write-ahead log over: asked for from another connection, it would wait for a
    /// gap between two groups, which a busy writer hardly leaves).
    func betweenGroups<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await enqueue(body, betweenGroups: true)
    }

    private func enqueue<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T, betweenGroups: Bool) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = Outcome<T>()
            let job = Job(
                run: { db in
                    let result: Result<T, any Error>
                    do {
                        result = betweenGroups ? .success(try body(db)) : try Self.inSavepoint(db) { try body(db) }
                    } catch {
                        result = .failure(error)
                    }
                    outcome.value.withLock { $0 = result }
                },
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume(with: outcome.value.withLock { $0 } ?? .failure(CancellationError()))
                    }
                },
                betweenGroups: betweenGroups
            )
            let startWriter = state.withLock { state -> Bool in
                state.queue.append(job)
                if state.writing { return false }
                state.writing = true
                return true
            }
            if startWriter {
                writerQueue.async { self.writeGroups() }
            }
        }
    }

    /// Runs `body` in a savepoint of the group's transaction: what it did stays if it returns, and
    /// is rolled back alone if it throws (its error is then the result, not thrown). The savepoint
    /// statements are prepared once per connection (GRDB's `inSavepoint` parses them on every
    /// call, a measurable part of the writer's time when every request is one savepoint).
    static func inSavepoint<T>(_ db: Database, _ body: () throws -> T) throws -> Result<T, any Error> {
        try db.cachedStatement(sql: "SAVEPOINT request").execute()
        do {
            let value = try body()
            try db.cachedStatement(sql: "RELEASE SAVEPOINT request").execute()
            return .success(value)
        } catch {
            try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT request").execute()
            try db.cachedStatement(sql: "RELEASE SAVEPOINT request").execute()
            return .failure(error)
        }
    }

    /// What one transaction gave, kept from its run (on the writer's thread) until its group is
    /// committed.
    final class Outcome<T: Sendable>: Sendable {
        let value = Mutex<Result<T, any Error>?>(nil)
    }

    /// Where groups are committed, one after another. GRDB's synchronous `write` runs its block
    /// on the calling thread, so a group costs no hop to GRDB's writer queue and back (the async
    /// `write` took two thread switches per group, on top of the requests' own).
    private let writerQueue = DispatchQueue(label: "fhir-risk-gateway.group-commit")

    /// Commits groups until the queue is empty.
    private func writeGroups() {
        let priority = WriterPriority.raise()
        defer { WriterPriority.restore(priority) }
        while true {
            let group = state.withLock { state -> [Job] in
                if state.queue.isEmpty {
                    state.writing = false
                    return []
                }
                if let first = state.queue.first, first.betweenGroups {
                    state.queue.removeFirst()
                    return [first]
                }
                let count = min(maximumGroup, state.queue.firstIndex(where: \.betweenGroups) ?? state.queue.count)
                let group = Array(state.queue.prefix(count))
                state.queue.removeFirst(count)
                return group
            }
            if group.isEmpty { return }
            if let job = group.first, job.betweenGroups {
                // Its error, if any, is its result (`run` keeps it).
                pool.writeWithoutTransaction { db in job.run(db) }
                job.finish(nil)
                continue
            }
            do {
                try pool.write { db in
                    for job in group { job.run(db) }
                }
                counts.withLock { $0 = ($0.transactions + group.count, $0.groups + 1) }
                for job in group { job.finish(nil) }
            } catch {
                for job in group { job.finish(error) }
            }
        }
    }
}
