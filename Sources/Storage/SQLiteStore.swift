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

    /// SQLite's errors leave the store as `StoreError` (no SQL, no values), for every operation:
    /// a failed read is as much the store's failure as a failed write.
    private static func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError {
            throw StoreError(code: Int(error.extendedResultCode.rawValue), reason: error.resultCode.description)
        }
    }

    func reading<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.reportingFailures { try await pool.read(body) }
    }

    func writing<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.reportingFailures { try await pool.write(body) }
    }

    /// A small write that joins the next group commit, sharing its fsync with the requests' (the
    /// outbox's updates: one per delivery, as many as there are requests under load).
    func groupWriting<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await Self.reportingFailures { try await groups.write(body) }
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
}
