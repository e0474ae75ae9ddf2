import Foundation
import Storage
import Testing

/// Pruning deletes old answers and finished deliveries, and nothing else.
struct PruneTests {
    @Test func oldAnswersAndFinishedDeliveriesGoEverythingElseStays() async throws {
        let (store, _) = try await GroupCommitTests.store()
        let assessment = StoredAssessment(
            identifier: "urn:uuid:1", id: "1", version: 1, subject: "Patient/p", status: "final", json: Array("{}".utf8), updatedAt: Date())
        try await store.write { transaction in
            _ = try transaction.upsert(type: "Patient", id: "p", subject: "Patient/p", json: Array("{}".utf8))
            try transaction.saveResponse(StoredResponse(status: 201, contentType: "application/fhir+json", body: [], location: nil), forKey: "k")
            try transaction.saveAndEnqueue(assessment)
        }
        let first = try #require(try await store.outbox(state: .pending, since: nil, limit: 10).first)
        try await store.markDelivered(first.sequence, at: Date())
        var newer = assessment
        newer.version = 2
        let second = newer
        try await store.write { transaction in try transaction.saveAndEnqueue(second) }

        // Nothing is old enough yet.
        #expect(
            try await store.prune(answersBefore: Date(timeIntervalSince1970: 0), deliveriesBefore: Date(timeIntervalSince1970: 0), limit: 10)
                == PruneCount(answers: 0, deliveries: 0))
        // Everything before "later" is old: the answer and the delivered entry go.
        let later = Date().addingTimeInterval(60)
        #expect(try await store.prune(answersBefore: later, deliveriesBefore: later, limit: 10) == PruneCount(answers: 1, deliveries: 1))
        let (answer, resources, version) = try await store.write { transaction in
            (
                try transaction.response(forKey: "k"), try transaction.resources(subject: "Patient/p").count,
                try transaction.assessment(identifier: "urn:uuid:1")?.version
            )
        }
        #expect(answer == nil)
        #expect(resources == 1)
        #expect(version == 2)
        // The pending delivery of version 2 stays.
        #expect(try await store.outbox(state: .pending, since: nil, limit: 10).map(\.assessmentVersion) == [2])
    }
}
