import Foundation
import NIOCore
import PostgresNIO
import Storage

/// The store's rows read into its values. Columns are named in each query in the order read here.
enum PostgresRows {
    static let assessmentColumns = "identifier, id, version, subject, status, json, updated_at, case_key"
    static let outboxColumns = "sequence, assessment_identifier, assessment_version, state, attempts, next_attempt_at, last_error, created_at, delivered_at"

    /// A row that does not decode (a column of another type) is the store's failure.
    static func decoding<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PostgresDecodingError {
            throw StoreError(code: 0, reason: "a column of the PostgreSQL store does not have the expected type (\(error.code))")
        }
    }

    static func assessment(_ row: PostgresRow) throws -> StoredAssessment {
        try decoding {
            let (identifier, id, version, subject, status, json, updatedAt, caseKey) = try row.decode(
                (String, String, Int, String, String, ByteBuffer, Double, String?).self)
            return StoredAssessment(
                identifier: identifier, id: id, version: version, subject: subject, status: status, json: Array(buffer: json),
                updatedAt: Date(timeIntervalSince1970: updatedAt), caseKey: caseKey)
        }
    }

    static func heldCase(_ row: PostgresRow) throws -> HeldCase {
        try decoding {
            let (subject, reasons, updatedAt) = try row.decode((String, String, Double).self)
            return HeldCase(subject: subject, reasons: reasons.split(separator: "\n").map(String.init), updatedAt: Date(timeIntervalSince1970: updatedAt))
        }
    }

    /// An outbox row, its columns found by name (a claim returns them beside its assessment's).
    static func outboxItem(_ row: PostgresRow) throws -> OutboxItem {
        try decoding {
            let cells = row.makeRandomAccess()
            return OutboxItem(
                sequence: Int64(try cells["sequence"].decode(Int.self)),
                assessmentIdentifier: try cells["assessment_identifier"].decode(String.self),
                assessmentVersion: try cells["assessment_version"].decode(Int.self),
                state: OutboxItem.State(rawValue: try cells["state"].decode(String.self)) ?? .pending,
                attempts: try cells["attempts"].decode(Int.self),
                nextAttemptAt: Date(timeIntervalSince1970: try cells["next_attempt_at"].decode(Double.self)),
                lastError: try cells["last_error"].decode(String?.self),
                createdAt: Date(timeIntervalSince1970: try cells["created_at"].decode(Double.self)),
                deliveredAt: try cells["delivered_at"].decode(Double?.self).map(Date.init(timeIntervalSince1970:))
            )
        }
    }

    /// The assessment beside a claimed delivery (its columns prefixed `a_`); nil when it is no
    /// longer in the store.
    static func claimedAssessment(_ row: PostgresRow) throws -> StoredAssessment? {
        try decoding {
            let cells = row.makeRandomAccess()
            guard let identifier = try cells["a_identifier"].decode(String?.self) else { return nil }
            return StoredAssessment(
                identifier: identifier, id: try cells["a_id"].decode(String.self), version: try cells["a_version"].decode(Int.self),
                subject: try cells["a_subject"].decode(String.self), status: try cells["a_status"].decode(String.self),
                json: Array(buffer: try cells["a_json"].decode(ByteBuffer.self)),
                updatedAt: Date(timeIntervalSince1970: try cells["a_updated_at"].decode(Double.self)),
                caseKey: try cells["a_case_key"].decode(String?.self))
        }
    }
}
