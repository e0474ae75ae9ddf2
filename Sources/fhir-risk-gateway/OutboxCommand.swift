import ArgumentParser
import Foundation
import GatewayServer
import Storage

/// `outbox list | retry SEQUENCE | dead-letters [--replay]`: works on the same store while the
/// daemon runs (SQLite in WAL mode allows it).
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "List, retry and replay deliveries.",
        subcommands: [List.self, Retry.self, DeadLetters.self]
    )

    struct Options: ParsableArguments {
        @Option(help: "The configuration file (YAML), for storage.path.")
        var config: String

        func store() async throws -> SQLiteStore {
            let loaded = try await LoadedConfiguration.load(config)
            let store = try SQLiteStore(path: loaded.gateway.storagePath)
            try await store.migrate()
            return store
        }
    }

    static func describe(_ item: OutboxItem) -> String {
        let formatter = ISO8601DateFormatter()
        var line = "\(item.sequence)\t\(item.state.rawValue)\tattempts=\(item.attempts)\tversion=\(item.assessmentVersion)"
        line += "\t\(item.assessmentIdentifier)\tnext=\(formatter.string(from: item.nextAttemptAt))"
        if let error = item.lastError { line += "\t\(error)" }
        return line
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List deliveries, newest first, then the patients held out of scoring with the reason (held, patient reference, since, reason).")
        @OptionGroup var options: Options
        @Option(help: "Only this state: pending, delivered, dead or superseded.")
        var state: String?
        @Option(help: "At most this many (deliveries, and held patients).")
        var limit = 100
        @Flag(help: "With --state: list the held patients too.")
        var held = false

        func run() async throws {
            let filter = try state.map { value in
                guard let state = OutboxItem.State(rawValue: value) else {
                    throw ValidationError("--state must be pending, delivered, dead or superseded")
                }
                return state
            }
            let store = try await options.store()
            for item in try await store.outbox(state: filter, limit: limit) { print(OutboxCommand.describe(item)) }
            // The patients whose resources are held out of scoring, and why: nothing is queued
            // for them, and this is where an operator looks first.
            guard filter == nil || held else { return }
            let formatter = ISO8601DateFormatter()
            for heldCase in try await store.heldCases(limit: limit) {
                for reason in heldCase.reasons {
                    print("held\t\(heldCase.subject)\tsince=\(formatter.string(from: heldCase.updatedAt))\t\(reason)")
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a delivery again, due now.")
        @OptionGroup var options: Options
        @Argument(help: "The delivery's sequence number (see list).")
        var sequence: Int64

        func run() async throws {
            guard try await options.store().requeue(sequence, now: Date()) else {
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
            let store = try await options.store()
            let dead = try await store.outbox(state: .dead, limit: 10_000)
            var queued = 0
            for item in dead {
                print(OutboxCommand.describe(item))
                if replay, try await store.requeue(item.sequence, now: Date()) { queued += 1 }
            }
            // What was done, counted: a line per item would read as a count ("51 queued").
            if replay {
                print("\(queued) of \(dead.count) dead letter\(dead.count == 1 ? "" : "s") queued again")
            } else {
                print("\(dead.count) dead letter\(dead.count == 1 ? "" : "s")")
            }
        }
    }
}
