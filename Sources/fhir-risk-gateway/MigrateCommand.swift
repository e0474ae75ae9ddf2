import ArgumentParser
import Foundation
import GatewayServer
import Logging
import PostgresStorage
import Storage

/// `migrate --store FILE | --config FILE`: brings a store to this version's schema, as `serve`
/// does at start, without serving: to time an upgrade's migrations on a copy, or to migrate
/// before a rolling upgrade. On SQLite it takes the store's lock, so it never runs under a daemon;
/// on PostgreSQL it takes the migrations' advisory lock, as every gateway does at start.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Migrate a store to this version's schema (as serve does at start), and say how long it took.")

    @Option(help: "The store (SQLite file).")
    var store: String?
    @Option(help: "The configuration file (YAML): its storage section names the store, SQLite or PostgreSQL.")
    var config: String?

    func validate() throws {
        guard (config == nil) != (store == nil) else { throw ValidationError("Give --config FILE or --store FILE") }
    }

    func run() async throws {
        if let config {
            let configuration: GatewayConfiguration
            do {
                configuration = try await GatewayConfiguration.load(path: config, environment: ProcessInfo.processInfo.environment)
            } catch {
                writeToStandardError(error.description + "\n")
                throw ExitCode(1)
            }
            if let postgres = configuration.postgres {
                try await migratePostgres(postgres)
                return
            }
            try await migrateSQLite(configuration.storagePath)
        } else if let store {
            try await migrateSQLite(store)
        }
    }

    private func migratePostgres(_ settings: PostgresStoreSettings) async throws {
        let name = settings.address
        let started = ContinuousClock.now
        do {
            let store = try PostgresStore(settings: settings, leaseSeconds: 60, logger: Logger(label: "fhir-risk-gateway.migrate"))
            try await store.migrate()
        } catch {
            writeToStandardError("\(name): \(error)\n")
            throw ExitCode(1)
        }
        let elapsed = ContinuousClock.now - started
        print("\(name): at this version's schema (\(PostgresStore.migrationNames.last ?? "")) after \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds])))")
    }

    private func migrateSQLite(_ store: String) async throws {
        guard FileManager.default.fileExists(atPath: store) else {
            writeToStandardError("No store at \(store)\n")
            throw ExitCode(1)
        }
        let lock: StoreLock
        do {
            lock = try StoreLock(storePath: store)
        } catch {
            writeToStandardError("\(error)\n")
            throw ExitCode(1)
        }
        let started = ContinuousClock.now
        do {
            try await SQLiteStore(path: store).migrate()
        } catch {
            writeToStandardError("\(store): \(error)\n")
            throw ExitCode(1)
        }
        let elapsed = ContinuousClock.now - started
        withExtendedLifetime(lock) {}
        print("\(store): at this version's schema (\(SQLiteStore.migrationNames.last ?? "")) after \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds])))")
    }
}
