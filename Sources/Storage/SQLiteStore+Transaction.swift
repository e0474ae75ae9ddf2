import Foundation
import GRDB

extension SQLiteStore {
    /// The operations of one request's write transaction.
    struct Transaction: StoreTransaction {
        let db: Database

        func response(forKey key: String) throws -> StoredResponse? {
            var statement = try BoundStatement(db, sql: "SELECT status, content_type, body, location FROM response WHERE key = ?")
            statement.bind(key)
            var found: StoredResponse?
            try statement.rows { row in
                found = StoredResponse(status: row.int(0), contentType: row.text(1) ?? "", body: row.blob(2), location: row.text(3))
            }
            return found
        }

        func saveResponse(_ response: StoredResponse, forKey key: String) throws {
            var statement = try BoundStatement(
                db, sql: "INSERT OR REPLACE INTO response (key, status, content_type, body, location, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            statement.bind(key)
            statement.bind(response.status)
            statement.bind(response.contentType)
            statement.bind(blob: response.body)
            statement.bind(response.location)
            statement.bind(Date().timeIntervalSince1970)
            try statement.run()
        }

        func upsert(type: String, id: String, subject: String?, json: [UInt8], now date: Date) throws -> Int {
            let now = date.timeIntervalSince1970
            // A new resource (every create) is one statement; only an existing one is read back.
            var insert = try BoundStatement(
                db,
                sql:
                    "INSERT INTO resource (type, id, version, subject, json, updated_at, received_at) VALUES (?, ?, 1, ?, ?, ?, ?) ON CONFLICT (type, id) DO NOTHING"
            )
            insert.bind(type)
            insert.bind(id)
            insert.bind(subject)
            insert.bind(blob: json)
            insert.bind(now)
            insert.bind(now)
            try insert.run()
            if db.changesCount == 1 { return 1 }
            let data = Data(json)
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT version, json FROM resource WHERE type = ? AND id = ?"), arguments: [type, id])
            else { throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "resource \(type) vanished inside its transaction") }
            let version: Int = row[0]
            if (row[1] as Data?) == data { return version }
            try db.cachedStatement(sql: "UPDATE resource SET version = ?, subject = ?, json = ?, updated_at = ? WHERE type = ? AND id = ?")
                .execute(arguments: [version + 1, subject, data, now, type, id])
            return version + 1
        }

        func resources(subject: String) throws -> [StoredResource] {
            var statement = try BoundStatement(
                db,
                sql: SQLiteStatements.resourcesBySubject)
            statement.bind(subject)
            var found: [StoredResource] = []
            try statement.rows { row in
                found.append(
                    StoredResource(
                        type: row.text(0) ?? "", id: row.text(1) ?? "", version: row.int(2), subject: subject, json: row.blob(3),
                        receivedAt: Date(timeIntervalSince1970: row.double(4))))
            }
            return found
        }

        func assessments(subject: String) throws -> [StoredAssessment] {
            var statement = try BoundStatement(db, sql: SQLiteStatements.assessmentsBySubject)
            statement.bind(subject)
            var found: [StoredAssessment] = []
            try statement.rows { row in
                found.append(
                    StoredAssessment(
                        identifier: row.text(0) ?? "", id: row.text(1) ?? "", version: row.int(2), subject: subject, status: row.text(3) ?? "",
                        json: row.blob(4), updatedAt: Date(timeIntervalSince1970: row.double(5)), caseKey: row.text(6)))
            }
            return found
        }

        func setHeld(subject: String, reasons: [String], now: Date) throws {
            if reasons.isEmpty {
                var statement = try BoundStatement(db, sql: SQLiteStatements.clearHeld)
                statement.bind(subject)
                try statement.run()
                return
            }
            var statement = try BoundStatement(db, sql: SQLiteStatements.setHeld)
            statement.bind(subject)
            // One reason a line; a line break inside one (rare: a sender's display text) becomes a
            // space. Checked over the bytes: Foundation's replacing goes through NSString.
            statement.bind(reasons.map { $0.utf8.contains(0x0A) ? String($0.map { $0 == "\n" ? " " : $0 }) : $0 }.joined(separator: "\n"))
            statement.bind(now.timeIntervalSince1970)
            try statement.run()
        }

        func assessment(identifier: String) throws -> StoredAssessment? {
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM assessment WHERE identifier = ?"), arguments: [identifier]).map(
                SQLiteStore.assessment)
        }

        func saveAndEnqueue(_ assessment: StoredAssessment) throws {
            try db.cachedStatement(
                sql: """
                    INSERT INTO assessment (identifier, id, version, subject, status, json, updated_at, case_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(identifier) DO UPDATE SET version = excluded.version, status = excluded.status,
                        json = excluded.json, updated_at = excluded.updated_at, case_key = excluded.case_key
                    """
            ).execute(arguments: [
                assessment.identifier, assessment.id, assessment.version, assessment.subject, assessment.status, Data(assessment.json),
                assessment.updatedAt.timeIntervalSince1970, assessment.caseKey,
            ]
            )
            // Older undelivered versions are superseded: the newest carries everything.
            try db.cachedStatement(sql: SQLiteStatements.supersedePending).execute(
                arguments: [assessment.identifier]
            )
            let now = Date().timeIntervalSince1970
            try db.cachedStatement(
                sql: """
                    INSERT INTO outbox (assessment_identifier, assessment_version, state, attempts, next_attempt_at, created_at)
                    VALUES (?, ?, 'pending', 0, ?, ?)
                    """
            ).execute(arguments: [assessment.identifier, assessment.version, now, now]
            )
        }
    }
}
