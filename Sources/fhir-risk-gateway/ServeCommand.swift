import ArgumentParser
import Foundation
import GatewayServer
import Logging
import SystemdSupport

/// `serve --config FILE`: runs the daemon. Exit 0 after a clean stop, 78 (EX_CONFIG) when the
/// configuration cannot work (systemd then does not restart it), 1 on any other failure.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the gateway daemon.")

    /// EX_CONFIG from sysexits.h; the unit's `RestartPreventExitStatus=78`.
    static let configurationExitCode: Int32 = 78

    @Option(help: "The configuration file (YAML); every key can be overridden by an environment variable.")
    var config: String

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        // One line per event for journald: `<N>` priority prefix, logfmt (LOG_FORMAT=json for JSON).
        let format = JournalLogHandler.Format(rawValue: environment["LOG_FORMAT"] ?? "") ?? .logfmt
        LoggingSystem.bootstrap { label in JournalLogHandler(label: label, format: format) }
        var logger = Logger(label: "fhir-risk-gateway")
        // LOG_LEVEL=debug or trace for more detail; no level ever logs patient data.
        logger.logLevel = environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info

        let path = config
        let read = await LoadedConfiguration.read(path)
        guard let loaded = read.loaded else {
            for problem in read.problems { logger.error("configuration problem", metadata: ["file": "\(path)", "problem": "\(problem)"]) }
            logger.critical("the configuration cannot be used", metadata: ["problems": "\(read.problems.count)", "exit.code": "78"])
            throw ExitCode(Self.configurationExitCode)
        }
        do {
            try await GatewayDaemon.run(
                loaded: loaded.daemon,
                reload: { () async throws(GatewayDaemon.LoadFailure) -> GatewayDaemon.Loaded in
                    let again = await LoadedConfiguration.read(path)
                    guard let loaded = again.loaded else { throw GatewayDaemon.LoadFailure(problems: again.problems) }
                    return loaded.daemon
                },
                environment: environment,
                logger: logger
            )
        } catch {
            logger.critical("exiting", metadata: ["reason": "\(error.description)", "exit.code": "\(error.exitCode)"])
            throw ExitCode(error.exitCode)
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

    var daemon: GatewayDaemon.Loaded {
        GatewayDaemon.Loaded(configuration: gateway, codes: files.codes, parameters: files.parameters)
    }

    /// Reads and checks everything; prints every problem and exits 1 when there is one.
    static func load(_ path: String) async throws -> LoadedConfiguration {
        let read = await read(path)
        guard let loaded = read.loaded else {
            for problem in read.problems { writeToStandardError("\(path): \(problem)\n") }
            throw ExitCode(1)
        }
        return loaded
    }

    /// Reads and checks everything: the configuration, or every problem found.
    static func read(_ path: String) async -> (loaded: LoadedConfiguration?, problems: [String]) {
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
        guard let gateway, let files, problems.isEmpty else { return (nil, problems) }
        return (LoadedConfiguration(gateway: gateway, files: files), [])
    }
}
