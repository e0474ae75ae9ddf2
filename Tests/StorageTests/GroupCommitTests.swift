import Foundation
import GRDB
import Testing

@testable import Storage

#if canImport(Glibc)
    import Glibc
#endif

/// Transactions committed in groups stay each all or nothing, and durable when they return.
struct GroupCommitTests {
    struct Refused: Error {}

    static func store() async throws -> (SQLiteStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("group-commit-\(UUID().uuidString)/gateway.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        return (store, path)
    }

    @Test func concurrentTransactionsCommitTogetherAndAFailingOneRollsBackAlone() async throws {
        let (store, path) = try await Self.store()
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for i in 0..<300 {
                group.addTask {
                    do {
                        _ = try await store.write { transaction in
                            _ = try transaction.upsert(
                                type: "Observation", id: "o\(i)", subject: "Patient/p\(i % 7)", json: Array("{\"n\":\(i)}".utf8))
                            // Every tenth one fails after it wrote: its write must not survive.
                            if i % 10 == 0 { throw Refused() }
                            return i
                        }
                        return (i, true)
                    } catch {
                        return (i, false)
                    }
                }
            }
            var all: [Int: Bool] = [:]
            for await (i, ok) in group { all[i] = ok }
            return all
        }
        #expect(outcomes.count == 300)
        #expect(outcomes.filter { $0.value }.count == 270)
        #expect(outcomes.filter { !$0.value }.allSatisfy { $0.key % 10 == 0 })
        // They went to disk in groups: fewer commits than transactions (the failed ones rolled
        // back inside their group's commit), none larger than 64.
        let committed = store.committed
        #expect(committed.transactions == 300)
        #expect(committed.groups < 300 / 2, "\(committed.groups) commits for 300 transactions")
        #expect(committed.groups >= 300 / 64)

        // A second store on the same file (as after a restart) sees exactly the committed ones.
        let reopened = try SQLiteStore(path: path)
        let stored = try await reopened.write { transaction in
            (0..<7).flatMap { (try? transaction.resources(subject: "Patient/p\($0)")) ?? [] }.map(\.id)
        }
        #expect(Set(stored) == Set((0..<300).filter { $0 % 10 != 0 }.map { "o\($0)" }))
    }

    @Test func aTransactionSeesWhatAnEarlierOneInTheSameGroupWrote() async throws {
        let (store, _) = try await Self.store()
        let versions = await withTaskGroup(of: Int.self) { group in
            for i in 0..<20 {
                group.addTask {
                    (try? await store.write { transaction in
                        try transaction.upsert(type: "Patient", id: "same", subject: nil, json: Array("{\"v\":\(i)}".utf8))
                    }) ?? -1
                }
            }
            var all: [Int] = []
            for await version in group { all.append(version) }
            return all.sorted()
        }
        // Twenty different contents of one resource: versions 1 to 20, each exactly once.
        #expect(versions == Array(1...20))
    }

    @Test func aResourceGetsANewVersionOnlyWhenItsContentChanges() async throws {
        let (store, _) = try await Self.store()
        func put(_ json: String, subject: String = "Patient/a") async throws -> Int {
            try await store.write { try $0.upsert(type: "Observation", id: "x", subject: subject, json: Array(json.utf8)) }
        }
        #expect(try await put("{\"v\":1}") == 1)
        #expect(try await put("{\"v\":1}") == 1)
        #expect(try await put("{\"v\":2}") == 2)
        #expect(try await put("{\"v\":2}") == 2)
        // A change of subject moves the resource to the other patient.
        #expect(try await put("{\"v\":3}", subject: "Patient/b") == 3)
        let (a, b) = try await store.write { (try $0.resources(subject: "Patient/a"), try $0.resources(subject: "Patient/b")) }
        #expect(a.isEmpty)
        #expect(b.map(\.version) == [3])
        #expect(b.first.map { String(decoding: $0.json, as: UTF8.self) } == "{\"v\":3}")
        #expect(b.first?.subject == "Patient/b")

        // An update that fails after it wrote leaves the stored version and content as they were.
        await #expect(throws: Refused.self) {
            try await store.write { transaction -> Int in
                _ = try transaction.upsert(type: "Observation", id: "x", subject: "Patient/b", json: Array("{\"v\":4}".utf8))
                _ = try transaction.upsert(type: "Observation", id: "new", subject: "Patient/b", json: Array("{}".utf8))
                throw Refused()
            }
        }
        let after = try await store.write { try $0.resources(subject: "Patient/b") }
        #expect(after.map(\.id) == ["x"])
        #expect(after.map(\.version) == [3])
    }

    @Test func theWriterRunsAtAHigherPriorityWhileItCommitsAndThenGivesItBack() async throws {
        // On a thread of its own: the nice value is per thread.
        let observed: (before: Int32, raised: Int32?, during: Int32, after: Int32) = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let before = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
                let raised = WriterPriority.raise()
                let during = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
                WriterPriority.restore(raised)
                continuation.resume(returning: (before, raised, during, getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)))
            }
        }
        if let raised = observed.raised {
            // Permitted (root, CAP_SYS_NICE or LimitNICE=): raised while committing.
            #expect(raised == observed.before)
            #expect(observed.during == WriterPriority.nice)
        } else {
            // Not permitted: nothing changed.
            #expect(observed.during == observed.before)
        }
        #expect(observed.after == observed.before)
    }

    @Test func backgroundCheckpointsCopyTheLogAndStartItOverOnceItIsLong() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID().uuidString)/gateway.sqlite").path
        let store = try SQLiteStore(path: path, checkpointsInBackground: true)
        try await store.migrate()
        let page = Array(repeating: UInt8(ascii: "x"), count: 4_000)
        func writeRows(_ range: Range<Int>) async throws {
            try await store.write { transaction in
                for i in range { _ = try transaction.upsert(type: "Observation", id: "o\(i)", subject: "Patient/p", json: page + Array("\(i)".utf8)) }
            }
        }
        // Short of the restart threshold: copied whole, not started over.
        try await writeRows(0..<200)
        let first = try #require(try await store.checkpoint())
        #expect(first.logFrames >= 200)
        #expect(first.copiedFrames == first.logFrames)
        #expect(!first.restarted)

        // SQLite's own checkpoints are off: the log keeps every page until the next checkpoint.
        try await writeRows(200..<(200 + SQLiteStore.restartFrames))
        let long = try #require(try await store.checkpoint())
        #expect(long.restarted)
        #expect(long.copiedFrames == long.logFrames)

        // The next transaction writes from the start of the log again.
        try await writeRows(100_000..<100_001)
        let after = try #require(try await store.checkpoint())
        #expect(after.logFrames < 50)

        // Everything is there for a store opened afterwards.
        let reopened = try SQLiteStore(path: path)
        let count = try await reopened.write { try $0.resources(subject: "Patient/p").count }
        #expect(count == 200 + SQLiteStore.restartFrames + 1)
    }

    @Test func aDatabaseErrorReachesTheCallerAsAStoreErrorAndNothingIsKept() async throws {
        let (store, _) = try await Self.store()
        @Sendable func assessment(_ identifier: String) -> StoredAssessment {
            StoredAssessment(
                identifier: identifier, id: "same", version: 1, subject: "Patient/p", status: "final", json: Array("{}".utf8), updatedAt: Date())
        }
        try await store.write { try $0.saveAndEnqueue(assessment("urn:uuid:a")) }
        // A second assessment under the same logical id breaks the store's UNIQUE constraint.
        let failure = await #expect(throws: StoreError.self) {
            try await store.write { transaction in
                _ = try transaction.upsert(type: "Observation", id: "kept?", subject: "Patient/p", json: Array("{}".utf8))
                try transaction.saveAndEnqueue(assessment("urn:uuid:b"))
            }
        }
        #expect(failure?.reason.isEmpty == false)
        #expect(failure.map { !$0.description.contains("INSERT") } == true, "no SQL in what may be logged")
        let resources = try await store.write { try $0.resources(subject: "Patient/p") }
        #expect(resources.isEmpty)
        #expect(try await store.assessment(identifier: "urn:uuid:b") == nil)
    }

    @Test func aReaderOnAnOlderStateDoesNotHoldTheWriterUpWhenTheLogIsLong() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-reader-\(UUID().uuidString)/gateway.sqlite").path
        // A busy timeout far beyond the checkpoint's own work: waiting for the reader would take ten
        // minutes, while the checkpoint itself (64 MB of log) took up to 36 s on two crowded cores.
        let store = try SQLiteStore(path: path, checkpointsInBackground: true, busyTimeoutMilliseconds: 600_000)
        try await store.migrate()
        _ = try await store.write { try $0.upsert(type: "Observation", id: "first", subject: "Patient/p", json: Array("{}".utf8)) }
        // A reader (as `sqlite3 gateway.sqlite .backup` would be) keeps a read transaction open.
        var readerConfiguration = Configuration()
        readerConfiguration.allowsUnsafeTransactions = true
        let reader = try DatabaseQueue(path: path, configuration: readerConfiguration)
        try await reader.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN")
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM resource")
        }
        let page = Array(repeating: UInt8(ascii: "x"), count: 4_000)
        try await store.write { transaction in
            for i in 0..<SQLiteStore.restartFrames { _ = try transaction.upsert(type: "Observation", id: "o\(i)", subject: "Patient/p", json: page) }
        }
        let started = ContinuousClock.now
        let blocked = try #require(try await store.checkpoint())
        #expect(!blocked.restarted)
        // Not the busy timeout: the writer was not kept waiting for the reader.
        #expect(ContinuousClock.now - started < .seconds(300))
        _ = try await store.write { try $0.upsert(type: "Observation", id: "meanwhile", subject: "Patient/p", json: Array("{}".utf8)) }

        try await reader.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
        let done = try #require(try await store.checkpoint())
        #expect(done.restarted)
    }
}
