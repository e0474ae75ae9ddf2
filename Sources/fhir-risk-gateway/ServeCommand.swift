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
        // One line per event: logfmt (LOG_FORMAT=json for JSON); the `<N>` priority prefix only
        // when standard error is journald's; `request.id` on every line a request logs.
        let format = JournalLogHandler.Format(rawValue: environment["LOG_FORMAT"] ?? "") ?? .logfmt
        let journald = JournalLogHandler.standardErrorIsJournal(environment: environment)
        LoggingSystem.bootstrap(
            { label, provider in JournalLogHandler(label: label, format: format, journald: journald, metadataProvider: provider) },
            metadataProvider: RequestTrace.metadataProvider)
        var logger = Logger(label: "fhir-risk-gateway")
        // LOG_LEVEL=debug or trace for more detail; no level ever logs patient data.
        logger.logLevel = environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info

        let path = config
        let read = await ConfigurationReading.read(path, environment: environment)
        guard let loaded = read.loaded else {
            for problem in read.problems { logger.error("configuration problem", metadata: ["file": "\(path)", "problem": "\(problem)"]) }
            logger.critical("the configuration cannot be used", metadata: ["problems": .stringConvertible(read.problems.count), "exit.code": .stringConvertible(Self.configurationExitCode)])
            throw ExitCode(Self.configurationExitCode)
        }
        do {
            try await GatewayDaemon.run(
                loaded: loaded,
                reload: { () async throws(ConfigurationError) -> GatewayDaemon.Loaded in
                    let again = await ConfigurationReading.read(path, environment: environment)
                    guard let loaded = again.loaded else { throw ConfigurationError(problems: again.problems) }
                    return loaded
                },
                environment: environment,
                logger: logger
            )
        } catch {
            logger.critical("exiting", metadata: ["reason": "\(error.description)", "exit.code": .stringConvertible(error.exitCode)])
            throw ExitCode(error.exitCode)
        }
    }
}

/// `check-config --config FILE`: every check `serve` runs before it binds, and probes of the
/// upstream; one line per problem (`error:` or `warning:`, the key, what is wrong, the fix) and a
/// summary. Exit 1 when `serve` would refuse to start or a certificate is out of its dates.
struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration as serve would, and probe the upstream.",
        discussion: """
            Run it as the user and with the environment of the service. For the installed unit, which \
            gets its TLS files and store from systemd (LoadCredential=, StateDirectory=):
              \(installedServiceCheck)
            """
    )

    /// check-config as the installed unit sees its files.
    static let installedServiceCheck =
        "sudo systemd-run --wait --pipe --collect -p User=fhir-risk-gateway -p StateDirectory=fhir-risk-gateway "
        + "-p LoadCredential=tls.crt:/etc/fhir-risk-gateway/tls/server.crt -p LoadCredential=tls.key:/etc/fhir-risk-gateway/tls/server.key "
        + "/usr/bin/fhir-risk-gateway check-config --config /etc/fhir-risk-gateway/gateway.yaml"

    @Option(help: "The configuration file (YAML).")
    var config: String

    @Flag(help: "Skip the upstream's probes (name, connection, TLS handshake, GET /metadata) and the PostgreSQL store's (connection, schema).")
    var noNetwork = false

    @Option(help: "Run as root, check that this user (the unit's User=) can read the files the configuration names.")
    var serviceUser = "fhir-risk-gateway"

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let read = await ConfigurationReading.read(config, environment: environment)
        var lines = read.problems.map { "error: \($0)" }
        var errors = read.problems.count
        var warnings = 0
        var stopsServe = !read.problems.isEmpty
        if let loaded = read.loaded {
            for finding in await Preflight.run(loaded.configuration, network: !noNetwork, serviceUser: serviceUser, environment: environment) {
                lines.append(finding.description)
                if finding.level == .error { errors += 1 } else { warnings += 1 }
                if finding.stopsServe { stopsServe = true }
            }
        }
        let credentialsMissing = read.problems.contains { $0.hasPrefix("tls.certificate is required") || $0.hasPrefix("tls.privateKey is required") }
        if credentialsMissing, environment["CREDENTIALS_DIRECTORY"] == nil {
            lines.append(
                "note: the installed service gets tls.certificate and tls.privateKey from systemd (LoadCredential=); check it as it runs:\n  "
                    + Self.installedServiceCheck)
        }
        let verdict =
            stopsServe
            ? "serve would refuse to start"
            : errors > 0 ? "serve would start, but clients would fail" : warnings > 0 ? "serve would start; see the warnings" : "valid"
        let network = noNetwork ? " (upstream and database not probed: --no-network)" : ""
        // The problems on standard error, the summary on standard output.
        if !lines.isEmpty { writeToStandardError(lines.joined(separator: "\n") + "\n") }
        print("\(config): \(Self.count(errors, "error")), \(Self.count(warnings, "warning")): \(verdict)\(network)")
        if errors > 0 { throw ExitCode(1) }
    }

    static func count(_ number: Int, _ noun: String) -> String { "\(number) \(noun)\(number == 1 ? "" : "s")" }
}

/// Reads the configuration with the model and Profiles it names, into the daemon's one type for
/// them (`GatewayDaemon.Loaded`), or says every problem found.
enum ConfigurationReading {
    static func read(_ path: String, environment: [String: String]) async -> (loaded: GatewayDaemon.Loaded?, problems: [String]) {
        var problems: [String] = []
        var gateway: GatewayConfiguration?
        do {
            gateway = try await GatewayConfiguration.load(path: path, environment: environment)
        } catch {
            problems += error.problems
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
        return (GatewayDaemon.Loaded(configuration: gateway, codes: files.codes, parameters: files.parameters, conformance: files.conformance), [])
    }
}
