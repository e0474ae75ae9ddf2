import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A running `fhir-risk-gateway serve` on loopback ports with its own certificates, store and
/// configuration in a temporary folder; an upstream FHIR server (Tests/Tools) in its own process
/// when asked, and a SMART authorization server (Tests/Tools/smart_auth_server.py). Everything
/// started is stopped by its process id.
final class DaemonHarness: @unchecked Sendable {
    let folder: URL
    let apiPort: Int
    let metricsPort: Int
    var upstreamPort: Int?
    /// The SMART authorization server's port, once started.
    private(set) var authServerPort: Int?
    private var gateway: SpawnedProcess?
    private var upstream: Process?
    private var authServer: Process?
    /// YAML appended to the configuration (rewritten on change; SIGHUP makes it count).
    var extraConfiguration: String {
        didSet { try? writeConfiguration() }
    }
    /// The folder of the server certificate and key the configuration names ("tls" or "other").
    var serverCertificateFolder = "tls" {
        didSet { try? writeConfiguration() }
    }
    /// YAML lines added to the `upstream:` section (`auth: smartBackend`, `jwtKeyID: k1`, …),
    /// unindented.
    var upstreamSettings = "" {
        didSet { try? writeConfiguration() }
    }
    /// `tls.allowedClientNames`, when not empty.
    var allowedClientNames: [String] = [] {
        didSet { try? writeConfiguration() }
    }

    /// Keys written into the `storage:` section after its `path` (YAML flow mapping entries).
    private let storageSettings: String?
    /// The folder of the CA and client certificate the upstream trusts: this harness's, or that
    /// of the harness that started the upstream this gateway shares.
    private let upstreamFolder: URL

    /// - Parameters:
    ///   - upstream: start the test upstream now (its options), nil for no upstream.
    ///   - storage: keys added to the `storage:` section, as YAML flow entries
    ///     (`kind: postgresql, url: "postgres://…", tls: disable`); `storage.path` stays the file in
    ///     the harness's folder (beside it the pseudonym key is kept).
    ///   - sharedUpstream: deliver to the upstream that harness started (its port, CA and client
    ///     certificate) instead of one of this harness's own.
    init(
        upstream: [String]? = nil, upstreamConfigured: Bool = true, extraConfiguration: String = "", storage: String? = nil,
        sharedUpstream: DaemonHarness? = nil
    ) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        apiPort = try Self.freePort()
        metricsPort = try Self.freePort()
        self.extraConfiguration = extraConfiguration
        storageSettings = storage
        upstreamFolder = sharedUpstream?.folder ?? folder
        try Self.run(
            "/bin/bash", [Fixtures.packageRoot.appendingPathComponent("scripts/dev-certificates.sh").path, folder.appendingPathComponent("tls").path])
        try Self.run(
            "/bin/bash",
            [Fixtures.packageRoot.appendingPathComponent("scripts/dev-certificates.sh").path, folder.appendingPathComponent("other").path])
        if let sharedUpstream {
            upstreamPort = sharedUpstream.upstreamPort
        } else {
            if upstreamConfigured { upstreamPort = try Self.freePort() }
            if let options = upstream { try startUpstream(options) }
        }
        try writeConfiguration()
    }

    deinit {
        stopAll()
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// A file of the folder whose certificates the upstream uses and trusts.
    private func upstreamPath(_ name: String) -> String { upstreamFolder.appendingPathComponent(name).path }

    func writeConfiguration() throws {
        var text = """
            server: {host: 127.0.0.1, port: \(apiPort)}
            tls:
              certificate: \(path("\(serverCertificateFolder)/server.crt"))
              privateKey: \(path("\(serverCertificateFolder)/server.key"))
              clientCA: \(path("tls/ca.crt"))
              allowedClientNames: [\(allowedClientNames.joined(separator: ", "))]
            storage: {path: \(path("state/gateway.sqlite"))\(storageSettings.map { ", \($0)" } ?? "")}
            metrics: {host: 127.0.0.1, port: \(metricsPort)}
            model: {path: \(Fixtures.packageRoot.appendingPathComponent("Config/models/sheng2022.yaml").path)}
            profiles: {path: \(Fixtures.packageRoot.appendingPathComponent("Profiles").path)}
            delivery: {maxAttempts: 5, initialBackoffSeconds: 0.2, maxBackoffSeconds: 0.5, timeoutSeconds: 5}

            """
        if let upstreamPort {
            text += """
                upstream:
                  baseURL: https://127.0.0.1:\(upstreamPort)
                  caCertificate: \(upstreamPath("tls/ca.crt"))
                  clientCertificate: \(upstreamPath("tls/client.crt"))
                  clientPrivateKey: \(upstreamPath("tls/client.key"))

                """
            for line in upstreamSettings.split(separator: "\n") { text += "  \(line)\n" }
        }
        text += extraConfiguration
        try text.write(to: folder.appendingPathComponent("gateway.yaml"), atomically: true, encoding: .utf8)
    }

    // MARK: - Processes

    /// - Parameters:
    ///   - environment: added to the gateway's environment (`NOTIFY_SOCKET`, …).
    ///   - launcher: a command that starts the gateway (`systemd-socket-activate …`), which it
    ///     replaces by exec, so the process id stays the gateway's.
    ///   - journald: standard error is announced as journald's stream (`JOURNAL_STREAM` names the
    ///     log file), as systemd does for a service.
    func startGateway(environment: [String: String] = [:], waitForLiveness: Bool = true, launcher: [String] = [], journald: Bool = false) throws {
        let command = launcher + [GatewayBinary.url.path, "serve", "--config", path("gateway.yaml")]
        let log = folder.appendingPathComponent("gateway.log")
        var environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        environment["JOURNAL_STREAM"] = nil
        if journald {
            if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
            let attributes = try FileManager.default.attributesOfItem(atPath: log.path)
            let device = (attributes[.systemNumber] as? NSNumber)?.uint64Value ?? 0
            let inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
            environment["JOURNAL_STREAM"] = "\(device):\(inode)"
        }
        let process = try SpawnedProcess(command, environment: environment, output: log.path)
        gateway = process
        if waitForLiveness {
            try waitUntil("the gateway answers /livez") { (try? self.plain("/livez")) == "ok\n" }
        }
    }

    /// The gateway's process id, while it runs.
    var gatewayPID: Int32? { gateway.flatMap { $0.isRunning ? $0.processIdentifier : nil } }

    /// Sends `signal` (SIGHUP to reload) to the gateway.
    func signalGateway(_ signal: Int32) {
        if let pid = gatewayPID { kill(pid, signal) }
    }

    /// Waits for the gateway to exit by itself (after SIGTERM sent elsewhere); its status.
    func waitForGatewayExit(timeout: Double = 20) throws -> Int32 {
        guard let process = gateway else { throw CocoaError(.fileReadUnknown) }
        try waitUntil("the gateway exits", timeout: timeout) { !process.isRunning }
        process.waitUntilExit()
        gateway = nil
        return process.terminationStatus
    }

    /// The gateway's exit status after SIGTERM.
    func terminateGateway() -> Int32? {
        guard let process = gateway else { return nil }
        Self.terminate(process) { self.gatewayLog }
        gateway = nil
        return process.terminationStatus
    }

    /// Starts a helper process (a Tests/Tools script) that the harness stops with the others.
    func startHelper(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        helpers.append(process)
    }

    private var helpers: [Process] = []

    func startUpstream(_ options: [String]) throws {
        guard let port = upstreamPort else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "python3", Fixtures.packageRoot.appendingPathComponent("Tests/Tools/upstream_fhir_server.py").path, "--port", "\(port)",
                "--cert", path("tls/server.crt"), "--key", path("tls/server.key"), "--client-ca", path("tls/ca.crt"),
                "--schema", Fixtures.r4.appendingPathComponent("schema/fhir.schema.json").path,
            ] + options
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        upstream = process
        try waitUntil("the upstream answers") { (try? self.upstreamRecords()) != nil }
    }

    // MARK: - SMART Backend Services

    /// The Python of the tests' authorization server: the venv scripts/install-deps.sh makes
    /// (`FHIR_GATEWAY_TEST_PYTHON` names another).
    static let testPython: String = {
        if let path = ProcessInfo.processInfo.environment["FHIR_GATEWAY_TEST_PYTHON"] { return path }
        return Fixtures.packageRoot.appendingPathComponent(".build/test-python/bin/python").path
    }()

    /// The authorization server's base URL (its token endpoint is this + "/token").
    var authServerURL: String { "https://127.0.0.1:\(authServerPort ?? 0)" }

    /// The options that make the test upstream advertise the authorization server (discovery) and
    /// check the bearer token of every PUT with it.
    var upstreamAuthOptions: [String] { ["--auth-server", authServerURL, "--auth-ca", path("tls/ca.crt")] }

    enum SigningKeyType { case rsa, ec }

    /// Generates a client signing key with openssl in the harness folder (RSA 2048 for RS384,
    /// EC P-384 for ES384, PKCS#8 PEM); its path.
    @discardableResult
    func makeSigningKey(_ name: String, _ type: SigningKeyType) throws -> String {
        let options =
            switch type {
            case .rsa: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
            case .ec: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]
            }
        let file = path(name)
        let status = try Self.run("/usr/bin/openssl", ["genpkey"] + options + ["-out", file])
        guard status == 0 else { throw CocoaError(.fileWriteUnknown) }
        return file
    }

    /// Starts the SMART authorization server (TLS with the harness's server certificate; it asks
    /// for, and records, a client certificate of the harness's CA). `jwks`: the file of the
    /// registered client's public keys (read again at every token request).
    func startAuthServer(jwks: String, _ options: [String] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.testPython) else {
            Issue.record("no Python with authlib at \(Self.testPython): run scripts/install-deps.sh")
            throw CocoaError(.fileNoSuchFile)
        }
        let port = try Self.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.testPython)
        process.arguments =
            [
                Fixtures.packageRoot.appendingPathComponent("Tests/Tools/smart_auth_server.py").path, "--port", "\(port)",
                "--cert", path("tls/server.crt"), "--key", path("tls/server.key"), "--client-ca", path("tls/ca.crt"), "--jwks", jwks,
            ] + options
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let log = path("auth-server.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        authServer = process
        authServerPort = port
        try waitUntil("the authorization server answers") { (try? self.authServerRecords()) != nil }
    }

    /// What the authorization server saw: `tokenRequests` (each with its assertion, decoded header
    /// and claims, outcome and token), `tokenURL`.
    func authServerRecords() throws -> [String: Any] {
        let (status, output) = try Self.capture(
            "/usr/bin/curl", ["-s", "--max-time", "2", "--cacert", path("tls/ca.crt"), "\(authServerURL)/_records"])
        guard status == 0, let records = try JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            throw CocoaError(.fileReadUnknown)
        }
        return records
    }

    /// The token requests the authorization server received, in order.
    func tokenRequests() -> [[String: Any]] {
        ((try? authServerRecords())?["tokenRequests"] as? [[String: Any]]) ?? []
    }

    /// Tells the authorization server to refuse every further token request with `refuse`
    /// (`"invalid_client"`; NSNull() to stop) and/or to revoke every token issued.
    func controlAuthServer(_ command: [String: Any]) throws {
        let body = try JSONSerialization.data(withJSONObject: command)
        let (status, output) = try Self.capture(
            "/usr/bin/curl",
            [
                "-s", "--max-time", "5", "--cacert", path("tls/ca.crt"), "-X", "POST", "-H", "Content-Type: application/json",
                "--data-binary", String(decoding: body, as: UTF8.self), "-o", "/dev/null", "-w", "%{http_code}", "\(authServerURL)/_control",
            ])
        guard status == 0, String(decoding: output, as: UTF8.self) == "200" else { throw CocoaError(.fileWriteUnknown) }
    }

    /// SIGTERM: a graceful stop (SIGKILL if it has not stopped within 15 seconds).
    func stopGateway() {
        guard let process = gateway else { return }
        Self.terminate(process) { self.gatewayLog }
        gateway = nil
    }

    /// - Parameter log: the process's log, whose end is reported when it does not stop.
    static func terminate(_ process: some ChildProcess, log: () -> String = { "" }) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        if process.isRunning {
            Issue.record("process \(process.processIdentifier) did not stop on SIGTERM; killed\n\(log().suffix(3000))")
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    /// SIGKILL: the crash case.
    func killGateway() {
        guard let process = gateway, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        gateway = nil
    }

    func stopUpstream() {
        guard let process = upstream else { return }
        Self.terminate(process)
        upstream = nil
    }

    func stopAuthServer() {
        guard let process = authServer else { return }
        Self.terminate(process)
        authServer = nil
    }

    func stopAll() {
        stopGateway()
        stopUpstream()
        stopAuthServer()
        for helper in helpers { Self.terminate(helper) }
        helpers = []
    }

    var gatewayLog: String { (try? String(contentsOf: folder.appendingPathComponent("gateway.log"), encoding: .utf8)) ?? "" }

    // MARK: - Requests

    struct Answer {
        var status: Int
        var body: Data
        /// The response's header fields, names in lower case.
        var headers: [String: String] = [:]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
    }

    /// An HTTPS request to the gateway with curl; `client` picks the certificate: "tls" (trusted),
    /// "other" (another CA) or nil (none); `trust` the CA the server's certificate is checked with.
    func request(
        _ method: String,
        _ path: String,
        body: Data? = nil,
        contentType: String = "application/fhir+json",
        headers: [String] = [],
        client: String? = "tls",
        trust: String = "tls"
    ) throws -> Answer {
        var arguments = ["-s", "-S", "--max-time", "20", "-X", method, "--cacert", self.path("\(trust)/ca.crt"), "-o", "-", "-w", "\n%{http_code}"]
        if let client { arguments += ["--cert", self.path("\(client)/client.crt"), "--key", self.path("\(client)/client.key")] }
        for header in headers { arguments += ["-H", header] }
        if let body {
            let file = folder.appendingPathComponent("body-\(UUID().uuidString)")
            try body.write(to: file)
            arguments += ["-H", "Content-Type: \(contentType)", "--data-binary", "@\(file.path)"]
        }
        let headerFile = folder.appendingPathComponent("headers-\(UUID().uuidString)")
        arguments += ["-D", headerFile.path]
        arguments.append("https://127.0.0.1:\(apiPort)\(path)")
        let (status, output) = try Self.capture("/usr/bin/curl", arguments)
        guard status == 0, let newline = output.lastIndex(of: UInt8(ascii: "\n")),
            let code = Int(String(decoding: output[(newline + 1)...], as: UTF8.self))
        else {
            return Answer(status: 0, body: output)
        }
        var headers: [String: String] = [:]
        for line in ((try? String(contentsOf: headerFile, encoding: .utf8)) ?? "").split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(status: code, body: output[..<newline], headers: headers)
    }

    /// Starts an HTTPS request in its own curl process (for requests still in flight while the
    /// test does something else); `finish` waits for it and gives the HTTP status (0: none).
    func startRequest(_ method: String, _ path: String, body: Data, uploadBytesPerSecond: Int) throws -> () -> Int {
        let file = folder.appendingPathComponent("body-\(UUID().uuidString)")
        try body.write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = [
            "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "60", "-X", method, "--cacert", self.path("tls/ca.crt"),
            "--cert", self.path("tls/client.crt"), "--key", self.path("tls/client.key"), "--limit-rate", "\(uploadBytesPerSecond)",
            "-H", "Content-Type: application/fhir+json", "--data-binary", "@\(file.path)", "https://127.0.0.1:\(apiPort)\(path)",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        return {
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Int(String(decoding: output, as: UTF8.self)) ?? 0
        }
    }

    /// A request to the operations listener: status and body.
    func operations(_ path: String) throws -> (status: Int, text: String) {
        let (status, output) = try Self.capture(
            "/usr/bin/curl", ["-s", "--max-time", "5", "-o", "-", "-w", "\n%{http_code}", "http://127.0.0.1:\(metricsPort)\(path)"])
        guard status == 0, let newline = output.lastIndex(of: UInt8(ascii: "\n")),
            let code = Int(String(decoding: output[(newline + 1)...], as: UTF8.self))
        else { throw CocoaError(.fileReadUnknown) }
        return (code, String(decoding: output[..<newline], as: UTF8.self))
    }

    /// The value of one Prometheus sample (`name{labels}`), 0 when absent.
    func metric(_ sample: String) throws -> Double {
        let (_, text) = try operations("/metrics")
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1)) ?? 0
        }
        return 0
    }

    /// Waits until the outbox holds nothing to deliver (the gauge read from the store at each
    /// scrape): from then on no further delivery can reach the upstream.
    func waitForEmptyOutbox() throws {
        try waitUntil("nothing left to deliver") { (try? metric("fhir_gateway_outbox_depth")) == 0 }
    }

    func plain(_ path: String) throws -> String {
        let (status, output) = try Self.capture("/usr/bin/curl", ["-s", "--max-time", "2", "http://127.0.0.1:\(metricsPort)\(path)"])
        guard status == 0 else { throw CocoaError(.fileReadUnknown) }
        return String(decoding: output, as: UTF8.self)
    }

    /// What the test upstream received: `requests` and `resources` by identifier.
    func upstreamRecords() throws -> [String: Any] {
        guard let port = upstreamPort else { return [:] }
        let (status, output) = try Self.capture(
            "/usr/bin/curl",
            [
                "-s", "--max-time", "2", "--cacert", upstreamPath("tls/ca.crt"), "--cert", upstreamPath("tls/client.crt"), "--key",
                upstreamPath("tls/client.key"), "https://127.0.0.1:\(port)/_records",
            ]
        )
        guard status == 0, let records = try JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            throw CocoaError(.fileReadUnknown)
        }
        return records
    }

    func upstreamResources() -> [String: [String: Any]] {
        ((try? upstreamRecords())?["resources"] as? [String: [String: Any]]) ?? [:]
    }

    func outbox(_ arguments: [String] = ["list"]) throws -> String {
        let run = try GatewayBinary.run(["outbox"] + arguments + ["--config", path("gateway.yaml")])
        return run.output
    }

    // MARK: - Helpers

    func waitUntil(_ what: String, timeout: Double = 20, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(100_000)
        }
        Issue.record("timed out waiting until \(what)\n\(gatewayLog.suffix(2000))")
        throw CocoaError(.userCancelled)
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        try capture(executable, arguments).0
    }

    static func capture(_ executable: String, _ arguments: [String]) throws -> (Int32, Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, data)
    }

    /// A port nothing listens on now (bound to loopback, then released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CocoaError(.fileReadUnknown) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw CocoaError(.fileReadUnknown) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
