import ArgumentParser
import Foundation
import GatewayServer
import Logging
import SystemdSupport

/// `serve --config FILE`: runs the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the gateway daemon.")

    @Option(help: "The configuration file (YAML); every key can be overridden by an environment variable.")
    var config: String

    func run() async throws {
        let loaded = try await LoadedConfiguration.load(config)
        // One line per event for journald: `<N>` priority prefix, logfmt (LOG_FORMAT=json for JSON).
        let format = JournalLogHandler.Format(rawValue: ProcessInfo.processInfo.environment["LOG_FORMAT"] ?? "") ?? .logfmt
        LoggingSystem.bootstrap { label in JournalLogHandler(label: label, format: format) }
        var logger = Logger(label: "fhir-risk-gateway")
        logger.logLevel = .info
        do {
            try await GatewayDaemon.run(
                configuration: loaded.gateway,
                codes: loaded.files.codes,
                parameters: loaded.files.parameters,
                environment: ProcessInfo.processInfo.environment,
                logger: logger
            )
        } catch {
            writeToStandardError("fhir-risk-gateway: \(error)\n")
            throw ExitCode(1)
        }
    }
}

/// `check-config --config FILE`: reports every problem in the configuration and exits non-zero.
struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Check a configuration file and report every problem.")

    @Option(help: "The configuration file (YAML).")
    var config: String

    func run() async throws {
        _ = try await LoadedConfiguration.load(config)
        print("\(config): the configuration is valid")
    }
}

/// The configuration with the model and Profiles it names, every problem reported (exit 1).
struct LoadedConfiguration {
    var gateway: GatewayConfiguration
    var files: ModelFiles

    static func load(_ path: String) async throws -> LoadedConfiguration {
        var problems: [String] = []
        var gateway: GatewayConfiguration?
        do {
            gateway = try await GatewayConfiguration.load(path: path)
        } catch {
            problems += error.messages
        }
        var files: ModelFiles?
        if let gateway {
            do {
                files = try ModelFiles(model: gateway.modelPath, profiles: gateway.profilesPath)
            } catch {
                problems.append(error.description)
            }
        }
        guard let gateway, let files, problems.isEmpty else {
            for problem in problems { writeToStandardError("\(path): \(problem)\n") }
            throw ExitCode(1)
        }
        return LoadedConfiguration(gateway: gateway, files: files)
    }
}
