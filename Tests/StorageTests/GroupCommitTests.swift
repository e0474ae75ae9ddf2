import Foundation
import Storage
import Testing

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
}
