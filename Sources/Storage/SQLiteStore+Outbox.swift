import Foundation
import GRDB

/// The outbox: what is due, and what became of each delivery.
extension SQLiteStore {
    public func dueDeliveries(now: Date, limit: Int, excluding: Set<String>) async throws -> DueDeliveries {
        try await reading { db in
            let rows = try Row.fetchCursor(db.cachedStatement(sql: SQLiteStatements.pendingDeliveries))
            var due: [DueDeliveries.Delivery] = []
            // One delivery per assessment at a time: a second pending row of one (an older
            // version queued again by `outbox retry`) waits for the first.
            var excluding = excluding
            while let row = try rows.next() {
                let item = Self.outboxItem(row)
                if !excluding.insert(item.assessmentIdentifier).inserted { continue }
                if item.nextAttemptAt > now || due.count >= limit { return DueDeliveries(due: due, nextDue: item.nextAttemptAt) }
                let assessment = (row["identifier"] as String?) == nil ? nil : Self.assessment(row)
                due.append(DueDeliveries.Delivery(item: item, assessment: assessment))
            }
            return DueDeliveries(due: due, nextDue: nil)
        }
    }

    public func markDelivered(_ sequence: Int64, at date: Date) async throws {
        try await groupWriting { db in
            try db.cachedStatement(
                sql: "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, last_error = NULL, delivered_at = ? WHERE sequence = ?"
            )
            .execute(arguments: [date.timeIntervalSince1970, sequence])
        }
    }

    public func reschedule(_ sequence: Int64, attempts: Int, at date: Date, error: String) async throws {
        try await groupWriting { db in
            try db.cachedStatement(sql: "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE sequence = ?").execute(arguments: [
                attempts, date.timeIntervalSince1970, error, sequence,
            ]
            )
        }
    }

    public func markDead(_ sequence: Int64, attempts: Int, error: String) async throws {
        try await groupWriting { db in
            try db.cachedStatement(sql: "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ? WHERE sequence = ?").execute(arguments: [
                attempts, error, sequence,
            ])
        }
    }

    public func requeue(_ sequence: Int64, now: Date) async throws -> Bool {
        try await groupWriting { db in
            try db.cachedStatement(
                sql: "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ? WHERE sequence = ? AND state != 'pending'"
            ).execute(arguments: [now.timeIntervalSince1970, sequence]
            )
            return db.changesCount > 0
        }
    }

    public func outbox(state: OutboxItem.State?, since: Date?, limit: Int) async throws -> [OutboxItem] {
        let from = since?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude
        return try await reading { db in
            if let state {
                return try Row.fetchAll(db.cachedStatement(sql: SQLiteStatements.outboxByState), arguments: [state.rawValue, from, limit])
                    .map(Self.outboxItem)
            }
            return try Row.fetchAll(db.cachedStatement(sql: SQLiteStatements.outboxSince), arguments: [from, limit]).map(Self.outboxItem)
        }
    }
}
