import Foundation
import GRDB

/// The store's schema: its migrations, and the checks that a store is at this version's.
extension SQLiteStore {
    /// Brings the store to this version's schema; refuses a store a newer version migrated.
    public func migrate() async throws {
        let migrator = Self.migrator
        try await pool.read { db in try Self.refuseNewer(migrator, db) }
        try migrator.migrate(pool)
    }

    /// Checks that the store is exactly at this version's schema, without changing it (the
    /// command line beside a running daemon, which may be of another version).
    public func checkSchema() async throws {
        let migrator = Self.migrator
        try await pool.read { db in
            try Self.refuseNewer(migrator, db)
            let missing = migrator.migrations.filter { !((try? migrator.appliedIdentifiers(db)) ?? []).contains($0) }
            if !missing.isEmpty { throw SchemaVersionError(.older, migrations: missing) }
        }
    }

    static func refuseNewer(_ migrator: DatabaseMigrator, _ db: Database) throws {
        guard try migrator.hasBeenSuperseded(db) else { return }
        let unknown = try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
        throw SchemaVersionError(.newer, migrations: unknown)
    }

    /// The names of this version's migrations, in order.
    public static var migrationNames: [String] { migrator.migrations }

    /// The migrations, in order; each runs once, in its own transaction.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE resource (
                        type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
                        subject TEXT, json BLOB NOT NULL, updated_at REAL NOT NULL,
                        PRIMARY KEY (type, id));
                    CREATE INDEX resource_subject ON resource(subject);
                    CREATE TABLE assessment (
                        identifier TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL,
                        subject TEXT NOT NULL, status TEXT NOT NULL, json BLOB NOT NULL, updated_at REAL NOT NULL);
                    CREATE INDEX assessment_subject ON assessment(subject);
                    CREATE TABLE response (
                        key TEXT PRIMARY KEY, status INTEGER NOT NULL, content_type TEXT NOT NULL,
                        body BLOB NOT NULL, location TEXT, created_at REAL NOT NULL);
                    CREATE TABLE outbox (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        assessment_identifier TEXT NOT NULL REFERENCES assessment(identifier),
                        assessment_version INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
                        next_attempt_at REAL NOT NULL, last_error TEXT, created_at REAL NOT NULL);
                    CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
                    """
            )
        }
        migrator.registerMigration("v2-heartbeat") { db in
            try db.execute(sql: "CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), at REAL NOT NULL)")
        }
        migrator.registerMigration("v3-retention") { db in
            try db.execute(sql: "CREATE INDEX response_created ON response(created_at)")
        }
        // The first arrival of a resource (a study's age when it arrived), the case an assessment
        // was made for, and why a patient's resources are held out of scoring.
        migrator.registerMigration("v4-case-lifecycle") { db in
            try db.execute(
                sql: """
                    ALTER TABLE resource ADD COLUMN received_at REAL;
                    UPDATE resource SET received_at = updated_at;
                    ALTER TABLE assessment ADD COLUMN case_key TEXT;
                    CREATE TABLE held_case (
                        subject TEXT PRIMARY KEY, reasons TEXT NOT NULL, updated_at REAL NOT NULL);
                    CREATE INDEX held_case_updated ON held_case(updated_at);
                    """
            )
        }
        // Superseding an assessment's pending versions looks them up by assessment: without this
        // index each write reads every pending delivery, and writes slow down as an upstream
        // outage goes on.
        migrator.registerMigration("v5-outbox-by-assessment") { db in
            try db.execute(sql: "CREATE INDEX outbox_assessment ON outbox(assessment_identifier, state)")
        }
        // When a delivery went out (`outbox list`); NULL for those delivered before it was kept.
        migrator.registerMigration("v6-delivered-at") { db in
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN delivered_at REAL")
        }
        return migrator
    }
}

/// A store this binary cannot use as it is: migrated by a newer version, or not yet migrated to
/// this one.
public struct SchemaVersionError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private enum Base: Hashable, Sendable {
            case newer, older
        }

        private let base: Base

        /// Migrated by a newer version: its tables may hold what this one does not know.
        public static let newer = Code(base: .newer)
        /// Not yet migrated to this version (only `serve` and `migrate` migrate).
        public static let older = Code(base: .older)
    }

    public let code: Code
    /// The migrations this version does not know (newer) or has not applied (older).
    public let migrations: [String]

    public init(_ code: Code, migrations: [String]) {
        self.code = code
        self.migrations = migrations
    }

    public var description: String {
        let names = migrations.joined(separator: ", ")
        return code == .newer
            ? "the store was migrated by a newer version of the gateway (\(names)): run that version, or restore the backup taken before the upgrade"
            : "the store has not been migrated to this version yet (\(names)): start the daemon of this version once (it migrates at start)"
    }
}
