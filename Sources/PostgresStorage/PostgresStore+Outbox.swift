import Foundation
import PostgresNIO
import Storage

/// The outbox shared by every gateway on the database. A gateway claims what is due with
/// `FOR UPDATE SKIP LOCKED` and a lease (`lease_owner`, `lease_until`): two gateways never claim
/// the same delivery, and one killed mid-delivery leaves a lease that expires, after which another
/// takes the delivery over. A delivery is not claimed while another row of its assessment is
/// leased (an older version still going out, even superseded), nor while an older row of it is
/// pending (queued again by `outbox retry`), so versions never overtake each other across
/// gateways. Recording the outcome ends the lease. A lease of this gateway's on an assessment
/// it does not have in flight (`excluding`) is an orphan (recording its outcome failed, the
/// database being down): the gateway claims that delivery again at once rather than waiting
/// for its own lease to run out.
extension PostgresStore {
    /// How often a worker looks for what other gateways queued (their commits do not wake it) or
    /// left behind when they stopped.
    public var pollInterval: Double? { 1 }

    /// A database server: its outage is not this process's, and a restart does not mend it.
    public var isLocal: Bool { false }

    public func dueDeliveries(now: Date, limit: Int, excluding: Set<String>) async throws -> DueDeliveries {
        let at = now.timeIntervalSince1970
        let until = at + leaseSeconds
        let excluded = Array(excluding)
        var due: [DueDeliveries.Delivery] = []
        if limit > 0 {
            let claimed = try await rows(
                """
                WITH claimed AS (
                    UPDATE outbox SET lease_owner = \(owner), lease_until = \(until)
                    WHERE sequence IN (
                        SELECT o.sequence FROM outbox o
                        WHERE o.state = 'pending' AND o.next_attempt_at <= \(at)
                          AND (o.lease_until IS NULL OR o.lease_until <= \(at) OR o.lease_owner = \(owner))
                          AND NOT (o.assessment_identifier = ANY(\(excluded)))
                          AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.assessment_identifier = o.assessment_identifier
                                          AND b.sequence <> o.sequence AND b.lease_until > \(at) AND b.lease_owner <> \(owner))
                          AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.assessment_identifier = o.assessment_identifier
                                          AND e.state = 'pending' AND e.sequence < o.sequence)
                        ORDER BY o.next_attempt_at, o.sequence LIMIT \(limit)
                        FOR UPDATE SKIP LOCKED)
                    RETURNING \(unescaped: PostgresRows.outboxColumns))
                SELECT c.*, a.identifier AS a_identifier, a.id AS a_id, a.version AS a_version, a.subject AS a_subject,
                    a.status AS a_status, a.json AS a_json, a.updated_at AS a_updated_at, a.case_key AS a_case_key
                FROM claimed c LEFT JOIN assessment a ON a.identifier = c.assessment_identifier
                ORDER BY c.next_attempt_at, c.sequence
                """)
            for row in claimed {
                due.append(DueDeliveries.Delivery(item: try PostgresRows.outboxItem(row), assessment: try PostgresRows.claimedAssessment(row)))
            }
        }
        // The next to fall due, outside what is in flight here: when it is due and no other row
        // of its assessment is leased.
        let claimedHere = excluded + due.map(\.item.assessmentIdentifier)
        let next = try await rows(
            """
            SELECT MIN(GREATEST(o.next_attempt_at, COALESCE(
                (SELECT MAX(b.lease_until) FROM outbox b WHERE b.assessment_identifier = o.assessment_identifier AND b.lease_owner <> \(owner)), 0)))
            FROM outbox o WHERE o.state = 'pending' AND NOT (o.assessment_identifier = ANY(\(claimedHere)))
            """)
        var nextDue = try next.first.flatMap { row in try PostgresRows.decoding { try row.decode(Double?.self) } }.map(Date.init(timeIntervalSince1970:))
        // Due now but not claimed: another gateway holds its row locked this instant; look again
        // shortly rather than at once.
        if let due = nextDue, due <= now { nextDue = now.addingTimeInterval(0.1) }
        return DueDeliveries(due: due, nextDue: nextDue)
    }

    public func markDelivered(_ sequence: Int64, at date: Date) async throws {
        try await execute(
            """
            UPDATE outbox SET state = 'delivered', attempts = attempts + 1, last_error = NULL, delivered_at = \(date.timeIntervalSince1970),
                lease_owner = NULL, lease_until = NULL
            WHERE sequence = \(Int(sequence))
            """)
    }

    public func reschedule(_ sequence: Int64, attempts: Int, at date: Date, error: String) async throws {
        try await execute(
            """
            UPDATE outbox SET attempts = \(attempts), next_attempt_at = \(date.timeIntervalSince1970), last_error = \(error),
                lease_owner = NULL, lease_until = NULL
            WHERE sequence = \(Int(sequence))
            """)
    }

    public func markDead(_ sequence: Int64, attempts: Int, error: String) async throws {
        try await execute(
            """
            UPDATE outbox SET state = 'dead', attempts = \(attempts), last_error = \(error), lease_owner = NULL, lease_until = NULL
            WHERE sequence = \(Int(sequence))
            """)
    }

    public func requeue(_ sequence: Int64, now: Date) async throws -> Bool {
        try await execute(
            """
            UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = \(now.timeIntervalSince1970), lease_owner = NULL, lease_until = NULL
            WHERE sequence = \(Int(sequence)) AND state != 'pending'
            """) > 0
    }

    public func outbox(state: OutboxItem.State?, since: Date?, limit: Int) async throws -> [OutboxItem] {
        let from = since?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude
        let found: [PostgresRow]
        if let state {
            found = try await rows(
                """
                SELECT \(unescaped: PostgresRows.outboxColumns) FROM outbox WHERE state = \(state.rawValue) AND created_at >= \(from)
                ORDER BY sequence DESC LIMIT \(limit)
                """)
        } else {
            found = try await rows(
                "SELECT \(unescaped: PostgresRows.outboxColumns) FROM outbox WHERE created_at >= \(from) ORDER BY sequence DESC LIMIT \(limit)")
        }
        return try found.map(PostgresRows.outboxItem)
    }
}
