import Configuration
import Foundation
import SystemPackage

/// The daemon's configuration: one YAML file (`Config/gateway.yaml` documents every key), each key
/// overridable by an environment variable (`server.port` → `SERVER_PORT`, `tls.privateKey` →
/// `TLS_PRIVATEKEY`). The key names are a contract deployment scripts rely on.
public struct GatewayConfiguration: Sendable {
    public struct Server: Sendable {
        public var host: String
        public var port: Int
    }

    public struct TLS: Sendable {
        public var certificate: String
        public var privateKey: String
        /// When set, clients must present a certificate issued by this CA (mutual TLS).
        public var clientCA: String?
        /// When not empty (and `clientCA` is set), the client certificate's subject common name
        /// must be one of these; others get 403.
        public var allowedClientNames: [String]
    }

    public struct Upstream: Sendable {
        public var baseURL: String
        public var caCertificate: String?
        public var clientCertificate: String?
        public var clientPrivateKey: String?
        public var bearerTokenFile: String?
    }

    public struct Limits: Sendable {
        /// Largest request body (bytes).
        public var maxBodyBytes: Int
        /// Largest single resource outside a Bundle (bytes).
        public var maxResourceBytes: Int
        /// Most entries in one Bundle.
        public var maxBundleEntries: Int
    }

    public struct Delivery: Sendable {
        public var maxAttempts: Int
        public var initialBackoffSeconds: Double
        public var maxBackoffSeconds: Double
        public var timeoutSeconds: Double
    }

    public var server: Server
    public var tls: TLS
    public var storagePath: String
    public var upstream: Upstream?
    public var metrics: Server
    public var modelPath: String
    public var profilesPath: String
    public var limits: Limits
    public var delivery: Delivery
    /// Score a case that lacks its ImagingStudy (as `preliminary`) instead of waiting for it.
    public var scoreWithoutStudy: Bool

    /// Every problem found while reading the configuration, in words an operator can act on.
    public struct Problems: Error, Sendable, CustomStringConvertible {
        public var messages: [String]
        public var description: String { messages.joined(separator: "\n") }
    }

    /// Reads the file at `path` with environment overrides, and checks every key: values present,
    /// well-formed, files readable. All problems are reported together.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws(Problems)
        -> GatewayConfiguration
    {
        let reader: ConfigReader
        do {
            reader = ConfigReader(providers: [
                EnvironmentVariablesProvider(environmentVariables: environment),
                try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)),
            ])
        } catch {
            throw Problems(messages: ["\(path): cannot read the configuration file: \(error)"])
        }
        var problems: [String] = []
        func string(_ key: String, default value: String? = nil) -> String? {
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
        func readableFile(_ key: String, _ path: String?) {
            guard let path, !path.isEmpty else { return }
            if !FileManager.default.isReadableFile(atPath: path) {
                problems.append("\(key): the file \(path) does not exist or cannot be read")
            }
        }

        let tls = TLS(
            certificate: required("tls.certificate"),
            privateKey: required("tls.privateKey"),
            clientCA: string("tls.clientCA"),
            allowedClientNames: reader.stringArray(forKey: "tls.allowedClientNames") ?? []
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

        let configuration = GatewayConfiguration(
            server: Server(
                host: string("server.host", default: "127.0.0.1") ?? "127.0.0.1", port: integer("server.port", default: 8443, range: 1...65535)),
            tls: tls,
            storagePath: required("storage.path"),
            upstream: upstream,
            metrics: Server(
                host: string("metrics.host", default: "127.0.0.1") ?? "127.0.0.1", port: integer("metrics.port", default: 9464, range: 1...65535)),
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
                timeoutSeconds: number("delivery.timeoutSeconds", default: 30)
            ),
            scoreWithoutStudy: boolean("cases.scoreWithoutStudy", default: false)
        )
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

    /// The environment variable that overrides `key`: `tls.privateKey` → `TLS_PRIVATEKEY`.
    static func environmentName(_ key: String) -> String {
        key.replacingOccurrences(of: ".", with: "_").uppercased()
    }
}
