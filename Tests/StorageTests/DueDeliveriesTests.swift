import Foundation
import Storage
import Testing

/// What the delivery worker reads in one call: the due deliveries, oldest due first, each with its
/// assessment; the assessments in flight left out; and when the next one falls due.
struct DueDeliveriesTests {
    static func assessment(_ number: Int) -> StoredAssessment {
        StoredAssessment(
            identifier: "urn:uuid:\(number)", id: "\(number)", version: 1, subject: "Patient/p\(number)", status: "final",
            json: Array(#"{"n":\#(number)}"#.utf8), updatedAt: Date())
    }

    @Test func dueDeliveriesComeWithTheirAssessmentsLeaveOutThoseInFlightAndSayWhenTheNextIsDue() async throws {
        let (store, _) = try await GroupCommitTests.store()
        try await store.write { transaction in
            for number in 1...4 { try transaction.saveAndEnqueue(Self.assessment(number)) }
        }
        let items = try await store.outbox(state: .pending, since: nil, limit: 10).sorted { $0.sequence < $1.sequence }
        let now = Date().addingTimeInterval(1)
        // The fourth is a retry due in a minute.
        try await store.reschedule(items[3].sequence, attempts: 1, at: now.addingTimeInterval(60), error: "HTTP 503")

        let all = try await store.dueDeliveries(now: now, limit: 10, excluding: [])
        #expect(all.due.map(\.item.assessmentIdentifier) == ["urn:uuid:1", "urn:uuid:2", "urn:uuid:3"])
        #expect(all.due.map { $0.assessment.map { String(decoding: $0.json, as: UTF8.self) } } == [#"{"n":1}"#, #"{"n":2}"#, #"{"n":3}"#])
        #expect(all.nextDue.map { abs($0.timeIntervalSince(now.addingTimeInterval(60))) < 0.001 } == true)

        // The first in flight: never handed out twice; a limit leaves the rest for later, due now.
        let limited = try await store.dueDeliveries(now: now, limit: 1, excluding: ["urn:uuid:1"])
        #expect(limited.due.map(\.item.assessmentIdentifier) == ["urn:uuid:2"])
        #expect(limited.nextDue.map { $0 <= now } == true)

        // A newer version of an assessment in flight waits for it, even when due.
        var newer = Self.assessment(2)
        newer.version = 2
        let second = newer
        try await store.write { transaction in try transaction.saveAndEnqueue(second) }
        let behindInFlight = try await store.dueDeliveries(now: now, limit: 10, excluding: ["urn:uuid:2"])
        #expect(behindInFlight.due.map(\.item.assessmentIdentifier) == ["urn:uuid:1", "urn:uuid:3"])

        // Nothing pending: no next time.
        for item in try await store.outbox(state: .pending, since: nil, limit: 10) { try await store.markDelivered(item.sequence, at: now) }
        let none = try await store.dueDeliveries(now: now, limit: 10, excluding: [])
        #expect(none.due.isEmpty && none.nextDue == nil)
    }
}
