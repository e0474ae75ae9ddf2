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
    }

    private struct State: ~Copyable {
        var queue: [Job] = []
        var writing = false
    }

    private let state = Mutex(State())
    private let pool: DatabasePool
    /// The most transactions in one group (bounds the work lost to one failing commit).
    let maximumGroup: Int

    init(pool: DatabasePool, maximumGroup: Int = 64) {
        self.pool = pool
        self.maximumGroup = maximumGroup
    }

    /// Runs `body` in the next group; returns once that group is committed to disk.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = Outcome<T>()
            let job = Job(
                run: { db in
                    var result: Result<T, any Error> = .failure(CancellationError())
                    do {
                        try db.inSavepoint {
                            do {
                                result = .success(try body(db))
                                return .commit
                            } catch {
                                result = .failure(error)
                                return .rollback
                            }
                        }
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
                }
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
        while true {
            let group = state.withLock { state -> [Job] in
                if state.queue.isEmpty {
                    state.writing = false
                    return []
                }
                let group = Array(state.queue.prefix(maximumGroup))
                state.queue.removeFirst(group.count)
                return group
            }
            if group.isEmpty { return }
            do {
                try pool.write { db in
                    for job in group { job.run(db) }
                }
                for job in group { job.finish(nil) }
            } catch {
                for job in group { job.finish(error) }
            }
        }
    }
}
