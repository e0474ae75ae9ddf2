import Foundation
import PostgresStorage
import RiskModel

/// The configuration's sections, each read from its keys by `init(reader:)`. Every key is
/// documented, with its default, in `Config/gateway.yaml`.
extension GatewayConfiguration {
    /// Reads every section; the reader keeps the problems found.
    init(reader: CheckedReader) {
        server = Server(reader: reader, section: "server", defaultPort: 8443)
        tls = TLS(reader: reader)
        postgres = Self.postgres(reader: reader)
        // Under systemd the store lives in $STATE_DIRECTORY unless the file says otherwise. With
        // PostgreSQL the path only places the pseudonym key by default.
        let defaultPath = Self.defaultStoragePath(environment: reader.environment)
        storagePath = postgres == nil ? reader.required("storage.path", default: defaultPath) : reader.string("storage.path") ?? defaultPath ?? ""
        retentionDays = reader.integer("storage.retentionDays", default: 7, range: 1...3650)
        upstream = Upstream(reader: reader)
        metrics = Server(reader: reader, section: "metrics", defaultPort: 9464)
        connections = Connections(reader: reader)
        modelPath = reader.required("model.path")
        profilesPath = reader.required("profiles.path")
        limits = Limits(reader: reader)
        profileValidation = reader.choice("validation.profiles", default: ProfileValidation.enforce)
        coreProfileValidation = reader.choice("validation.coreProfiles", default: ProfileValidation.warn)
        delivery = Delivery(reader: reader)
        cases = CasePolicy(reader: reader)
        let keyFile = reader.string("logging.pseudonymKeyFile")
        if keyFile == nil, storagePath.isEmpty {
            reader.problem(
                "logging.pseudonymKeyFile is required with storage.kind: postgresql outside systemd (neither storage.path nor $STATE_DIRECTORY places it)")
        }
        pseudonymKeyFile = keyFile ?? ((storagePath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("pseudonym.key")
        drainSeconds = reader.number("shutdown.drainSeconds", default: 30)

        reader.checkReadable("model.path", modelPath)
        if !profilesPath.isEmpty {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: profilesPath, isDirectory: &isDirectory) || !isDirectory.boolValue {
                reader.problem("profiles.path: \(profilesPath) is not a folder")
            }
        }
        if server.host == metrics.host, server.port == metrics.port {
            reader.problem("server.port and metrics.port must differ")
        }
    }

    /// A listener's address: `server.host`/`server.port` (the FHIR API, default 127.0.0.1:8443)
    /// or `metrics.host`/`metrics.port` (the operations listener, default 127.0.0.1:9464).
    public struct Server: Sendable, Equatable {
        public var host: String
        public var port: Int
    }

    /// `tls.*`: the server's certificate and key, and mutual TLS.
    public struct TLS: Sendable, Equatable {
        /// `tls.certificate` (PEM, chain included); under systemd, the credential `tls.crt` by default.
        public var certificate: String
        /// `tls.privateKey` (PEM); under systemd, the credential `tls.key` by default.
        public var privateKey: String
        /// `tls.clientCA`: when set, clients must present a certificate issued by this CA (mutual TLS).
        public var clientCA: String?
        /// `tls.allowedClientNames`: when not empty (and `clientCA` is set), the client
        /// certificate's subject common name must be one of these; others get 403.
        public var allowedClientNames: [String]
    }

    /// `upstream.*`: the FHIR server RiskAssessments are delivered to; none when
    /// `upstream.baseURL` is unset (assessments are then only stored).
    public struct Upstream: Sendable, Equatable {
        /// `upstream.baseURL`, without a trailing slash.
        public var baseURL: String
        /// `upstream.caCertificate`: the CA the upstream's certificate must chain to (default: the system's).
        public var caCertificate: String?
        /// `upstream.clientCertificate` and `upstream.clientPrivateKey`: mutual TLS to the upstream.
        public var clientCertificate: String?
        public var clientPrivateKey: String?
        /// `upstream.bearerTokenFile`: a file whose content is sent as `Authorization: Bearer`.
        public var bearerTokenFile: String?
        /// `upstream.auth`: how the gateway authorizes itself to the upstream.
        public var auth: Authorization
        /// SMART Backend Services (`upstream.auth: smartBackend`).
        public var smart: SMARTBackend?

        public enum Authorization: String, Sendable, Equatable, CaseIterable {
            /// No `Authorization` header (mutual TLS alone, or an open test server).
            case none
            /// The content of `upstream.bearerTokenFile`, read before every attempt.
            case bearerTokenFile
            /// OAuth 2.0 client credentials with a signed JWT client assertion (SMART Backend Services).
            case smartBackend
        }

        /// `upstream.tokenURL`, `upstream.clientID`, `upstream.scope`, `upstream.jwtSigningKey`,
        /// `upstream.jwtKeyID`: what the gateway registers with the EHR's authorization server.
        public struct SMARTBackend: Sendable, Equatable {
            /// The token endpoint; nil: discovered from `[baseURL]/.well-known/smart-configuration`.
            public var tokenURL: String?
            public var clientID: String
            /// Default `system/RiskAssessment.write` (SMART v1; v2 servers also take `system/RiskAssessment.cu`).
            public var scope: String
            /// A PEM private key: RSA (2048 bits or more) signs RS384, EC P-384 signs ES384.
            public var jwtSigningKey: String
            /// The `kid` of the key in the JWK Set registered with the EHR.
            public var jwtKeyID: String
        }
    }

    /// How many connections the listeners keep, and how long a client may take to start a
    /// request (`server.maxConnections`, `server.tlsHandshakeTimeoutSeconds`,
    /// `server.requestHeaderTimeoutSeconds`, `metrics.maxConnections`).
    public struct Connections: Sendable, Equatable {
        /// The FHIR API's cap; nil: the descriptor limit less what the rest of the process needs.
        public var apiMax: Int?
        /// The operations listener's cap (default 16).
        public var operationsMax: Int
        /// Default 10 s.
        public var tlsHandshakeTimeoutSeconds: Double
        /// How long an idle connection (new, or after an answer) may take to send a whole request
        /// head (default 30 s).
        public var requestHeaderTimeoutSeconds: Double
    }

    /// `limits.*`: what one request may hold.
    public struct Limits: Sendable, Equatable {
        /// Largest request body in bytes, after gzip inflation too (default 5 MiB).
        public var maxBodyBytes: Int
        /// Largest single resource outside a Bundle in bytes (default 1 MiB).
        public var maxResourceBytes: Int
        /// Most entries in one Bundle (default 150).
        public var maxBundleEntries: Int
    }

    /// `delivery.*`: how the outbox posts RiskAssessments to the upstream.
    public struct Delivery: Sendable, Equatable {
        /// Attempts before an entry becomes a dead letter (default 12).
        public var maxAttempts: Int
        /// The first retry's wait, doubled per attempt with jitter up to `maxBackoffSeconds`
        /// (defaults 1 s and 600 s).
        public var initialBackoffSeconds: Double
        public var maxBackoffSeconds: Double
        /// One attempt's limit (default 30 s).
        public var timeoutSeconds: Double
        /// On shutdown, how long the outbox may go on delivering what is due (default 10 s).
        public var drainSeconds: Double
        /// Deliveries in flight at once (default 4); never two versions of one assessment.
        public var concurrency: Int
    }
}

extension GatewayConfiguration.Server {
    /// - Parameter section: `server` or `metrics`.
    init(reader: CheckedReader, section: String, defaultPort: Int) {
        host = reader.string("\(section).host", default: "127.0.0.1") ?? "127.0.0.1"
        port = reader.integer("\(section).port", default: defaultPort, range: 1...65535)
    }
}

extension GatewayConfiguration.TLS {
    init(reader: CheckedReader) {
        certificate = reader.required("tls.certificate", default: reader.credential("tls.crt"))
        privateKey = reader.required("tls.privateKey", default: reader.credential("tls.key"))
        clientCA = reader.string("tls.clientCA")
        allowedClientNames = reader.stringArray("tls.allowedClientNames")
        if !allowedClientNames.isEmpty, clientCA == nil {
            reader.problem("tls.allowedClientNames needs tls.clientCA: without mutual TLS there is no client certificate to check")
        }
        reader.checkReadable("tls.certificate", certificate)
        reader.checkReadable("tls.privateKey", privateKey)
        reader.checkReadable("tls.clientCA", clientCA)
    }
}

extension GatewayConfiguration.Upstream {
    /// Nil when `upstream.baseURL` is unset; then no other upstream key is read.
    init?(reader: CheckedReader) {
        guard let base = reader.string("upstream.baseURL") else { return nil }
        if URL(string: base)?.scheme.map({ ["http", "https"].contains($0) }) != true {
            reader.problem("upstream.baseURL must be an http or https URL, not '\(base)'")
        }
        baseURL = base.hasSuffix("/") ? String(base.dropLast()) : base
        caCertificate = reader.string("upstream.caCertificate")
        clientCertificate = reader.string("upstream.clientCertificate")
        clientPrivateKey = reader.string("upstream.clientPrivateKey")
        bearerTokenFile = reader.string("upstream.bearerTokenFile")
        reader.checkReadable("upstream.caCertificate", caCertificate)
        reader.checkReadable("upstream.clientCertificate", clientCertificate)
        reader.checkReadable("upstream.clientPrivateKey", clientPrivateKey)
        reader.checkReadable("upstream.bearerTokenFile", bearerTokenFile)
        if (clientCertificate == nil) != (clientPrivateKey == nil) {
            reader.problem("upstream.clientCertificate and upstream.clientPrivateKey go together: set both or neither")
        }
        (auth, smart) = Self.authorization(reader: reader, bearerTokenFile: bearerTokenFile)
    }

    /// `upstream.auth` and the keys of its mode; a key of another mode is a problem, as it would
    /// be ignored.
    private static func authorization(reader: CheckedReader, bearerTokenFile: String?) -> (Authorization, SMARTBackend?) {
        let smartKeys = ["upstream.tokenURL", "upstream.clientID", "upstream.scope", "upstream.jwtSigningKey", "upstream.jwtKeyID"]
        var values: [String: String] = [:]
        for key in smartKeys { values[key] = reader.string(key) }
        let auth = reader.choice("upstream.auth", default: bearerTokenFile == nil ? Authorization.none : .bearerTokenFile)
        if auth == .bearerTokenFile, bearerTokenFile == nil {
            reader.problem("upstream.bearerTokenFile is required with upstream.auth: bearerTokenFile")
        }
        if auth != .bearerTokenFile, bearerTokenFile != nil {
            reader.problem("upstream.bearerTokenFile applies only with upstream.auth: bearerTokenFile (upstream.auth is \(auth.rawValue))")
        }
        guard auth == .smartBackend else {
            for key in smartKeys where values[key] != nil {
                reader.problem("\(key) applies only with upstream.auth: smartBackend (upstream.auth is \(auth.rawValue))")
            }
            return (auth, nil)
        }
        for key in ["upstream.clientID", "upstream.jwtSigningKey", "upstream.jwtKeyID"] where values[key] == nil {
            reader.problem("\(key) is required with upstream.auth: smartBackend")
        }
        if let tokenURL = values["upstream.tokenURL"], URL(string: tokenURL)?.scheme.map({ ["http", "https"].contains($0) }) != true {
            reader.problem("upstream.tokenURL must be an http or https URL, not '\(tokenURL)'")
        }
        reader.checkReadable("upstream.jwtSigningKey", values["upstream.jwtSigningKey"])
        let smart = SMARTBackend(
            tokenURL: values["upstream.tokenURL"], clientID: values["upstream.clientID"] ?? "",
            scope: values["upstream.scope"] ?? "system/RiskAssessment.write", jwtSigningKey: values["upstream.jwtSigningKey"] ?? "",
            jwtKeyID: values["upstream.jwtKeyID"] ?? "")
        return (auth, smart)
    }
}

extension GatewayConfiguration {
    /// `storage.kind`: where the gateway keeps its facts, assessments and outbox.
    public enum StorageKind: String, Sendable, Equatable, CaseIterable {
        /// The embedded SQLite file at `storage.path` (one gateway).
        case sqlite
        /// A PostgreSQL database at `storage.url`, shared by any number of gateways.
        case postgresql
    }

    /// `storage.tls`.
    enum StorageTLS: String, CaseIterable {
        case verifyFull = "verify-full"
        case disable
    }

    /// `storage.kind` and, for PostgreSQL, `storage.url`, `storage.passwordFile`, `storage.tls`,
    /// `storage.caCertificate`, `storage.poolSize`. Nil for SQLite; a PostgreSQL key set beside
    /// `storage.kind: sqlite` is a problem, as it would be ignored.
    static func postgres(reader: CheckedReader) -> PostgresStoreSettings? {
        let keys = ["storage.url", "storage.passwordFile", "storage.tls", "storage.caCertificate", "storage.poolSize"]
        var values: [String: String] = [:]
        for key in keys { values[key] = reader.string(key) }
        let kind = reader.choice("storage.kind", default: StorageKind.sqlite)
        guard kind == .postgresql else {
            for key in keys where values[key] != nil {
                reader.problem("\(key) applies only with storage.kind: postgresql (storage.kind is \(kind.rawValue))")
            }
            return nil
        }
        let poolSize = reader.integer("storage.poolSize", default: 10, range: 1...200)
        let tls = reader.choice("storage.tls", default: StorageTLS.verifyFull)
        let ca = values["storage.caCertificate"]
        reader.checkReadable("storage.caCertificate", ca)
        if tls == .disable, ca != nil {
            reader.problem("storage.caCertificate applies only with storage.tls: verify-full")
        }
        var password: String?
        if let file = values["storage.passwordFile"] {
            password = SmallFile.text(file)?.trimmingCharacters(in: .whitespacesAndNewlines)
            if password == nil { reader.problem("storage.passwordFile: the file \(file) cannot be read (or holds more than 64 KiB)") }
        }
        guard let url = values["storage.url"] else {
            reader.problem("storage.url is required with storage.kind: postgresql (postgres://user@host:5432/database)")
            return nil
        }
        switch PostgresStoreSettings.parse(url: url) {
        case .failure(let problem):
            reader.problem("storage.url \(problem)")
            return nil
        case .success(let address):
            return PostgresStoreSettings(
                host: address.host, port: address.port, user: address.user, database: address.database, password: password,
                tls: tls == .disable ? .disable : .verifyFull(caCertificate: ca), poolSize: poolSize)
        }
    }
}

extension GatewayConfiguration.Connections {
    init(reader: CheckedReader) {
        apiMax = reader.optionalInteger("server.maxConnections", range: 1...1_000_000)
        operationsMax = reader.integer("metrics.maxConnections", default: 16, range: 1...1024)
        tlsHandshakeTimeoutSeconds = reader.number("server.tlsHandshakeTimeoutSeconds", default: 10)
        requestHeaderTimeoutSeconds = reader.number("server.requestHeaderTimeoutSeconds", default: 30)
    }
}

extension GatewayConfiguration.Limits {
    init(reader: CheckedReader) {
        maxBodyBytes = reader.integer("limits.maxBodyBytes", default: 5 * 1_048_576, range: 1024...64 * 1_048_576)
        maxResourceBytes = reader.integer("limits.maxResourceBytes", default: 1_048_576, range: 1024...64 * 1_048_576)
        maxBundleEntries = reader.integer("limits.maxBundleEntries", default: 150, range: 1...10_000)
    }
}

extension GatewayConfiguration.Delivery {
    init(reader: CheckedReader) {
        maxAttempts = reader.integer("delivery.maxAttempts", default: 12, range: 1...1000)
        initialBackoffSeconds = reader.number("delivery.initialBackoffSeconds", default: 1)
        maxBackoffSeconds = reader.number("delivery.maxBackoffSeconds", default: 600)
        timeoutSeconds = reader.number("delivery.timeoutSeconds", default: 30)
        drainSeconds = reader.number("delivery.drainSeconds", default: 10)
        concurrency = reader.integer("delivery.concurrency", default: 4, range: 1...64)
    }
}

extension CasePolicy {
    /// `cases.*`: the clinical rules of who and what is scored; CLINICAL-MODEL.md gives each
    /// default's source.
    init(reader: CheckedReader) {
        self.init(
            eligibility: reader.choice("cases.eligibility", default: Eligibility.diagnosis),
            requireBodySite: reader.boolean("cases.requireBodySite", default: true),
            baseline: reader.choice("cases.baseline", default: Baseline.earliest),
            maxStudyAgeDays: reader.integer("cases.maxStudyAgeDays", default: 120, range: 1...36_500),
            scoreWithoutStudy: reader.boolean("cases.scoreWithoutStudy", default: false)
        )
    }
}

extension GatewayConfiguration {
    /// `validation.profiles`: what happens to an incoming resource that fails a profile of
    /// Profiles/ that applies to it.
    public enum ProfileValidation: String, Sendable, CaseIterable {
        /// Refused (422) with an OperationOutcome pointing at each fault; warnings counted.
        case enforce
        /// Accepted; every issue counted in `fhir_gateway_profile_issues_total`.
        case warn
        /// Not validated against profiles (base R4 validation still applies).
        case off
    }
}
