import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Storage
import Synchronization

/// The gateway's store on PostgreSQL, for several gateways on one database.
///
/// - Request transactions are committed in groups (`PostgresGroupCommit`): a group runs on one
///   pooled connection, on a thread of the store's own pool (`StoreTransaction`'s operations are
///   synchronous: the case processor decides as it reads), where each statement waits for its
///   answer, never on an event loop or the concurrency pool. A 2xx still means the commit is
///   flushed (`synchronous_commit = on`), and a group shares one flush.
/// - The facts of one patient are processed one at a time across every gateway: a request takes
///   `pg_advisory_xact_lock` on the patient before it reads or writes their resources, and on its
///   idempotency key before it looks for a stored answer, so a resend that reaches two gateways
///   at once is answered once and then recognised.
/// - A request that PostgreSQL aborts for a deadlock (two groups locking patients in opposite
///   orders), a serialization failure or a unique key taken meanwhile runs again, up to five
///   times; each runs whole or not at all.
/// - The outbox is claimed with `FOR UPDATE SKIP LOCKED` and a lease (see `PostgresStore+Outbox`).
///
/// Its connection pool runs inside `withRunning` (around the daemon's services, or a command's
/// work); migrations use a connection of their own, before the pool.
public final class PostgresStore: GatewayStore {
    let client: PostgresClient
    let settings: PostgresStoreSettings
    /// The threads on which request transactions run, one per pooled connection.
    let threads: NIOThreadPool
    let logger: Logger
    /// This store, as the outbox's leases name it (host, process id and a random part: each
    /// store, and each start, is an owner of its own).
    let owner: String
    /// How long a claimed delivery is this gateway's before another may take it over.
    let leaseSeconds: Double
    /// Request transactions, committed in groups.
    let groups: PostgresGroupCommit

    public init(settings: PostgresStoreSettings, leaseSeconds: Double, logger: Logger) throws {
        self.settings = settings
        self.leaseSeconds = leaseSeconds
        self.logger = logger
        owner = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password, database: settings.database,
            tls: try Self.clientTLS(settings.tls))
        configuration.options.maximumConnections = settings.poolSize
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = .milliseconds(Int64(settings.connectionWaitSeconds * 1000))
        // A 2xx means the commit is flushed, whatever the server's default says.
        configuration.options.additionalStartupParameters = [("synchronous_commit", "on")]
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        threads = NIOThreadPool(numberOfThreads: settings.poolSize)
        threads.start()
        let wait = settings.connectionWaitSeconds
        groups = PostgresGroupCommit(writers: settings.poolSize) { [client, threads] work in
            try await Self.leasing(client, waiting: wait) { connection in
                try await threads.runIfActive { try work(connection, logger) }
            }
        }
    }

    deinit {
        threads.shutdownGracefully { _ in }
    }

    /// Runs `body` with the pool running: around the daemon's services, or a command's work.
    public func withRunning<T>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    static func clientTLS(_ mode: PostgresStoreSettings.TLSMode) throws -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable:
            return .disable
        case .verifyFull(let ca):
            return .require(try tlsConfiguration(ca))
        }
    }

    static func tlsConfiguration(_ ca: String?) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if let ca { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
        return tls
    }

    // MARK: Writes

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await groups.write(body)
    }

    /// Runs `body` on a pooled connection, waiting at most `settings.connectionWaitSeconds` for
    /// one. Once `body` has its connection it runs to its end (a transaction is not abandoned
    /// halfway).
    func leasing<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await Self.leasing(client, waiting: settings.connectionWaitSeconds, body)
    }

    static func leasing<T: Sendable>(
        _ client: PostgresClient, waiting seconds: Double, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let leased = ManagedFlag()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    leased.set()
                    return try await body(connection)
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                if leased.isSet { return nil }
                throw StoreError(
                    code: 0, reason: "PostgreSQL gave no connection within \(Int(seconds)) s (the database is unreachable or every connection is busy)")
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            throw CancellationError()
        }
    }

    /// The errors after which the same transaction may well succeed at once.
    static func runsAgain(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        // serialization_failure, deadlock_detected, unique_violation.
        return ["40001", "40P01", "23505"].contains(state)
    }

    /// Every failure of a read or an update leaves the store as `StoreError` (see `storeError`).
    static func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw storeError(error)
        }
    }

    /// The store's failure in words: the SQLSTATE of a server error, or what kept the pool from a
    /// connection; never the SQL or its values.
    static func storeError(_ error: any Error) -> any Error {
        switch error {
        case is StoreError, is SchemaVersionError, is CancellationError:
            return error
        case let error as PSQLError:
            if let state = error.serverInfo?[.sqlState] {
                // 28: authorization refused; 3D: no such database; 42: no such table or no
                // privilege. The rest (connections, resources, a server starting) may pass.
                let lasting = ["28", "3D", "42"].contains(String(state.prefix(2)))
                return StoreError(code: 0, reason: "PostgreSQL refused: SQLSTATE \(state)", passes: !lasting)
            }
            if let underlying = error.underlying {
                return StoreError(code: 0, reason: "PostgreSQL could not be reached: \(underlying)")
            }
            return StoreError(code: 0, reason: "PostgreSQL could not be reached: \(error.code)")
        default:
            // The pool's own errors (no connection could be made for a while, the pool closed).
            return StoreError(code: 0, reason: "PostgreSQL could not be reached: \(type(of: error))")
        }
    }

    /// Runs a read on a pooled connection and collects its rows.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let logger = self.logger
        return try await Self.reportingFailures {
            try await leasing { connection in try await connection.query(query, logger: logger).get().rows }
        }
    }

    /// Runs a statement and returns how many rows it changed.
    @discardableResult
    func execute(_ query: PostgresQuery) async throws -> Int {
        let logger = self.logger
        return try await Self.reportingFailures {
            try await leasing { connection in try await connection.query(query, logger: logger).get().metadata.rows ?? 0 }
        }
    }

    // MARK: Reads

    public func assessment(id: String) async throws -> StoredAssessment? {
        try await rows("SELECT \(unescaped: PostgresRows.assessmentColumns) FROM assessment WHERE id = \(id)").first.map(PostgresRows.assessment)
    }

    public func assessment(identifier: String) async throws -> StoredAssessment? {
        try await rows("SELECT \(unescaped: PostgresRows.assessmentColumns) FROM assessment WHERE identifier = \(identifier)").first.map(
            PostgresRows.assessment)
    }

    public func assessments(subject: String) async throws -> [StoredAssessment] {
        try await rows("SELECT \(unescaped: PostgresRows.assessmentColumns) FROM assessment WHERE subject = \(subject) ORDER BY updated_at")
            .map(PostgresRows.assessment)
    }

    public func held(subject: String) async throws -> HeldCase? {
        try await rows("SELECT subject, reasons, updated_at FROM held_case WHERE subject = \(subject)").first.map(PostgresRows.heldCase)
    }

    public func heldCases(limit: Int) async throws -> [HeldCase] {
        try await rows("SELECT subject, reasons, updated_at FROM held_case ORDER BY updated_at DESC LIMIT \(limit)").map(PostgresRows.heldCase)
    }

    public func statistics() async throws -> StoreStatistics {
        let found = try await rows(
            """
            SELECT (SELECT COUNT(*) FROM assessment),
                   COUNT(*) FILTER (WHERE state = 'pending'),
                   MIN(created_at) FILTER (WHERE state = 'pending'),
                   COUNT(*) FILTER (WHERE state = 'dead')
            FROM outbox WHERE state IN ('pending', 'dead')
            """)
        guard let row = found.first else { return StoreStatistics(assessments: 0, pending: 0, oldestPending: nil, dead: 0) }
        let (assessments, pending, oldest, dead) = try PostgresRows.decoding { try row.decode((Int, Int, Double?, Int).self) }
        return StoreStatistics(assessments: assessments, pending: pending, oldestPending: oldest.map(Date.init(timeIntervalSince1970:)), dead: dead)
    }

    /// Writes this gateway's heartbeat row: a committed write proves the database takes writes
    /// (not in recovery, not read-only, disk not full).
    public func probeWritable(now: Date) async throws {
        try await execute(
            """
            INSERT INTO heartbeat (gateway, at) VALUES (\(owner), \(now.timeIntervalSince1970))
            ON CONFLICT (gateway) DO UPDATE SET at = excluded.at
            """)
    }

    /// PostgreSQL checkpoints by itself.
    public func checkpoint() async throws -> CheckpointCount? { nil }

    public func prune(answersBefore: Date, deliveriesBefore: Date, limit: Int) async throws -> PruneCount {
        let answers = try await execute(
            "DELETE FROM response WHERE key IN (SELECT key FROM response WHERE created_at < \(answersBefore.timeIntervalSince1970) LIMIT \(limit))")
        let deliveries = try await execute(
            """
            DELETE FROM outbox WHERE sequence IN (SELECT sequence FROM outbox
                WHERE state IN ('delivered', 'superseded') AND created_at < \(deliveriesBefore.timeIntervalSince1970) LIMIT \(limit))
            """)
        return PruneCount(answers: answers, deliveries: deliveries)
    }

    public func lastDeliveredAt() async throws -> Date? {
        let found = try await rows("SELECT MAX(delivered_at) FROM outbox WHERE state = 'delivered'")
        guard let row = found.first else { return nil }
        return try PostgresRows.decoding { try row.decode(Double?.self) }.map(Date.init(timeIntervalSince1970:))
    }
}

/// Set once, read from any thread: whether an operation got its connection.
final class ManagedFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
