import Configuration
import Foundation
import RiskModel
import SystemPackage

/// The daemon's configuration: one YAML file (`Config/gateway.yaml` documents every key), each key
/// overridable by an environment variable (`server.port` → `SERVER_PORT`, `tls.privateKey` →
/// `TLS_PRIVATE_KEY`). The key names are a contract deployment scripts rely on.
public struct GatewayConfiguration: Sendable {
    public struct Server: Sendable, Equatable {
        public var host: String
        public var port: Int
    }

    public struct TLS: Sendable, Equatable {
        public var certificate: String
        public var privateKey: String
        /// When set, clients must present a certificate issued by this CA (mutual TLS).
        public var clientCA: String?
        /// When not empty (and `clientCA` is set), the client certificate's subject common name
        /// must be one of these; others get 403.
        public var allowedClientNames: [String]
    }

    public struct Upstream: Sendable, Equatable {
        public var baseURL: String
        public var caCertificate: String?
        public var clientCertificate: String?
        public var clientPrivateKey: String?
        public var bearerTokenFile: String?
    }

    /// How many connections the listeners keep, and how long a TLS handshake may take.
    public struct Connections: Sendable, Equatable {
        /// The FHIR API's cap; nil: the descriptor limit less what the rest of the process needs.
        public var apiMax: Int?
        /// The operations listener's cap.
        public var operationsMax: Int
        public var tlsHandshakeTimeoutSeconds: Double
        /// How long an idle connection (new, or after an answer) may take to send a whole request head.
        public var requestHeaderTimeoutSeconds: Double
    }

    public struct Limits: Sendable, Equatable {
        /// Largest request body (bytes).
        public var maxBodyBytes: Int
        /// Largest single resource outside a Bundle (bytes).
        public var maxResourceBytes: Int
        /// Most entries in one Bundle.
        public var maxBundleEntries: Int
    }

    public struct Delivery: Sendable, Equatable {
        public var maxAttempts: Int
        public var initialBackoffSeconds: Double
        public var maxBackoffSeconds: Double
        public var timeoutSeconds: Double
        /// On shutdown, how long the outbox may go on delivering what is due.
        public var drainSeconds: Double
    }

    public var server: Server
    public var tls: TLS
    public var storagePath: String
    /// How long answers are kept for resends, and delivered outbox entries for `outbox list`.
    public var retentionDays: Int
    public var upstream: Upstream?
    public var metrics: Server
    public var connections: Connections
    public var modelPath: String
    public var profilesPath: String
    public var limits: Limits
    public var delivery: Delivery
    /// The clinical rules of who and what is scored (`cases.*`).
    public var cases: CasePolicy
    /// The key of the pseudonymous case ids in the log (a keyed hash); created on first start
    /// next to the store when the file does not exist.
    public var pseudonymKeyFile: String
    /// On SIGTERM, the longest wait for in-flight requests and the outbox before exiting.
    public var drainSeconds: Double

    /// Every problem found while reading the configuration, in words an operator can act on.
    public struct Problems: Error, Sendable, CustomStringConvertible {
        public var messages: [String]
        public var description: String { messages.joined(separator: "\n") }
    }

    /// Reads the file at `path` with environment overrides, and checks every key: values present,
    /// well-formed, files readable. All problems are reported together.
    public static func load(path: String, environment: [String: String]) async throws(Problems)
        -> GatewayConfiguration
    {
        let reader = try await Self.reader(path: path, environment: environment)
        var problems: [String] = []
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            problems += ConfigurationKeys.problems(yaml: text)
        }
        func string(_ key: String, default value: String? = nil) -> String? {
            assert(ConfigurationKeys.known.contains(key), "\(key) is read but not in ConfigurationKeys.known")
            let found = reader.string(forKey: ConfigKey(key)).flatMap { $0.isEmpty ? nil : $0 } ?? value
            return found
        }
        func required(_ key: String) -> String {
            guard let value = string(key) else {
                problems.append("\(key) is required (or the environment variable \(environmentName(key)))")
                return ""
            }
            return value
        }
        func integer(_ key: String, default value: Int, range: ClosedRange<Int>) -> Int {
            guard let text = string(key) else { return value }
            guard let number = Int(text), range.contains(number) else {
                problems.append("\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
                return value
            }
            return number
        }
        func number(_ key: String, default value: Double) -> Double {
            guard let text = string(key) else { return value }
            guard let number = Double(text), number > 0 else {
                problems.append("\(key) must be a positive number, not '\(text)'")
                return value
            }
            return number
        }
        func boolean(_ key: String, default value: Bool) -> Bool {
            guard let text = string(key) else { return value }
            switch text.lowercased() {
            case "true", "yes", "1": return true
            case "false", "no", "0": return false
            default:
                problems.append("\(key) must be true or false, not '\(text)'")
                return value
            }
        }
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, default value: T) -> T where T.RawValue == String {
            guard let text = string(key) else { return value }
            guard let found = T(rawValue: text) else {
                problems.append("\(key) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
                return value
            }
            return found
        }
        func readableFile(_ key: String, _ path: String?) {
            guard let path, !path.isEmpty else { return }
            if !FileManager.default.isReadableFile(atPath: path) {
                problems.append("\(key): the file \(path) does not exist or cannot be read")
            }
        }

        // Under systemd the certificate and key come from `LoadCredential=` (tls.crt, tls.key in
        // $CREDENTIALS_DIRECTORY) and the store lives in $STATE_DIRECTORY, unless the file says
        // otherwise.
        func credential(_ name: String) -> String? {
            guard let folder = environment["CREDENTIALS_DIRECTORY"], !folder.isEmpty else { return nil }
            let path = (folder as NSString).appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: path) ? path : nil
        }
        let tls = TLS(
            certificate: string("tls.certificate", default: credential("tls.crt")) ?? required("tls.certificate"),
            privateKey: string("tls.privateKey", default: credential("tls.key")) ?? required("tls.privateKey"),
            clientCA: string("tls.clientCA"),
            allowedClientNames: reader.stringArray(forKey: ConfigKey("tls.allowedClientNames")) ?? []
        )
        if !tls.allowedClientNames.isEmpty, tls.clientCA == nil {
            problems.append("tls.allowedClientNames needs tls.clientCA: without mutual TLS there is no client certificate to check")
        }
        readableFile("tls.certificate", tls.certificate)
        readableFile("tls.privateKey", tls.privateKey)
        readableFile("tls.clientCA", tls.clientCA)

        var upstream: Upstream?
        if let base = string("upstream.baseURL") {
            if URL(string: base)?.scheme.map({ ["http", "https"].contains($0) }) != true {
                problems.append("upstream.baseURL must be an http or https URL, not '\(base)'")
            }
            upstream = Upstream(
                baseURL: base.hasSuffix("/") ? String(base.dropLast()) : base,
                caCertificate: string("upstream.caCertificate"),
                clientCertificate: string("upstream.clientCertificate"),
                clientPrivateKey: string("upstream.clientPrivateKey"),
                bearerTokenFile: string("upstream.bearerTokenFile")
            )
            readableFile("upstream.caCertificate", upstream?.caCertificate)
            readableFile("upstream.clientCertificate", upstream?.clientCertificate)
            readableFile("upstream.clientPrivateKey", upstream?.clientPrivateKey)
            readableFile("upstream.bearerTokenFile", upstream?.bearerTokenFile)
            if (upstream?.clientCertificate == nil) != (upstream?.clientPrivateKey == nil) {
                problems.append("upstream.clientCertificate and upstream.clientPrivateKey go together: set both or neither")
            }
        }

        var configuration = GatewayConfiguration(
            server: Server(
                host: string("server.host", default: "127.0.0.1") ?? "127.0.0.1", port: integer("server.port", default: 8443, range: 1...65535)),
            tls: tls,
            storagePath: string("storage.path", default: defaultStoragePath(environment: environment)) ?? required("storage.path"),
            retentionDays: integer("storage.retentionDays", default: 7, range: 1...3650),
            upstream: upstream,
            metrics: Server(
                host: string("metrics.host", default: "127.0.0.1") ?? "127.0.0.1", port: integer("metrics.port", default: 9464, range: 1...65535)),
            connections: Connections(
                apiMax: string("server.maxConnections") == nil ? nil : integer("server.maxConnections", default: 0, range: 1...1_000_000),
                operationsMax: integer("metrics.maxConnections", default: 16, range: 1...1024),
                tlsHandshakeTimeoutSeconds: number("server.tlsHandshakeTimeoutSeconds", default: 10),
                requestHeaderTimeoutSeconds: number("server.requestHeaderTimeoutSeconds", default: 30)
            ),
            modelPath: required("model.path"),
            profilesPath: required("profiles.path"),
            limits: Limits(
                maxBodyBytes: integer("limits.maxBodyBytes", default: 5 * 1_048_576, range: 1024...64 * 1_048_576),
                maxResourceBytes: integer("limits.maxResourceBytes", default: 1_048_576, range: 1024...64 * 1_048_576),
                maxBundleEntries: integer("limits.maxBundleEntries", default: 150, range: 1...10_000)
            ),
            delivery: Delivery(
                maxAttempts: integer("delivery.maxAttempts", default: 12, range: 1...1000),
                initialBackoffSeconds: number("delivery.initialBackoffSeconds", default: 1),
                maxBackoffSeconds: number("delivery.maxBackoffSeconds", default: 600),
                timeoutSeconds: number("delivery.timeoutSeconds", default: 30),
                drainSeconds: number("delivery.drainSeconds", default: 10)
            ),
            cases: CasePolicy(
                eligibility: choice("cases.eligibility", default: CasePolicy.Eligibility.diagnosis),
                requireBodySite: boolean("cases.requireBodySite", default: true),
                baseline: choice("cases.baseline", default: CasePolicy.Baseline.earliest),
                maxStudyAgeDays: integer("cases.maxStudyAgeDays", default: 120, range: 1...36_500),
                scoreWithoutStudy: boolean("cases.scoreWithoutStudy", default: false)
            ),
            pseudonymKeyFile: "",
            drainSeconds: number("shutdown.drainSeconds", default: 30)
        )
        configuration.pseudonymKeyFile =
            string("logging.pseudonymKeyFile")
            ?? ((configuration.storagePath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("pseudonym.key")
        readableFile("model.path", configuration.modelPath)
        if !configuration.profilesPath.isEmpty {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: configuration.profilesPath, isDirectory: &isDirectory) || !isDirectory.boolValue {
                problems.append("profiles.path: \(configuration.profilesPath) is not a folder")
            }
        }
        if configuration.server.host == configuration.metrics.host, configuration.server.port == configuration.metrics.port {
            problems.append("server.port and metrics.port must differ")
        }
        if !problems.isEmpty { throw Problems(messages: problems) }
        return configuration
    }

    /// Only the store's path (`storage.path`, its environment variable, or `$STATE_DIRECTORY`),
    /// for the commands that need nothing else (`outbox`): the rest of the file is not checked.
    public static func storagePath(configPath: String, environment: [String: String]) async throws(Problems)
        -> String
    {
        let reader = try await Self.reader(path: configPath, environment: environment)
        guard let path = reader.string(forKey: "storage.path").flatMap({ $0.isEmpty ? nil : $0 }) ?? defaultStoragePath(environment: environment)
        else {
            throw Problems(messages: ["storage.path is required (or the environment variable \(environmentName("storage.path")), or --store FILE)"])
        }
        return path
    }

    /// The file at `path` under the environment's overrides.
    static func reader(path: String, environment: [String: String]) async throws(Problems) -> ConfigReader {
        do {
            return ConfigReader(providers: [
                EnvironmentVariablesProvider(environmentVariables: environment),
                try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)),
            ])
        } catch {
            throw Problems(messages: ["\(path): cannot read the configuration file: \(error)"])
        }
    }

    /// Under systemd the store lives in `$STATE_DIRECTORY` unless the file says otherwise.
    static func defaultStoragePath(environment: [String: String]) -> String? {
        environment["STATE_DIRECTORY"].flatMap { $0.isEmpty ? nil : $0.split(separator: ":").first.map { "\($0)/gateway.sqlite" } }
    }

    /// The environment variable that overrides `key`, as swift-configuration maps it: dots and
    /// word boundaries become underscores, `tls.privateKey` → `TLS_PRIVATE_KEY`.
    static func environmentName(_ key: String) -> String {
        var name = ""
        for character in key {
            if character == "." {
                name += "_"
            } else if character.isUppercase {
                name += "_" + character.uppercased()
            } else {
                name += character.uppercased()
            }
        }
        return name
    }
}
