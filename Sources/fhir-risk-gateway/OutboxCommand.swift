import ArgumentParser
import FHIRModels
import Foundation
import GatewayServer
import Logging
import PostgresStorage
import Storage

/// `outbox list | retry SEQUENCE | dead-letters [--replay]`: works on the same store while the
/// daemon runs (SQLite in WAL mode allows it; PostgreSQL is shared anyway), and needs only the
/// store: `--store FILE`, or the configuration's `storage` section.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "List, retry and replay deliveries.",
        subcommands: [List.self, Retry.self, DeadLetters.self]
    )

    struct Options: ParsableArguments {
        @Option(help: "The configuration file (YAML), for its storage section; nothing else in it is read.")
        var config: String?
        @Option(help: "The store (SQLite file), instead of --config.")
        var store: String?

        func validate() throws {
            guard (config == nil) != (store == nil) else { throw ValidationError("Give --config FILE or --store FILE") }
        }

        /// Runs `body` on the store: the SQLite file, or the PostgreSQL database with its pool
        /// running. Never migrates: the daemon beside it may be of another version.
        func withStore<T>(_ body: (any GatewayStore) async throws -> T) async throws -> T {
            let location: GatewayConfiguration.StoreLocation
            if let store {
                location = .sqlite(path: store)
            } else {
                do {
                    location = try await GatewayConfiguration.storeLocation(configPath: config ?? "", environment: ProcessInfo.processInfo.environment)
                } catch {
                    writeToStandardError(error.description + "\n")
                    throw ExitCode(1)
                }
            }
            switch location {
            case .postgresql(let settings):
                let store = try PostgresStore(settings: settings, leaseSeconds: 60, logger: Logger(label: "fhir-risk-gateway.outbox"))
                do {
                    try await store.checkSchema()
                } catch {
                    writeToStandardError("\(settings.address): \(error)\n")
                    throw ExitCode(1)
                }
                return try await store.withRunning { try await body(store) }
            case .sqlite(let path):
                guard FileManager.default.fileExists(atPath: path) else {
                    writeToStandardError("No store at \(path): the daemon has not run with this storage.path\n")
                    throw ExitCode(1)
                }
                let store = try SQLiteStore(path: path)
                do {
                    try await store.checkSchema()
                } catch {
                    writeToStandardError("\(path): \(error)\n")
                    throw ExitCode(1)
                }
                return try await body(store)
            }
        }
    }

    static func time(_ date: Date) -> String {
        FHIRInstant.text(date)
    }

    static let header = "sequence\tstate\tattempts\tversion\tassessment\tcreated\tnext attempt\tdelivered\tlast error"

    static func describe(_ item: OutboxItem) -> String {
        var line = "\(item.sequence)\t\(item.state.rawValue)\t\(item.attempts)\t\(item.assessmentVersion)\t\(item.assessmentIdentifier)"
        line += "\t\(time(item.createdAt))\t\(item.state == .pending ? time(item.nextAttemptAt) : "-")"
        line += "\t\(item.deliveredAt.map(time) ?? "-")\t\(item.lastError ?? "-")"
        return line
    }

    static func json(_ item: OutboxItem) -> [String: Any] {
        var object: [String: Any] = [
            "sequence": item.sequence, "state": item.state.rawValue, "attempts": item.attempts, "assessmentVersion": item.assessmentVersion,
            "assessmentIdentifier": item.assessmentIdentifier, "created": time(item.createdAt),
        ]
        if item.state == .pending { object["nextAttempt"] = time(item.nextAttemptAt) }
        if let delivered = item.deliveredAt { object["delivered"] = time(delivered) }
        if let error = item.lastError { object["lastError"] = error }
        return object
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "List deliveries, newest first (a header line, then one a line), then the patients held out of scoring with the reason (held, patient reference, since, reason)."
        )
        @OptionGroup var options: Options
        @Option(help: "Only this state: pending, delivered, dead or superseded.")
        var state: String?
        @Option(help: "Only deliveries queued at or after this time (2026-12-01 or 2026-12-01T08:00:00Z).")
        var since: String?
        @Option(help: "At most this many (deliveries, and held patients).")
        var limit = 100
        @Flag(help: "With --state: list the held patients too.")
        var held = false
        @Flag(help: "One JSON object: {\"deliveries\": [...], \"held\": [...]}.")
        var json = false

        func run() async throws {
            let filter = try state.map { value in
                guard let state = OutboxItem.State(rawValue: value) else {
                    throw ValidationError("--state must be pending, delivered, dead or superseded")
                }
                return state
            }
            let after = try since.map { text in
                guard let date = Self.date(text) else { throw ValidationError("--since must be a date (2026-12-01) or a time (2026-12-01T08:00:00Z)") }
                return date
            }
            // The patients whose resources are held out of scoring, and why: nothing is queued
            // for them, and this is where an operator looks first.
            let (items, heldCases) = try await options.withStore { store in
                (
                    try await store.outbox(state: filter, since: after, limit: limit),
                    filter == nil || held ? try await store.heldCases(limit: limit) : []
                )
            }
            if json {
                let object: [String: Any] = [
                    "deliveries": items.map(OutboxCommand.json),
                    "held": heldCases.map { ["subject": $0.subject, "since": OutboxCommand.time($0.updatedAt), "reasons": $0.reasons] as [String: Any] },
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                writeToStandardOutput(Array(data) + [0x0A])
                return
            }
            print(OutboxCommand.header)
            for item in items { print(OutboxCommand.describe(item)) }
            for heldCase in heldCases {
                for reason in heldCase.reasons {
                    print("held\t\(heldCase.subject)\tsince=\(OutboxCommand.time(heldCase.updatedAt))\t\(reason)")
                }
            }
        }

        static func date(_ text: String) -> Date? {
            if let time = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return time }
            return try? Date(text + "T00:00:00Z", strategy: Date.ISO8601FormatStyle())
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a delivery again, due now.")
        @OptionGroup var options: Options
        @Argument(help: "The delivery's sequence number (see list).")
        var sequence: Int64

        func run() async throws {
            guard try await options.withStore({ try await $0.requeue(sequence, now: Date()) }) else {
                writeToStandardError("No delivery \(sequence) that is not already pending\n")
                throw ExitCode(1)
            }
            print("\(sequence) queued")
        }
    }

    struct DeadLetters: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "dead-letters", abstract: "List dead letters; --replay queues them all again.")
        @OptionGroup var options: Options
        @Flag(help: "Queue every dead letter again.")
        var replay = false

        func run() async throws {
            let (dead, queued) = try await options.withStore { store in
                let dead = try await store.outbox(state: .dead, since: nil, limit: 10_000)
                var queued = 0
                if replay {
                    for item in dead where try await store.requeue(item.sequence, now: Date()) { queued += 1 }
                }
                return (dead, queued)
            }
            print(OutboxCommand.header)
            for item in dead { print(OutboxCommand.describe(item)) }
            // What was done, counted: a line per item would read as a count ("51 queued").
            if replay {
                print("\(queued) of \(dead.count) dead letter\(dead.count == 1 ? "" : "s") queued again")
            } else {
                print("\(dead.count) dead letter\(dead.count == 1 ? "" : "s")")
            }
        }
    }
}
