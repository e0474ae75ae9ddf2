import Configuration
import Foundation
import PostgresStorage
import RiskModel
import SystemPackage

/// The daemon's configuration: one YAML file (`Config/gateway.yaml` documents every key), each key
/// overridable by an environment variable (`server.port` → `SERVER_PORT`, `tls.privateKey` →
/// `TLS_PRIVATE_KEY`). The key names are a contract deployment scripts rely on.
public struct GatewayConfiguration: Sendable {
    public var server: Server
    public var tls: TLS
    /// The SQLite file (`storage.kind: sqlite`, the default).
    public var storagePath: String
    /// The PostgreSQL database (`storage.kind: postgresql`); nil for SQLite.
    public var postgres: PostgresStoreSettings?
    /// How long answers are kept for resends, and delivered outbox entries for `outbox list`.
    public var retentionDays: Int
    public var upstream: Upstream?
    public var metrics: Server
    public var connections: Connections
    public var modelPath: String
    public var profilesPath: String
    public var limits: Limits
    /// What an incoming resource that fails its profile gets (`validation.profiles`).
    public var profileValidation: ProfileValidation
    /// What an incoming resource that fails the R4 core profile R4 requires of it gets (a vital
    /// sign's, `validation.coreProfiles`).
    public var coreProfileValidation: ProfileValidation
    public var delivery: Delivery
    /// The clinical rules of who and what is scored (`cases.*`).
    public var cases: CasePolicy
    /// The key of the pseudonymous case ids in the log (a keyed hash); created on first start
    /// next to the store when the file does not exist.
    public var pseudonymKeyFile: String
    /// On SIGTERM, the longest wait for in-flight requests and the outbox before exiting.
    public var drainSeconds: Double

    /// Reads the file at `path` with environment overrides, and checks every key: values present,
    /// well-formed, files readable, none unknown. All problems are reported together.
    public static func load(path: String, environment: [String: String]) async throws(ConfigurationError)
        -> GatewayConfiguration
    {
        let reader = CheckedReader(try await Self.reader(path: path, environment: environment), environment: environment)
        var problems: [String] = []
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            problems += ConfigurationKeys.problems(yaml: text)
        }
        let configuration = GatewayConfiguration(reader: reader)
        problems += reader.problems
        if !problems.isEmpty { throw ConfigurationError(problems: problems) }
        return configuration
    }

    /// Only the store's path (`storage.path`, its environment variable, or `$STATE_DIRECTORY`),
    /// for the commands that need nothing else (`outbox`): the rest of the file is not checked.
    public static func storagePath(configPath: String, environment: [String: String]) async throws(ConfigurationError)
        -> String
    {
        let reader = try await Self.reader(path: configPath, environment: environment)
        guard let path = reader.string(forKey: "storage.path").flatMap({ $0.isEmpty ? nil : $0 }) ?? defaultStoragePath(environment: environment)
        else {
            throw ConfigurationError(problems: ["storage.path is required (or the environment variable \(environmentName("storage.path")), or --store FILE)"])
        }
        return path
    }

    /// Where a store is, for the command line.
    public enum StoreLocation: Sendable {
        case sqlite(path: String)
        case postgresql(PostgresStoreSettings)
    }

    /// The store the file's `storage` section names (the other sections are not read): the
    /// command line's way to the daemon's store.
    public static func storeLocation(configPath: String, environment: [String: String]) async throws(ConfigurationError) -> StoreLocation {
        let reader = CheckedReader(try await Self.reader(path: configPath, environment: environment), environment: environment)
        let postgres = Self.postgres(reader: reader)
        if !reader.problems.isEmpty { throw ConfigurationError(problems: reader.problems) }
        if let postgres { return .postgresql(postgres) }
        return .sqlite(path: try await storagePath(configPath: configPath, environment: environment))
    }

    /// The file at `path` under the environment's overrides.
    static func reader(path: String, environment: [String: String]) async throws(ConfigurationError) -> ConfigReader {
        do {
            return ConfigReader(providers: [
                EnvironmentVariablesProvider(environmentVariables: environment),
                try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)),
            ])
        } catch {
            throw ConfigurationError(problems: ["\(path): cannot read the configuration file: \(error)"])
        }
    }

    /// Under systemd the store lives in `$STATE_DIRECTORY` unless the file says otherwise.
    static func defaultStoragePath(environment: [String: String]) -> String? {
        environment["STATE_DIRECTORY"].flatMap { $0.isEmpty ? nil : $0.split(separator: ":").first.map { "\($0)/gateway.sqlite" } }
    }

    /// The environment variable that overrides `key`, as swift-configuration's environment
    /// provider maps it: dots become underscores, and so does each boundary where a lower-case
    /// letter is followed by an upper-case one; `tls.privateKey` → `TLS_PRIVATE_KEY`,
    /// `upstream.baseURL` → `UPSTREAM_BASE_URL`.
    static func environmentName(_ key: String) -> String {
        var name = ""
        var previous: Character?
        for character in key {
            if character == "." {
                name += "_"
            } else {
                if let previous, previous.isLowercase, character.isUppercase { name += "_" }
                name += character.uppercased()
            }
            previous = character
        }
        return name
    }
}
