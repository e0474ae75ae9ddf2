import Foundation
import Logging
import NIOCore
import PostgresNIO
import Storage

/// One request's transaction on one connection. Runs on a thread of the store's pool, where each
/// statement waits for its answer (`StoreTransaction` is synchronous).
///
/// Before it touches a patient's facts it takes that patient's transaction-level advisory lock,
/// and before it looks for a stored answer, the idempotency key's: what two gateways do for one
/// patient, or for one resent request, happens one after the other.
final class PostgresTransaction: StoreTransaction {
    /// The advisory locks' first key: what the second (a hash) is a hash of.
    enum LockSpace: Int32 {
        case migrations = 1
        case patient = 2
        case requestKey = 3
    }

    let connection: PostgresConnection
    let logger: Logger
    /// The patients and keys locked so far (a lock is taken once per transaction).
    private var locked: Set<String> = []

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    @discardableResult
    func run(_ query: PostgresQuery) throws -> PostgresQueryResult {
        try connection.query(query, logger: logger).wait()
    }

    private func lock(_ space: LockSpace, _ value: String) throws {
        guard locked.insert("\(space.rawValue):\(value)").inserted else { return }
        try run("SELECT pg_advisory_xact_lock(\(space.rawValue), hashtext(\(value)))")
    }

    func response(forKey key: String) throws -> StoredResponse? {
        try lock(.requestKey, key)
        guard let row = try run("SELECT status, content_type, body, location FROM response WHERE key = \(key)").first else { return nil }
        return try PostgresRows.decoding {
            let (status, contentType, body, location) = try row.decode((Int, String, ByteBuffer, String?).self)
            return StoredResponse(status: status, contentType: contentType, body: Array(buffer: body), location: location)
        }
    }

    func saveResponse(_ response: StoredResponse, forKey key: String) throws {
        try lock(.requestKey, key)
        try run(
            """
            INSERT INTO response (key, status, content_type, body, location, created_at)
            VALUES (\(key), \(response.status), \(response.contentType), \(ByteBuffer(bytes: response.body)), \(response.location), \(Date().timeIntervalSince1970))
            ON CONFLICT (key) DO UPDATE SET status = excluded.status, content_type = excluded.content_type, body = excluded.body,
                location = excluded.location, created_at = excluded.created_at
            """)
    }

    func upsert(type: String, id: String, subject: String?, json: [UInt8], now date: Date) throws -> Int {
        if let subject { try lock(.patient, subject) }
        let now = date.timeIntervalSince1970
        let body = ByteBuffer(bytes: json)
        // A new resource (every create) is one statement; only an existing one is read back.
        let inserted = try run(
            """
            INSERT INTO resource (type, id, version, subject, json, updated_at, received_at)
            VALUES (\(type), \(id), 1, \(subject), \(body), \(now), \(now)) ON CONFLICT (type, id) DO NOTHING
            """)
        if inserted.metadata.rows == 1 { return 1 }
        guard let row = try run("SELECT version, json FROM resource WHERE type = \(type) AND id = \(id) FOR UPDATE").first else {
            throw StoreError(code: 0, reason: "resource \(type) vanished inside its transaction")
        }
        let (version, stored) = try PostgresRows.decoding { try row.decode((Int, ByteBuffer).self) }
        if stored == body { return version }
        try run(
            """
            UPDATE resource SET version = \(version + 1), subject = \(subject), json = \(body), updated_at = \(now)
            WHERE type = \(type) AND id = \(id)
            """)
        return version + 1
    }

    func resources(subject: String) throws -> [StoredResource] {
        try lock(.patient, subject)
        return try run(
            """
            SELECT type, id, version, json, COALESCE(received_at, updated_at) FROM resource
            WHERE subject = \(subject) ORDER BY updated_at, type, id
            """
        ).map { row in
            try PostgresRows.decoding {
                let (type, id, version, json, receivedAt) = try row.decode((String, String, Int, ByteBuffer, Double).self)
                return StoredResource(
                    type: type, id: id, version: version, subject: subject, json: Array(buffer: json), receivedAt: Date(timeIntervalSince1970: receivedAt))
            }
        }
    }

    func assessment(identifier: String) throws -> StoredAssessment? {
        try run("SELECT \(unescaped: PostgresRows.assessmentColumns) FROM assessment WHERE identifier = \(identifier)").first.map(PostgresRows.assessment)
    }

    func assessments(subject: String) throws -> [StoredAssessment] {
        try lock(.patient, subject)
        return try run("SELECT \(unescaped: PostgresRows.assessmentColumns) FROM assessment WHERE subject = \(subject) ORDER BY updated_at")
            .map(PostgresRows.assessment)
    }

    func saveAndEnqueue(_ assessment: StoredAssessment) throws {
        try lock(.patient, assessment.subject)
        try run(
            """
            INSERT INTO assessment (identifier, id, version, subject, status, json, updated_at, case_key)
            VALUES (\(assessment.identifier), \(assessment.id), \(assessment.version), \(assessment.subject), \(assessment.status),
                \(ByteBuffer(bytes: assessment.json)), \(assessment.updatedAt.timeIntervalSince1970), \(assessment.caseKey))
            ON CONFLICT (identifier) DO UPDATE SET version = excluded.version, status = excluded.status,
                json = excluded.json, updated_at = excluded.updated_at, case_key = excluded.case_key
            """)
        // Older undelivered versions are superseded: the newest carries everything.
        try run("UPDATE outbox SET state = 'superseded' WHERE assessment_identifier = \(assessment.identifier) AND state = 'pending'")
        let now = Date().timeIntervalSince1970
        try run(
            """
            INSERT INTO outbox (assessment_identifier, assessment_version, state, attempts, next_attempt_at, created_at)
            VALUES (\(assessment.identifier), \(assessment.version), 'pending', 0, \(now), \(now))
            """)
    }

    func setHeld(subject: String, reasons: [String], now: Date) throws {
        try lock(.patient, subject)
        if reasons.isEmpty {
            try run("DELETE FROM held_case WHERE subject = \(subject)")
            return
        }
        // One reason a line, as the SQLite store keeps them.
        let text = reasons.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\n")
        try run(
            """
            INSERT INTO held_case (subject, reasons, updated_at) VALUES (\(subject), \(text), \(now.timeIntervalSince1970))
            ON CONFLICT (subject) DO UPDATE SET reasons = excluded.reasons, updated_at = excluded.updated_at
            WHERE held_case.reasons != excluded.reasons
            """)
    }
}
