import Foundation
import GRDB

/// The embedded store: one SQLite file in WAL mode with `synchronous = FULL`, so a committed
/// transaction survives a crash or a power cut.
public final class SQLiteStore: GatewayStore {
    let pool: DatabasePool
    /// Request transactions are committed in groups (one fsync for all that arrived meanwhile).
    let groups: GroupCommit
    /// A connection of its own that moves the write-ahead log into the database file, when the
    /// owner calls `checkpoint()` (nil: SQLite does it on the writer, after a commit).
    let checkpointer: DatabaseQueue?

    /// The log frames (pages) after which a checkpoint also starts the log over, on the writer
    /// between two groups (it copies what the last passive checkpoint left: a few hundred pages
    /// at most).
    static let restartFrames = 4_096
    /// A log that grew past this many frames (64 MiB; a burst the checkpoints fell behind) is cut
    /// back to nothing when it starts over, to give the disk space back. A log only starting over
    /// keeps its file, and writes over it from the start.
    static let truncateFrames = 16_384
    /// How long a connection waits for a lock another one holds.
    let busyTimeoutMilliseconds: Int

    /// - Parameter checkpointsInBackground: true when the owner calls `checkpoint()` every fraction
    ///   of a second (the daemon does); SQLite's own checkpoints after commits are then off.
    /// - Parameter busyTimeoutMilliseconds: how long a connection waits for a lock another one
    ///   holds (another process writing, or a checkpoint).
    public init(path: String, checkpointsInBackground: Bool = false, busyTimeoutMilliseconds: Int = 10_000) throws {
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // SQLite checkpoints on the connection that commits once the log passes 1,000 pages:
            // on the store's single writer, between two groups, with an fsync of the database
            // file every request would wait for. The checkpoint service does it instead.
            if checkpointsInBackground { try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
        }
        let busyMode = Database.BusyMode.timeout(Double(busyTimeoutMilliseconds) / 1000)
        configuration.busyMode = busyMode
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        pool = try DatabasePool(path: path, configuration: configuration)
        groups = GroupCommit(pool: pool)
        var checkpointConfiguration = Configuration()
        checkpointConfiguration.busyMode = busyMode
        checkpointConfiguration.label = "fhir-risk-gateway.checkpoint"
        checkpointer = checkpointsInBackground ? try DatabaseQueue(path: path, configuration: checkpointConfiguration) : nil
    }

    public func checkpoint() async throws -> CheckpointCount? {
        guard let checkpointer else { return nil }
        // Passive, from its own connection: copies what it can without waiting for anyone, while
        // the writer goes on.
        let (log, copied) = try await Self.reportingFailures { try await checkpointer.writeWithoutTransaction { db in try db.checkpoint(.passive) } }
        guard log >= Self.restartFrames else { return CheckpointCount(logFrames: log, copiedFrames: copied, restarted: false) }
        // The log only starts over when it was copied whole before a write begins, which a
        // checkpoint beside a busy writer rarely sees. Restarting it needs the writer's lock: done
        // on the writer between two groups, it copies only what came since the passive checkpoint.
        let mode: Database.CheckpointMode = log >= Self.truncateFrames ? .truncate : .restart
        let timeout = busyTimeoutMilliseconds
        let restarted = try await Self.reportingFailures {
            try await groups.betweenGroups { db -> (Int, Int)? in
                // Never wait here: every request waits for the writer meanwhile. A reader still on an
                // older state of the log (a `.backup` running) makes the restart busy at once; the
                // log then grows until the reader is done, and a later checkpoint starts it over.
                try db.execute(sql: "PRAGMA busy_timeout = 0")
                defer { try? db.execute(sql: "PRAGMA busy_timeout = \(timeout)") }
                do {
                    return try db.checkpoint(mode)
                } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                    return nil
                }
            }
        }
        guard let (left, done) = restarted else { return CheckpointCount(logFrames: log, copiedFrames: copied, restarted: false) }
        return CheckpointCount(logFrames: left, copiedFrames: done, restarted: true)
    }

    /// A store this binary cannot use as it is.
    public enum SchemaMismatch: Error, CustomStringConvertible {
        /// Migrated by a newer version: its tables may hold what this one does not know.
        case newer(unknown: [String])
        /// Not yet migrated to this version (only `serve` migrates).
        case older(missing: [String])

        public var description: String {
            switch self {
            case .newer(let unknown):
                "the store was migrated by a newer version of the gateway (\(unknown.joined(separator: ", "))): run that version, or restore the backup taken before the upgrade"
            case .older(let missing):
                "the store has not been migrated to this version yet (\(missing.joined(separator: ", "))): start the daemon of this version once (it migrates at start)"
            }
        }
    }

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
            if !missing.isEmpty { throw SchemaMismatch.older(missing: missing) }
        }
    }

    static func refuseNewer(_ migrator: DatabaseMigrator, _ db: Database) throws {
        guard try migrator.hasBeenSuperseded(db) else { return }
        let unknown = try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
        throw SchemaMismatch.newer(unknown: unknown)
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

    /// Request transactions committed since the store opened, and the groups (commits, each with
    /// one fsync) they went to disk in.
    public var committed: (transactions: Int, groups: Int) { groups.committed }

    /// When the upstream last accepted a delivery, as far as the store knows.
    public func lastDeliveredAt() async throws -> Date? {
        try await reading { db in
            try Double.fetchOne(db.cachedStatement(sql: SQLiteStatements.lastDeliveredAt)).map(Date.init(timeIntervalSince1970:))
        }
    }

    public func prune(answersBefore: Date, deliveriesBefore: Date, limit: Int) async throws -> PruneCount {
        try await writing { db in
            try db.cachedStatement(sql: SQLiteStatements.pruneAnswers)
                .execute(arguments: [answersBefore.timeIntervalSince1970, limit])
            let answers = db.changesCount
            try db.cachedStatement(sql: SQLiteStatements.pruneDeliveries).execute(arguments: [deliveriesBefore.timeIntervalSince1970, limit])
            return PruneCount(answers: answers, deliveries: db.changesCount)
        }
    }

    public func statistics() async throws -> StoreStatistics {
        try await reading { db in
            let outbox = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FILTER (WHERE state = 'pending') AS pending,
                           MIN(created_at) FILTER (WHERE state = 'pending') AS oldest,
                           COUNT(*) FILTER (WHERE state = 'dead') AS dead
                    FROM outbox WHERE state IN ('pending', 'dead')
                    """
            )
            return StoreStatistics(
                assessments: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM assessment") ?? 0,
                pending: outbox?["pending"] ?? 0,
                oldestPending: (outbox?["oldest"] as Double?).map(Date.init(timeIntervalSince1970:)),
                dead: outbox?["dead"] ?? 0
            )
        }
    }

    public func probeWritable(now: Date) async throws {
        try await writing { db in
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO heartbeat (id, at) VALUES (1, ?)").execute(arguments: [now.timeIntervalSince1970])
        }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await Self.reportingFailures { try await groups.write { db in try body(Transaction(db: db)) } }
    }

    /// SQLite's errors leave the store as `StoreFailure` (no SQL, no values), for every operation:
    /// a failed read is as much the store's failure as a failed write.
    private static func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError {
            throw StoreFailure(code: Int(error.extendedResultCode.rawValue), reason: error.resultCode.description)
        }
    }

    private func reading<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.reportingFailures { try await pool.read(body) }
    }

    private func writing<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.reportingFailures { try await pool.write(body) }
    }

    public func assessment(id: String) async throws -> StoredAssessment? {
        try await reading { db in
            try Row.fetchOne(db.cachedStatement(sql: SQLiteStatements.assessmentByID), arguments: [id]).map(Self.assessment)
        }
    }

    public func assessment(identifier: String) async throws -> StoredAssessment? {
        try await reading { db in try Transaction(db: db).assessment(identifier: identifier) }
    }

    public func assessments(subject: String) async throws -> [StoredAssessment] {
        try await reading { db in
            try Transaction(db: db).assessments(subject: subject)
        }
    }

    public func held(subject: String) async throws -> HeldCase? {
        try await reading { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM held_case WHERE subject = ?"), arguments: [subject]).map(Self.heldCase)
        }
    }

    public func heldCases(limit: Int) async throws -> [HeldCase] {
        try await reading { db in
            try Row.fetchAll(db.cachedStatement(sql: SQLiteStatements.heldCases), arguments: [limit]).map(
                Self.heldCase)
        }
    }

    /// Reasons are kept one a line (a reason is one line of words).
    static func heldCase(_ row: Row) -> HeldCase {
        HeldCase(
            subject: row["subject"], reasons: (row["reasons"] as String? ?? "").split(separator: "\n").map(String.init),
            updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }

    public func nextDue(now: Date) async throws -> OutboxItem? {
        try await reading { db in
            try Row.fetchOne(
                db.cachedStatement(
                    sql: SQLiteStatements.nextDue),
                arguments: [now.timeIntervalSince1970]
            ).map(Self.outboxItem)
        }
    }

    public func nextDueDate() async throws -> Date? {
        try await reading { db in
            try Double.fetchOne(db.cachedStatement(sql: SQLiteStatements.nextDueDate)).map(
                Date.init(timeIntervalSince1970:))
        }
    }

    public func markDelivered(_ sequence: Int64, at date: Date) async throws {
        try await writing { db in
            try db.cachedStatement(
                sql: "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, last_error = NULL, delivered_at = ? WHERE sequence = ?"
            )
            .execute(arguments: [date.timeIntervalSince1970, sequence])
        }
    }

    public func reschedule(_ sequence: Int64, attempts: Int, at date: Date, error: String) async throws {
        try await writing { db in
            try db.cachedStatement(sql: "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE sequence = ?").execute(arguments: [
                attempts, date.timeIntervalSince1970, error, sequence,
            ]
            )
        }
    }

    public func markDead(_ sequence: Int64, attempts: Int, error: String) async throws {
        try await writing { db in
            try db.cachedStatement(sql: "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ? WHERE sequence = ?").execute(arguments: [
                attempts, error, sequence,
            ])
        }
    }

    public func requeue(_ sequence: Int64, now: Date) async throws -> Bool {
        try await writing { db in
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

    static func assessment(_ row: Row) -> StoredAssessment {
        StoredAssessment(
            identifier: row["identifier"],
            id: row["id"],
            version: row["version"],
            subject: row["subject"],
            status: row["status"],
            json: Array((row["json"] as Data?) ?? Data()),
            updatedAt: Date(timeIntervalSince1970: row["updated_at"]),
            caseKey: row["case_key"]
        )
    }

    static func outboxItem(_ row: Row) -> OutboxItem {
        OutboxItem(
            sequence: row["sequence"],
            assessmentIdentifier: row["assessment_identifier"],
            assessmentVersion: row["assessment_version"],
            state: OutboxItem.State(rawValue: row["state"]) ?? .pending,
            attempts: row["attempts"],
            nextAttemptAt: Date(timeIntervalSince1970: row["next_attempt_at"]),
            lastError: row["last_error"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            deliveredAt: (row["delivered_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        )
    }

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
