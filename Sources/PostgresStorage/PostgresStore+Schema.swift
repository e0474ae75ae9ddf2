import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Storage

/// The PostgreSQL store's schema: its migrations, applied at start under an advisory lock so that
/// gateways starting together never race, each in its own transaction, recorded in
/// `gateway_migration`.
extension PostgresStore {
    /// The migrations, in order. The tables are those of the SQLite store (times in seconds since
    /// 1970, bodies as bytea), with the outbox's lease.
    static let migrations: [(name: String, sql: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE resource (
                    type TEXT NOT NULL, id TEXT NOT NULL, version BIGINT NOT NULL, subject TEXT, json BYTEA NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL, received_at DOUBLE PRECISION, PRIMARY KEY (type, id))
                """,
                "CREATE INDEX resource_subject ON resource(subject)",
                """
                CREATE TABLE assessment (
                    identifier TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, version BIGINT NOT NULL, subject TEXT NOT NULL,
                    status TEXT NOT NULL, json BYTEA NOT NULL, updated_at DOUBLE PRECISION NOT NULL, case_key TEXT)
                """,
                "CREATE INDEX assessment_subject ON assessment(subject)",
                """
                CREATE TABLE response (
                    key TEXT PRIMARY KEY, status BIGINT NOT NULL, content_type TEXT NOT NULL, body BYTEA NOT NULL, location TEXT,
                    created_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX response_created ON response(created_at)",
                """
                CREATE TABLE outbox (
                    sequence BIGSERIAL PRIMARY KEY, assessment_identifier TEXT NOT NULL REFERENCES assessment(identifier),
                    assessment_version BIGINT NOT NULL, state TEXT NOT NULL, attempts BIGINT NOT NULL,
                    next_attempt_at DOUBLE PRECISION NOT NULL, last_error TEXT, created_at DOUBLE PRECISION NOT NULL,
                    delivered_at DOUBLE PRECISION, lease_owner TEXT, lease_until DOUBLE PRECISION)
                """,
                "CREATE INDEX outbox_due ON outbox(state, next_attempt_at)",
                "CREATE INDEX outbox_assessment ON outbox(assessment_identifier, state)",
                "CREATE TABLE held_case (subject TEXT PRIMARY KEY, reasons TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL)",
                "CREATE INDEX held_case_updated ON held_case(updated_at)",
                "CREATE TABLE heartbeat (gateway TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL)",
            ]
        )
    ]

    /// The names of this version's migrations, in order.
    public static var migrationNames: [String] { migrations.map(\.name) }

    /// Brings the database to this version's schema; refuses one a newer version migrated. Runs
    /// on a connection of its own, before the pool serves anything, holding the migrations'
    /// advisory lock: a second gateway starting at the same moment waits, then finds nothing to do.
    public func migrate() async throws {
        try await withMigrationConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(PostgresTransaction.LockSpace.migrations.rawValue), 0)", logger: self.logger)
            do {
                try await self.applyMigrations(connection)
                try await connection.query("SELECT pg_advisory_unlock(\(PostgresTransaction.LockSpace.migrations.rawValue), 0)", logger: self.logger)
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(PostgresTransaction.LockSpace.migrations.rawValue), 0)", logger: self.logger)
                throw error
            }
        }
    }

    /// Checks that the database is exactly at this version's schema, without changing it.
    public func checkSchema() async throws {
        try await withMigrationConnection { connection in
            let applied = try await self.appliedMigrations(connection)
            try Self.refuseNewer(applied)
            let missing = Self.migrationNames.filter { !applied.contains($0) }
            if !missing.isEmpty { throw SchemaVersionError(.older, migrations: missing) }
        }
    }

    private func applyMigrations(_ connection: PostgresConnection) async throws {
        try await connection.query(
            "CREATE TABLE IF NOT EXISTS gateway_migration (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)", logger: logger)
        let applied = try await appliedMigrations(connection)
        try Self.refuseNewer(applied)
        for migration in Self.migrations where !applied.contains(migration.name) {
            try await connection.query("BEGIN", logger: logger)
            do {
                for statement in migration.sql {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO gateway_migration (name, applied_at) VALUES (\(migration.name), \(Date().timeIntervalSince1970))", logger: logger)
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
            logger.notice("store migrated", metadata: ["migration": "\(migration.name)"])
        }
    }

    private func appliedMigrations(_ connection: PostgresConnection) async throws -> Set<String> {
        let exists = try await connection.query("SELECT to_regclass('gateway_migration') IS NOT NULL", logger: logger).decode(Bool.self)
        var found = false
        for try await value in exists { found = value }
        guard found else { return [] }
        var names: Set<String> = []
        for try await name in try await connection.query("SELECT name FROM gateway_migration", logger: logger).decode(String.self) {
            names.insert(name)
        }
        return names
    }

    static func refuseNewer(_ applied: Set<String>) throws {
        let unknown = applied.subtracting(migrationNames).sorted()
        if !unknown.isEmpty { throw SchemaVersionError(.newer, migrations: unknown) }
    }

    /// A connection of its own, outside the pool (which runs only once the services start).
    private func withMigrationConnection<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await Self.reportingFailures {
            let tls: PostgresConnection.Configuration.TLS
            switch settings.tls {
            case .disable: tls = .disable
            case .verifyFull(let ca): tls = .require(try NIOSSLContext(configuration: try Self.tlsConfiguration(ca)))
            }
            var configuration = PostgresConnection.Configuration(
                host: settings.host, port: settings.port, username: settings.user, password: settings.password, database: settings.database, tls: tls)
            configuration.options.connectTimeout = .seconds(10)
            let connection = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 0, logger: logger)
            do {
                let value = try await body(connection)
                try await connection.close()
                return value
            } catch {
                try? await connection.close()
                throw error
            }
        }
    }
}
