import Foundation
import GRDB
import Logging
import PostgresStorage
import Storage
import TestSupport
import Testing

/// The store's contract (`GatewayStore`, `StoreTransaction`), held against both implementations:
/// the embedded SQLite store and the PostgreSQL one (a real server, TestSupport's
/// `PostgresServer`, one for the suite, a fresh database per test). Then what only the PostgreSQL
/// store promises: two stores on one database stand for two gateways, and share the outbox, the
/// migrations and each patient's facts without a race.
@Suite(.serialized, .sharedPostgres)
struct StoreContractTests {
    struct Refused: Error {}

    // MARK: - A transaction is all or nothing

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func aTransactionsWritesCommitTogetherAndAThrowingBodyLeavesNothing(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.write { transaction in
                _ = try transaction.upsert(type: "Patient", id: "p", subject: "Patient/p", json: json(#"{"id":"p"}"#))
                try transaction.saveResponse(Self.response("first"), forKey: "k1")
                try transaction.saveAndEnqueue(Self.assessment(1))
            }
            #expect(
                try await Self.snapshot(store, keys: ["k1", "k2"], subject: "Patient/p")
                    == Snapshot(resources: ["Patient/p"], answers: ["k1"], pending: ["urn:uuid:1@1"], assessments: ["urn:uuid:1@1"]))

            // A body that throws after it wrote: a resource, an answer, a new version that
            // supersedes the pending one. None of it stays, the pending version included.
            await #expect(throws: Refused.self) {
                try await store.write { transaction in
                    _ = try transaction.upsert(type: "Observation", id: "o", subject: "Patient/p", json: json(#"{"id":"o"}"#))
                    _ = try transaction.upsert(type: "Patient", id: "p", subject: "Patient/p", json: json(#"{"id":"p","changed":true}"#))
                    try transaction.saveResponse(Self.response("second"), forKey: "k2")
                    try transaction.saveAndEnqueue(Self.assessment(1, version: 2))
                    try transaction.saveAndEnqueue(Self.assessment(2))
                    try transaction.setHeld(subject: "Patient/p", reasons: ["no result"], now: Date())
                    throw Refused()
                }
            }
            #expect(
                try await Self.snapshot(store, keys: ["k1", "k2"], subject: "Patient/p")
                    == Snapshot(resources: ["Patient/p"], answers: ["k1"], pending: ["urn:uuid:1@1"], assessments: ["urn:uuid:1@1"]))
            #expect(try await store.outbox(state: nil, since: nil, limit: 10).count == 1)
            #expect(try await store.held(subject: "Patient/p") == nil)
            let version = try await store.write { transaction in try transaction.resources(subject: "Patient/p").first?.version }
            #expect(version == 1)

            // Bodies at the same time (they may share a commit): each is all or nothing.
            let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
                for i in 0..<20 {
                    group.addTask {
                        do {
                            try await store.write { transaction in
                                _ = try transaction.upsert(type: "Observation", id: "c\(i)", subject: "Patient/c", json: json(#"{"n":\#(i)}"#))
                                try transaction.saveResponse(Self.response("c\(i)"), forKey: "c\(i)")
                                if i % 4 == 0 { throw Refused() }
                            }
                            return (i, true)
                        } catch is Refused {
                            return (i, false)
                        } catch {
                            // The body's own error comes out as it is, never as the store's.
                            Issue.record("write \(i) failed with \(error), not its own Refused")
                            return (i, false)
                        }
                    }
                }
                var outcomes: [Int: Bool] = [:]
                for await (i, committed) in group { outcomes[i] = committed }
                return outcomes
            }
            #expect(outcomes.filter(\.value).keys.sorted() == (0..<20).filter { $0 % 4 != 0 })
            let (ids, answers) = try await store.write { transaction in
                (
                    try transaction.resources(subject: "Patient/c").map(\.id).sorted(),
                    try (0..<20).filter { try transaction.response(forKey: "c\($0)") != nil }
                )
            }
            #expect(ids == (0..<20).filter { $0 % 4 != 0 }.map { "c\($0)" }.sorted())
            #expect(answers == (0..<20).filter { $0 % 4 != 0 })
        }
    }

    // MARK: - Resources

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func upsertVersionsResourcesAndKeepsTheirFirstArrival(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let first = Date(timeIntervalSince1970: 1_700_000_000.25)
            let second = first.addingTimeInterval(10)
            let third = first.addingTimeInterval(20)
            let versions = try await store.write { transaction in
                [
                    try transaction.upsert(type: "Observation", id: "o1", subject: "Patient/p", json: json(#"{"v":1}"#), now: first),
                    // Unchanged content: the same version.
                    try transaction.upsert(type: "Observation", id: "o1", subject: "Patient/p", json: json(#"{"v":1}"#), now: second),
                    // Changed: one more.
                    try transaction.upsert(type: "Observation", id: "o1", subject: "Patient/p", json: json(#"{"v":2}"#), now: second),
                    try transaction.upsert(type: "Patient", id: "p", subject: "Patient/p", json: json(#"{"id":"p"}"#), now: second),
                    // Another patient's, and one without a subject.
                    try transaction.upsert(type: "Observation", id: "o2", subject: "Patient/q", json: json(#"{"v":1}"#), now: second),
                    try transaction.upsert(type: "Practitioner", id: "d", subject: nil, json: json(#"{"id":"d"}"#), now: second),
                ]
            }
            #expect(versions == [1, 1, 2, 1, 1, 1])
            // In a later transaction: changed again, then unchanged.
            let later = try await store.write { transaction in
                [
                    try transaction.upsert(type: "Observation", id: "o1", subject: "Patient/p", json: json(#"{"v":3}"#), now: third),
                    try transaction.upsert(type: "Observation", id: "o1", subject: "Patient/p", json: json(#"{"v":3}"#), now: third),
                ]
            }
            #expect(later == [3, 3])

            let resources = try await store.write { transaction in try transaction.resources(subject: "Patient/p") }
            let byID = Dictionary(uniqueKeysWithValues: resources.map { ($0.id, $0) })
            #expect(resources.count == 2)
            let o1 = try #require(byID["o1"])
            #expect(o1.type == "Observation" && o1.version == 3 && o1.subject == "Patient/p")
            #expect(String(decoding: o1.json, as: UTF8.self) == #"{"v":3}"#)
            // The first arrival is kept through every change.
            #expect(close(o1.receivedAt, first))
            let patient = try #require(byID["p"])
            #expect(patient.type == "Patient" && patient.version == 1 && close(patient.receivedAt, second))
            let other = try await store.write { transaction in try transaction.resources(subject: "Patient/q").map(\.id) }
            #expect(other == ["o2"])
            let nobody = try await store.write { transaction in try transaction.resources(subject: "Patient/none") }
            #expect(nobody.isEmpty)
        }
    }

    // MARK: - Answers

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func aSavedAnswerIsFoundByItsKey(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let answer = StoredResponse(
                status: 201, contentType: "application/fhir+json", body: Array("{\"ok\":true}\u{0}\u{FF}".utf8), location: "Observation/o/_history/1")
            let before = try await store.write { transaction in
                let before = try transaction.response(forKey: "message:1")
                try transaction.saveResponse(answer, forKey: "message:1")
                // Read back inside the same transaction.
                return (before, try transaction.response(forKey: "message:1"))
            }
            #expect(before.0 == nil)
            #expect(before.1 == answer)
            let (found, missing) = try await store.write { transaction in
                (try transaction.response(forKey: "message:1"), try transaction.response(forKey: "message:2"))
            }
            #expect(found == answer)
            #expect(missing == nil)
            // Saved again under the same key: the newer answer (no location) replaces it.
            let replaced = StoredResponse(status: 200, contentType: "application/fhir+xml", body: [], location: nil)
            try await store.write { transaction in try transaction.saveResponse(replaced, forKey: "message:1") }
            #expect(try await store.write { transaction in try transaction.response(forKey: "message:1") } == replaced)
        }
    }

    // MARK: - Assessments

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func assessmentsAreReadBackAtTheirLatestVersion(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let updated = Date(timeIntervalSince1970: 1_700_000_100.5)
            var first = Self.assessment(1, subject: "Patient/p")
            first.updatedAt = updated
            first.caseKey = "case-a"
            let one = first
            var second = Self.assessment(2, subject: "Patient/p")
            second.updatedAt = updated.addingTimeInterval(5)
            let two = second
            try await store.write { transaction in
                try transaction.saveAndEnqueue(one)
                try transaction.saveAndEnqueue(two)
            }
            var newer = one
            newer.version = 2
            newer.status = "amended"
            newer.json = json(#"{"n":1,"v":2}"#)
            newer.updatedAt = updated.addingTimeInterval(10)
            let amended = newer
            try await store.write { transaction in try transaction.saveAndEnqueue(amended) }

            let byID = try #require(try await store.assessment(id: "1"))
            #expect(byID.identifier == "urn:uuid:1" && byID.version == 2 && byID.status == "amended" && byID.caseKey == "case-a")
            #expect(byID.json == amended.json && close(byID.updatedAt, amended.updatedAt))
            #expect(try await store.assessment(identifier: "urn:uuid:1")?.version == 2)
            #expect(try await store.assessment(id: "9") == nil)
            #expect(try await store.assessment(identifier: "urn:uuid:9") == nil)
            // Oldest change first; each at its latest version.
            let listed = try await store.assessments(subject: "Patient/p")
            #expect(listed.map(\.identifier) == ["urn:uuid:2", "urn:uuid:1"])
            #expect(listed.map(\.version) == [1, 2])
            #expect(listed.last?.caseKey == "case-a" && listed.first?.caseKey == nil)
            let inTransaction = try await store.write { transaction in
                (try transaction.assessments(subject: "Patient/p"), try transaction.assessment(identifier: "urn:uuid:2"))
            }
            #expect(inTransaction.0.map(\.identifier) == ["urn:uuid:2", "urn:uuid:1"])
            #expect(inTransaction.0.last?.status == "amended")
            #expect(inTransaction.1?.version == 1 && inTransaction.1?.subject == "Patient/p")
            #expect(try await store.assessments(subject: "Patient/none").isEmpty)
        }
    }

    // MARK: - The outbox

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func theOutboxHandsOutTheNewestVersionAndRecordsWhatBecameOfEachDelivery(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.statistics() == StoreStatistics(assessments: 0, pending: 0, oldestPending: nil, dead: 0))
            let empty = try await store.dueDeliveries(now: Date(), limit: 10, excluding: [])
            #expect(empty.due.isEmpty && empty.nextDue == nil)

            try await store.write { transaction in
                try transaction.saveAndEnqueue(Self.assessment(1))
                try transaction.saveAndEnqueue(Self.assessment(2))
            }
            let betweenWrites = Date()
            try await Self.waitForClock(after: betweenWrites)
            // A second version supersedes the pending first.
            try await store.write { transaction in try transaction.saveAndEnqueue(Self.assessment(1, version: 2)) }
            let pending = try await store.outbox(state: .pending, since: nil, limit: 10)
            #expect(pending.map(\.assessmentIdentifier) == ["urn:uuid:1", "urn:uuid:2"])
            #expect(pending.map(\.assessmentVersion) == [2, 1])
            #expect(pending.allSatisfy { $0.attempts == 0 && $0.lastError == nil && $0.deliveredAt == nil })
            let superseded = try await store.outbox(state: .superseded, since: nil, limit: 10)
            #expect(superseded.map(\.assessmentVersion) == [1])
            #expect(superseded.first?.assessmentIdentifier == "urn:uuid:1")
            let one = try #require(pending.first)
            let two = try #require(pending.last)
            #expect(one.sequence > two.sequence && two.sequence > superseded[0].sequence)
            let statistics = try await store.statistics()
            #expect(statistics.assessments == 2 && statistics.pending == 2 && statistics.dead == 0)
            #expect(close(statistics.oldestPending, two.createdAt))

            // Only the newest version is due, oldest due first, each with its assessment as stored.
            let now = Date().addingTimeInterval(1)
            let due = try await store.dueDeliveries(now: now, limit: 10, excluding: [])
            #expect(due.due.map(\.item.sequence) == [two.sequence, one.sequence])
            #expect(due.due.map(\.item.state) == [.pending, .pending])
            #expect(due.due.map { $0.assessment?.version } == [1, 2])
            #expect(due.due.map { $0.assessment.map { String(decoding: $0.json, as: UTF8.self) } } == [#"{"n":2,"v":1}"#, #"{"n":1,"v":2}"#])
            #expect(due.nextDue == nil)

            // Both in flight. The second fails: a retry in a minute.
            try await store.reschedule(two.sequence, attempts: 1, at: now.addingTimeInterval(60), error: "HTTP 503")
            let inFlight = try await store.dueDeliveries(now: now, limit: 10, excluding: ["urn:uuid:1"])
            #expect(inFlight.due.isEmpty)
            #expect(close(inFlight.nextDue, now.addingTimeInterval(60)))
            // Nothing else pending outside what is in flight.
            let allInFlight = try await store.dueDeliveries(now: now, limit: 10, excluding: ["urn:uuid:1", "urn:uuid:2"])
            #expect(allInFlight.due.isEmpty && allInFlight.nextDue == nil)

            // The first is delivered; the retry falls due and is handed out with its attempt.
            let delivered = now.addingTimeInterval(2)
            try await store.markDelivered(one.sequence, at: delivered)
            #expect(close(try await store.lastDeliveredAt(), delivered))
            let retry = try await store.dueDeliveries(now: now.addingTimeInterval(61), limit: 10, excluding: [])
            #expect(retry.due.map(\.item.sequence) == [two.sequence])
            #expect(retry.due.first?.item.attempts == 1 && retry.due.first?.item.lastError == "HTTP 503")
            #expect(retry.nextDue == nil)
            // It is refused: given up.
            try await store.markDead(two.sequence, attempts: 2, error: "HTTP 422: unprocessable")

            #expect(try await store.statistics() == StoreStatistics(assessments: 2, pending: 0, oldestPending: nil, dead: 1))
            let dead = try await store.outbox(state: .dead, since: nil, limit: 10)
            #expect(dead.map(\.sequence) == [two.sequence])
            #expect(dead.first?.attempts == 2 && dead.first?.lastError == "HTTP 422: unprocessable")
            let done = try await store.outbox(state: .delivered, since: nil, limit: 10)
            #expect(done.map(\.sequence) == [one.sequence])
            #expect(done.first?.attempts == 1 && done.first?.lastError == nil && close(done.first?.deliveredAt, delivered))
            #expect(try await store.outbox(state: .pending, since: nil, limit: 10).isEmpty)
            let none = try await store.dueDeliveries(now: now.addingTimeInterval(120), limit: 10, excluding: [])
            #expect(none.due.isEmpty && none.nextDue == nil)

            // Every entry, newest first; a limit; a time after every entry.
            let all = try await store.outbox(state: nil, since: nil, limit: 10)
            #expect(all.map(\.sequence) == [one.sequence, two.sequence, superseded[0].sequence])
            #expect(all.map(\.state) == [.delivered, .dead, .superseded])
            #expect(try await store.outbox(state: nil, since: nil, limit: 1).map(\.sequence) == [one.sequence])
            #expect(try await store.outbox(state: nil, since: now.addingTimeInterval(3600), limit: 10).isEmpty)
            #expect(try await store.outbox(state: nil, since: betweenWrites, limit: 10).map(\.sequence) == [one.sequence])

            // The dead letter is put back, due now, its attempts started over; only once.
            let requeuedAt = now.addingTimeInterval(200)
            #expect(try await store.requeue(two.sequence, now: requeuedAt))
            #expect(try await !store.requeue(two.sequence, now: requeuedAt))
            let statisticsAfter = try await store.statistics()
            #expect(statisticsAfter.pending == 1 && statisticsAfter.dead == 0 && close(statisticsAfter.oldestPending, two.createdAt))
            let early = try await store.dueDeliveries(now: requeuedAt.addingTimeInterval(-1), limit: 10, excluding: [])
            #expect(early.due.isEmpty && close(early.nextDue, requeuedAt))
            // (A moment after: the time read back from the store may differ from it in the last bit.)
            let again = try await store.dueDeliveries(now: requeuedAt.addingTimeInterval(0.001), limit: 10, excluding: [])
            #expect(again.due.map(\.item.sequence) == [two.sequence])
            #expect(again.due.first?.item.attempts == 0 && again.due.first?.item.state == .pending)
            // A delivered one is put back too, and the last delivery goes back with it.
            #expect(try await store.requeue(one.sequence, now: requeuedAt))
            #expect(try await store.outbox(state: .pending, since: nil, limit: 10).map(\.sequence) == [one.sequence, two.sequence])
            #expect(try await store.lastDeliveredAt() == nil)
            // A sequence that does not exist.
            #expect(try await !store.requeue(9_999, now: requeuedAt))
        }
    }

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func aLimitLeavesTheRestDueAndANewerVersionOfAnAssessmentInFlightWaits(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.write { transaction in
                for number in 1...3 { try transaction.saveAndEnqueue(Self.assessment(number)) }
            }
            let now = Date().addingTimeInterval(1)
            let first = try await store.dueDeliveries(now: now, limit: 1, excluding: [])
            #expect(first.due.map(\.item.assessmentIdentifier) == ["urn:uuid:1"])
            // The rest is due already: look again at once. (The PostgreSQL store says a tenth of a
            // second later, for a row another gateway may hold locked this instant.)
            let next = try #require(first.nextDue)
            #expect(next <= now.addingTimeInterval(0.1 + 0.001))

            // Version 2 of the assessment in flight waits for it, even when due.
            try await store.write { transaction in try transaction.saveAndEnqueue(Self.assessment(1, version: 2)) }
            let rest = try await store.dueDeliveries(now: now, limit: 10, excluding: ["urn:uuid:1"])
            #expect(rest.due.map(\.item.assessmentIdentifier) == ["urn:uuid:2", "urn:uuid:3"])
            #expect(rest.nextDue == nil)
            // The first (now superseded) went out; the newer version is handed out next.
            try await store.markDelivered(first.due[0].item.sequence, at: now)
            for item in rest.due { try await store.markDelivered(item.item.sequence, at: now) }
            let newer = try await store.dueDeliveries(now: now.addingTimeInterval(1), limit: 10, excluding: [])
            #expect(newer.due.map(\.item.assessmentIdentifier) == ["urn:uuid:1"])
            #expect(newer.due.first?.item.assessmentVersion == 2 && newer.due.first?.assessment?.version == 2)
            #expect(try await store.outbox(state: .delivered, since: nil, limit: 10).count == 3)
        }
    }

    // MARK: - Held cases

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func heldCasesAreKeptUntilCleared(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let t1 = Date(timeIntervalSince1970: 1_700_000_000)
            let t2 = t1.addingTimeInterval(10)
            let t3 = t1.addingTimeInterval(20)
            try await store.write { transaction in
                try transaction.setHeld(subject: "Patient/a", reasons: ["no lactate yet", "two sepsis\nscreens"], now: t1)
                try transaction.setHeld(subject: "Patient/b", reasons: ["no vital signs"], now: t2)
            }
            let a = try #require(try await store.held(subject: "Patient/a"))
            // One line a reason: a line break inside one becomes a space.
            #expect(a.subject == "Patient/a" && a.reasons == ["no lactate yet", "two sepsis screens"] && close(a.updatedAt, t1))
            #expect(try await store.held(subject: "Patient/none") == nil)
            #expect(try await store.heldCases(limit: 10).map(\.subject) == ["Patient/b", "Patient/a"])
            #expect(try await store.heldCases(limit: 1).map(\.subject) == ["Patient/b"])

            // The same reasons again: nothing changes (not even when).
            try await store.write { transaction in
                try transaction.setHeld(subject: "Patient/a", reasons: ["no lactate yet", "two sepsis screens"], now: t3)
            }
            #expect(close(try await store.held(subject: "Patient/a")?.updatedAt, t1))
            #expect(try await store.heldCases(limit: 10).map(\.subject) == ["Patient/b", "Patient/a"])
            // Other reasons: changed now, most recent first.
            try await store.write { transaction in try transaction.setHeld(subject: "Patient/a", reasons: ["no lactate yet"], now: t3) }
            let changed = try #require(try await store.held(subject: "Patient/a"))
            #expect(changed.reasons == ["no lactate yet"] && close(changed.updatedAt, t3))
            #expect(try await store.heldCases(limit: 10).map(\.subject) == ["Patient/a", "Patient/b"])
            // No reasons: cleared.
            try await store.write { transaction in try transaction.setHeld(subject: "Patient/a", reasons: [], now: t3) }
            #expect(try await store.held(subject: "Patient/a") == nil)
            #expect(try await store.heldCases(limit: 10).map(\.subject) == ["Patient/b"])
        }
    }

    // MARK: - Retention, probe, last delivery

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func pruneDeletesOldAnswersAndFinishedDeliveriesOnly(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.write { transaction in
                _ = try transaction.upsert(type: "Patient", id: "p", subject: "Patient/p", json: json("{}"))
                try transaction.saveResponse(Self.response("old 1"), forKey: "old1")
                try transaction.saveResponse(Self.response("old 2"), forKey: "old2")
                for number in 1...4 { try transaction.saveAndEnqueue(Self.assessment(number)) }
            }
            // 1 delivered, 2 superseded by a version 2 still pending, 3 dead, 4 pending.
            let items = try await store.outbox(state: .pending, since: nil, limit: 10).sorted { $0.sequence < $1.sequence }
            try await store.markDelivered(items[0].sequence, at: Date())
            try await store.markDead(items[2].sequence, attempts: 1, error: "HTTP 400")
            try await store.write { transaction in try transaction.saveAndEnqueue(Self.assessment(2, version: 2)) }
            let middle = Date()
            try await Self.waitForClock(after: middle)
            try await store.write { transaction in try transaction.saveResponse(Self.response("new"), forKey: "new") }

            // Nothing is that old.
            let epoch = Date(timeIntervalSince1970: 0)
            #expect(try await store.prune(answersBefore: epoch, deliveriesBefore: epoch, limit: 10) == PruneCount(answers: 0, deliveries: 0))
            // A limit: one of each at most.
            let later = Date().addingTimeInterval(60)
            #expect(try await store.prune(answersBefore: middle, deliveriesBefore: later, limit: 1) == PruneCount(answers: 1, deliveries: 1))
            // The rest before `middle`: the other old answer and the other finished delivery.
            #expect(try await store.prune(answersBefore: middle, deliveriesBefore: later, limit: 10) == PruneCount(answers: 1, deliveries: 1))
            #expect(try await store.prune(answersBefore: middle, deliveriesBefore: later, limit: 10) == PruneCount(answers: 0, deliveries: 0))

            let (answers, resources, assessments) = try await store.write { transaction in
                (
                    try ["old1", "old2", "new"].filter { try transaction.response(forKey: $0) != nil },
                    try transaction.resources(subject: "Patient/p").count,
                    try (1...4).compactMap { try transaction.assessment(identifier: "urn:uuid:\($0)")?.version }
                )
            }
            #expect(answers == ["new"])
            #expect(resources == 1)
            #expect(assessments == [1, 2, 1, 1])
            // The pending deliveries and the dead letter stay, however old.
            let left = try await store.outbox(state: nil, since: nil, limit: 10)
            #expect(Set(left.map(\.state)) == [.pending, .dead])
            #expect(left.filter { $0.state == .pending }.map(\.assessmentIdentifier).sorted() == ["urn:uuid:2", "urn:uuid:4"])
            #expect(left.filter { $0.state == .dead }.map(\.assessmentIdentifier) == ["urn:uuid:3"])
            #expect(
                try await store.statistics()
                    == StoreStatistics(
                        assessments: 4, pending: 2, oldestPending: left.filter { $0.state == .pending }.map(\.createdAt).min(), dead: 1))
        }
    }

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func probeWritableCommitsAndLastDeliveredAtIsTheLatestDelivery(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.probeWritable(now: Date())
            try await store.probeWritable(now: Date())
            #expect(try await store.lastDeliveredAt() == nil)
            try await store.write { transaction in
                try transaction.saveAndEnqueue(Self.assessment(1))
                try transaction.saveAndEnqueue(Self.assessment(2))
            }
            let items = try await store.outbox(state: .pending, since: nil, limit: 10).sorted { $0.sequence < $1.sequence }
            // A dead letter or a pending one is no delivery.
            try await store.markDead(items[0].sequence, attempts: 3, error: "HTTP 400")
            #expect(try await store.lastDeliveredAt() == nil)
            let t = Date(timeIntervalSince1970: 1_700_000_500.5)
            try await store.markDelivered(items[1].sequence, at: t)
            #expect(close(try await store.lastDeliveredAt(), t))
            // The latest, not the last recorded.
            _ = try await store.requeue(items[0].sequence, now: Date())
            try await store.markDelivered(items[0].sequence, at: t.addingTimeInterval(-100))
            #expect(close(try await store.lastDeliveredAt(), t))
            try await store.probeWritable(now: Date())
            // Only a store other gateways share is polled.
            #expect((store.pollInterval == nil) == (kind == .sqlite))
        }
    }

    // MARK: - Migrations

    @Test(arguments: [StoreKind.sqlite, .postgresql])
    func migratingAgainChangesNothing(kind: StoreKind) async throws {
        try await withStore(kind) { store, location in
            try await store.write { transaction in
                _ = try transaction.upsert(type: "Patient", id: "p", subject: "Patient/p", json: json("{}"))
                try transaction.saveAndEnqueue(Self.assessment(1))
                try transaction.saveResponse(Self.response("kept"), forKey: "k")
            }
            // The fixture migrated once already.
            try await store.migrate()
            try await store.migrate()
            #expect(
                try await Self.snapshot(store, keys: ["k"], subject: "Patient/p")
                    == Snapshot(resources: ["Patient/p"], answers: ["k"], pending: ["urn:uuid:1@1"], assessments: ["urn:uuid:1@1"]))
            switch location {
            case .sqlite(let path):
                let queue = try DatabaseQueue(path: path)
                let applied = try await queue.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
                }
                #expect(applied == SQLiteStore.migrationNames.sorted())
            case .postgresql(let server, let database):
                let applied = try server.psql("SELECT name FROM gateway_migration ORDER BY name", database: database)
                #expect(applied.split(separator: "\n").map(String.init) == PostgresStore.migrationNames.sorted())
            }
            // And it still takes writes.
            let version = try await store.write { transaction in
                try transaction.upsert(type: "Patient", id: "p", subject: "Patient/p", json: json(#"{"changed":1}"#))
            }
            #expect(version == 2)
        }
    }

    // MARK: - PostgreSQL: two gateways on one database

    @Test func twoStoresClaimingAtOnceNeverGetTheSameDeliveryAndTogetherGetAll() async throws {
        try await withPostgresStores(2, leaseSeconds: 60) { stores in
            let count = 120
            try await stores[0].write { transaction in
                for number in 1...count { try transaction.saveAndEnqueue(Self.assessment(number)) }
            }
            let queued = Set(try await stores[0].outbox(state: .pending, since: nil, limit: 1_000).map(\.sequence))
            #expect(queued.count == count)
            let now = Date().addingTimeInterval(1)
            // Each store claims a few at a time, until a claim finds nothing, both at once, and
            // passes what it holds as in flight (as the delivery worker does: a lease of its own
            // outside them is an orphan it claims again). (At most as many rounds as there are
            // deliveries: a store that claimed what it holds again would go on for ever.)
            let claims = try await withThrowingTaskGroup(of: (index: Int, rounds: [[Int64]], held: Set<String>).self) { group in
                for (index, store) in stores.enumerated() {
                    group.addTask {
                        var rounds: [[Int64]] = []
                        var held: Set<String> = []
                        while rounds.count <= count {
                            let found = try await store.dueDeliveries(now: now, limit: 3, excluding: held)
                            if found.due.isEmpty { return (index, rounds, held) }
                            #expect(found.due.count <= 3)
                            #expect(found.due.allSatisfy { $0.assessment?.identifier == $0.item.assessmentIdentifier })
                            rounds.append(found.due.map(\.item.sequence))
                            held.formUnion(found.due.map(\.item.assessmentIdentifier))
                        }
                        Issue.record("a store was still claiming after \(count) rounds")
                        return (index, rounds, held)
                    }
                }
                var claims: [(index: Int, rounds: [[Int64]], held: Set<String>)] = []
                for try await result in group { claims.append(result) }
                return claims
            }
            let all = claims.flatMap { $0.rounds.flatMap { $0 } }
            #expect(all.count == Set(all).count, "a sequence was claimed twice")
            #expect(Set(all) == queued, "missing: \(queued.subtracting(all).sorted())")
            // Nothing is left to claim for either while the leases run.
            for claim in claims {
                let left = try await stores[claim.index].dueDeliveries(now: now, limit: 10, excluding: claim.held)
                #expect(left.due.isEmpty)
                #expect(left.nextDue.map { $0 > now.addingTimeInterval(30) } == true)
            }
        }
    }

    @Test func aDeliveryClaimedByAStoreThatDiedIsTakenOverOnceItsLeaseExpires() async throws {
        try await withPostgresDatabase { server, database in
            let dying = try Self.postgresStore(server, database, leaseSeconds: 1)
            let survivor = try Self.postgresStore(server, database, leaseSeconds: 1)
            try await dying.migrate()
            // The first gateway claims the delivery, and dies with it in flight: it never records
            // an outcome and its connections go.
            let (claimedAt, claimed) = try await dying.withRunning {
                try await dying.write { transaction in try transaction.saveAndEnqueue(Self.assessment(1)) }
                let claimedAt = Date()
                return (claimedAt, try await dying.dueDeliveries(now: claimedAt, limit: 10, excluding: []).due.map(\.item.sequence))
            }
            #expect(claimed.count == 1)
            let sequence = try #require(claimed.first)

            try await survivor.withRunning {
                // Not while the lease runs; due when it ends.
                let during = try await survivor.dueDeliveries(now: claimedAt.addingTimeInterval(0.5), limit: 10, excluding: [])
                #expect(during.due.isEmpty)
                #expect(close(during.nextDue, claimedAt.addingTimeInterval(1), within: 0.01))
                // Then, once the lease has expired (waited out on the clock).
                let deadline = ContinuousClock.now + .seconds(15)
                var takenOver: DueDeliveries.Delivery?
                var takenAt = Date()
                while takenOver == nil, ContinuousClock.now < deadline {
                    takenAt = Date()
                    takenOver = try await survivor.dueDeliveries(now: takenAt, limit: 10, excluding: []).due.first
                    if takenOver == nil { try await Task.sleep(for: .milliseconds(50)) }
                }
                let delivery = try #require(takenOver, "the survivor never took the delivery over")
                #expect(delivery.item.sequence == sequence)
                #expect(delivery.assessment?.identifier == "urn:uuid:1")
                #expect(takenAt >= claimedAt.addingTimeInterval(1))
                // Now it is the survivor's: not handed out again while its lease runs.
                #expect(try await survivor.dueDeliveries(now: takenAt.addingTimeInterval(0.5), limit: 10, excluding: ["urn:uuid:1"]).due.isEmpty)
                try await survivor.markDelivered(sequence, at: Date())
                #expect(try await survivor.outbox(state: .delivered, since: nil, limit: 10).map(\.sequence) == [sequence])
                let after = try await survivor.dueDeliveries(now: Date().addingTimeInterval(5), limit: 10, excluding: [])
                #expect(after.due.isEmpty && after.nextDue == nil)
            }
        }
    }

    @Test func aNewerVersionWaitsWhileAnotherStoreDeliversTheOlderOne() async throws {
        try await withPostgresStores(2, leaseSeconds: 60) { stores in
            let (first, second) = (stores[0], stores[1])
            try await first.write { transaction in
                try transaction.saveAndEnqueue(Self.assessment(1))
                try transaction.saveAndEnqueue(Self.assessment(2))
            }
            let now = Date().addingTimeInterval(1)
            // The first gateway claims version 1 of assessment 1 (and 2, which it delivers at once).
            let claimed = try await first.dueDeliveries(now: now, limit: 10, excluding: [])
            #expect(claimed.due.map(\.item.assessmentIdentifier) == ["urn:uuid:1", "urn:uuid:2"])
            let old = try #require(claimed.due.first?.item)
            try await first.markDelivered(claimed.due[1].item.sequence, at: now)
            // Version 2 arrives (through the other gateway) while version 1 is out.
            try await second.write { transaction in try transaction.saveAndEnqueue(Self.assessment(1, version: 2)) }
            #expect(try await first.outbox(state: .superseded, since: nil, limit: 10).map(\.sequence) == [old.sequence])

            // Neither gateway hands version 2 out while version 1's lease is held.
            let later = now.addingTimeInterval(1)
            let waiting = try await second.dueDeliveries(now: later, limit: 10, excluding: [])
            #expect(waiting.due.isEmpty)
            #expect(waiting.nextDue.map { $0 > later } == true)
            #expect(try await first.dueDeliveries(now: later, limit: 10, excluding: ["urn:uuid:1"]).due.isEmpty)

            // Version 1 delivered: version 2 goes next, with its assessment.
            try await first.markDelivered(old.sequence, at: later)
            let next = try await second.dueDeliveries(now: later, limit: 10, excluding: [])
            #expect(next.due.map(\.item.assessmentIdentifier) == ["urn:uuid:1"])
            #expect(next.due.first?.item.assessmentVersion == 2 && next.due.first?.assessment?.version == 2)
            #expect(try await first.outbox(state: .delivered, since: nil, limit: 10).map(\.assessmentVersion).sorted() == [1, 1])
        }
    }

    @Test func aStoreClaimsAgainAtOnceItsOwnLeaseOnADeliveryItHasNotInFlight() async throws {
        try await withPostgresStores(2, leaseSeconds: 60) { stores in
            let (gateway, other) = (stores[0], stores[1])
            try await gateway.write { transaction in try transaction.saveAndEnqueue(Self.assessment(1)) }
            let now = Date().addingTimeInterval(1)
            let claimed = try #require(try await gateway.dueDeliveries(now: now, limit: 10, excluding: []).due.first)
            // In flight: nobody gets it, the claimant included.
            #expect(try await gateway.dueDeliveries(now: now, limit: 10, excluding: ["urn:uuid:1"]).due.isEmpty)
            #expect(try await other.dueDeliveries(now: now, limit: 10, excluding: []).due.isEmpty)
            // Its outcome could not be recorded (the database was down): no longer in flight, the
            // claimant takes it again at once; the other gateway still waits for the lease.
            let again = try await gateway.dueDeliveries(now: now, limit: 10, excluding: [])
            #expect(again.due.map(\.item.sequence) == [claimed.item.sequence])
            #expect(try await other.dueDeliveries(now: now.addingTimeInterval(30), limit: 10, excluding: []).due.isEmpty)
        }
    }

    @Test func migrationsStartedAtTheSameMomentAllSucceed() async throws {
        try await withPostgresDatabase { server, database in
            let stores = try (0..<4).map { _ in try Self.postgresStore(server, database, leaseSeconds: 60) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in stores { group.addTask { try await store.migrate() } }
                try await group.waitForAll()
            }
            let applied = try server.psql("SELECT name FROM gateway_migration ORDER BY name", database: database)
            #expect(applied.split(separator: "\n").map(String.init) == PostgresStore.migrationNames.sorted())
            // No advisory lock is left behind.
            #expect(
                try server.psql(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                    database: database) == "0")
            let version = try await stores[3].withRunning {
                try await stores[3].write { transaction in
                    try transaction.upsert(type: "Patient", id: "p", subject: "Patient/p", json: json("{}"))
                }
            }
            #expect(version == 1)
        }
    }

    @Test func writesForOnePatientFromTwoStoresRunOneAtATime() async throws {
        try await withPostgresStores(2, leaseSeconds: 60) { stores in
            // Each reads how many resources the patient has and adds the next one: two at the
            // same time would read the same count and write the same resource.
            let outcomes = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for i in 0..<20 {
                    let store = stores[i % 2]
                    group.addTask {
                        try await store.write { transaction in
                            let count = try transaction.resources(subject: "Patient/p").count
                            let version = try transaction.upsert(
                                type: "Observation", id: "o\(count)", subject: "Patient/p", json: json(#"{"writer":\#(i)}"#))
                            return (count, version)
                        }
                    }
                }
                var outcomes: [(Int, Int)] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            #expect(outcomes.map(\.0).sorted() == Array(0..<20))
            #expect(outcomes.allSatisfy { $0.1 == 1 })
            let ids = try await stores[1].write { transaction in try transaction.resources(subject: "Patient/p").map(\.id) }
            #expect(Set(ids) == Set((0..<20).map { "o\($0)" }))
            #expect(ids.count == 20)
        }
    }

    @Test func aResendReachingTwoStoresAtOnceIsAnsweredOnce() async throws {
        try await withPostgresStores(2, leaseSeconds: 60) { stores in
            let firsts = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<10 {
                    let store = stores[i % 2]
                    group.addTask {
                        try await store.write { transaction in
                            if try transaction.response(forKey: "bundle:1") != nil { return false }
                            _ = try transaction.upsert(type: "Observation", id: "o\(i)", subject: "Patient/p", json: json("{}"))
                            try transaction.saveResponse(Self.response("answer \(i)"), forKey: "bundle:1")
                            return true
                        }
                    }
                }
                var firsts = 0
                for try await first in group where first { firsts += 1 }
                return firsts
            }
            #expect(firsts == 1)
            let resources = try await stores[0].write { transaction in try transaction.resources(subject: "Patient/p").count }
            #expect(resources == 1)
        }
    }

    // MARK: - Fixtures

    static func assessment(_ number: Int, version: Int = 1, subject: String? = nil) -> StoredAssessment {
        StoredAssessment(
            identifier: "urn:uuid:\(number)", id: "\(number)", version: version, subject: subject ?? "Patient/p\(number)", status: "final",
            json: json(#"{"n":\#(number),"v":\#(version)}"#), updatedAt: Date())
    }

    static func response(_ text: String) -> StoredResponse {
        StoredResponse(status: 201, contentType: "application/fhir+json", body: json(#"{"text":"\#(text)"}"#), location: nil)
    }

    /// What a store holds, in short: resources by `Type/id`, the answers found among some keys,
    /// the pending deliveries and the assessments as `identifier@version`.
    struct Snapshot: Equatable {
        var resources: [String]
        var answers: [String]
        var pending: [String]
        var assessments: [String]
    }

    static func snapshot(_ store: any GatewayStore, keys: [String], subject: String) async throws -> Snapshot {
        let (resources, answers) = try await store.write { transaction in
            (
                try transaction.resources(subject: subject).map { "\($0.type)/\($0.id)" }.sorted(),
                try keys.filter { try transaction.response(forKey: $0) != nil }
            )
        }
        let pending = try await store.outbox(state: .pending, since: nil, limit: 100).map { "\($0.assessmentIdentifier)@\($0.assessmentVersion)" }
            .sorted()
        var assessments: [String] = []
        for number in 1...3 {
            if let found = try await store.assessment(identifier: "urn:uuid:\(number)") { assessments.append("\(found.identifier)@\(found.version)") }
        }
        return Snapshot(resources: resources, answers: answers, pending: pending, assessments: assessments)
    }

    /// Returns once the wall clock reads later than `date` (a few microseconds at most).
    static func waitForClock(after date: Date) async throws {
        let deadline = ContinuousClock.now + .seconds(1)
        while Date() <= date {
            guard ContinuousClock.now < deadline else { throw Refused() }
            await Task.yield()
        }
    }
}

// MARK: - The stores under test

enum StoreKind: String, Sendable, CustomTestStringConvertible {
    case sqlite, postgresql
    var testDescription: String { rawValue }
}

/// Where a store under test keeps its data, for checks below the interface.
enum StoreLocation: Sendable {
    case sqlite(path: String)
    case postgresql(server: PostgresServer, database: String)
}

/// A migrated store of `kind`, new and empty: a SQLite file in a fresh temporary folder, or a
/// fresh database on the suite's PostgreSQL (its pool running while `body` runs).
func withStore<T: Sendable>(_ kind: StoreKind, _ body: @Sendable (any GatewayStore, StoreLocation) async throws -> T) async throws -> T {
    switch kind {
    case .sqlite:
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-contract-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("gateway.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        return try await body(store, .sqlite(path: path))
    case .postgresql:
        return try await withPostgresDatabase { server, database in
            let store = try StoreContractTests.postgresStore(server, database, leaseSeconds: 30)
            try await store.migrate()
            return try await store.withRunning { try await body(store, .postgresql(server: server, database: database)) }
        }
    }
}

func withStore<T: Sendable>(_ kind: StoreKind, _ body: @Sendable (any GatewayStore) async throws -> T) async throws -> T {
    try await withStore(kind) { store, _ in try await body(store) }
}

/// A fresh database on the suite's PostgreSQL, dropped afterwards.
func withPostgresDatabase<T: Sendable>(_ body: @Sendable (PostgresServer, String) async throws -> T) async throws -> T {
    let server = try #require(SharedPostgres.server, "the suite's PostgreSQL is not running")
    let database = "contract_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    _ = try server.psql("CREATE DATABASE \(database)", database: "postgres")
    defer { _ = try? server.psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)", database: "postgres") }
    return try await body(server, database)
}

/// `count` PostgreSQL stores (two gateways) on one fresh, migrated database, their pools running.
func withPostgresStores<T: Sendable>(_ count: Int, leaseSeconds: Double, _ body: @Sendable ([PostgresStore]) async throws -> T) async throws -> T {
    try await withPostgresDatabase { server, database in
        let stores = try (0..<count).map { _ in try StoreContractTests.postgresStore(server, database, leaseSeconds: leaseSeconds) }
        try await stores[0].migrate()
        @Sendable func running(_ index: Int) async throws -> T {
            guard index < stores.count else { return try await body(stores) }
            return try await stores[index].withRunning { try await running(index + 1) }
        }
        return try await running(0)
    }
}

extension StoreContractTests {
    static func postgresStore(_ server: PostgresServer, _ database: String, leaseSeconds: Double) throws -> PostgresStore {
        try PostgresStore(
            settings: PostgresStoreSettings(
                host: server.host, port: server.port, user: server.user, database: database, password: nil, tls: .disable, poolSize: 4,
                connectionWaitSeconds: 60),
            leaseSeconds: leaseSeconds,
            logger: Logger(label: "store-contract-tests", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }
}

/// One PostgreSQL server for the suite, started before its first test and stopped (its folder
/// removed) after the last.
struct SharedPostgres: SuiteTrait, TestScoping {
    @TaskLocal static var server: PostgresServer?

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let server = try PostgresServer.start()
        defer { server.stop() }
        try await Self.$server.withValue(server) { try await function() }
    }
}

extension Trait where Self == SharedPostgres {
    static var sharedPostgres: Self { SharedPostgres() }
}

// MARK: - Helpers

private func json(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Two times that are the same once stored (a store keeps seconds since 1970 as a double).
private func close(_ a: Date?, _ b: Date?, within tolerance: TimeInterval = 0.001) -> Bool {
    guard let a, let b else { return a == nil && b == nil }
    return abs(a.timeIntervalSince(b)) < tolerance
}
