import ArgumentParser
import Foundation
import Storage

/// `migrate --store FILE`: brings a store to this version's schema, as `serve` does at start,
/// without serving: to time an upgrade's migrations on a copy, or to migrate before starting.
/// Takes the store's lock, so it never runs under a daemon.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Migrate a store to this version's schema (as serve does at start), and say how long it took.")

    @Option(help: "The store (SQLite file).")
    var store: String

    func run() async throws {
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
