import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `check-config` reports what `serve` would hit before it binds, with the key, the file and the
/// fix; each problem is also shown to stop (or not stop) `serve` the same way.
@Suite(.serialized) struct CheckConfigTests {
    /// The harness's configuration with `old` replaced by `new`, written as `name`.
    static func variant(_ harness: DaemonHarness, _ name: String, replacing old: String, with new: String) throws -> String {
        let text = try String(contentsOfFile: harness.path("gateway.yaml"), encoding: .utf8)
        #expect(text.contains(old))
        try text.replacingOccurrences(of: old, with: new).write(toFile: harness.path(name), atomically: true, encoding: .utf8)
        return harness.path(name)
    }

    static func checkConfig(_ config: String, _ extra: [String] = ["--no-network"]) throws -> GatewayBinary.Run {
        try GatewayBinary.run(["check-config", "--config", config] + extra)
    }

    @Test func aKeyThatIsNotTheCertificatesIsAnErrorForBoth() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        try harness.writeConfiguration()
        let config = try Self.variant(harness, "wrong-key.yaml", replacing: harness.path("tls/server.key"), with: harness.path("other/server.key"))
        let check = try Self.checkConfig(config)
        #expect(check.status == 1)
        #expect(check.standardError.contains("error: tls.privateKey: the key in \(harness.path("other/server.key")) does not belong to the certificate in \(harness.path("tls/server.crt"))"), "\(check.standardError)")
        #expect(check.output.contains("1 error, 0 warnings: serve would refuse to start"), "\(check.output)")

        try FileManager.default.removeItem(atPath: harness.path("gateway.yaml"))
        try FileManager.default.moveItem(atPath: config, toPath: harness.path("gateway.yaml"))
        try harness.startGateway(waitForLiveness: false)
        #expect(try harness.waitForGatewayExit() == 78)
        #expect(harness.gatewayLog.contains("does not belong to the certificate"))
    }

    @Test func anExpiredCertificateIsAnErrorAndOneNearItsEndAWarning() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        let day = 86_400.0
        try TestCertificates.writeServerFolder(harness.path("expired"), notBefore: Date().addingTimeInterval(-30 * day), notAfter: Date().addingTimeInterval(-day))
        try TestCertificates.writeServerFolder(harness.path("ending"), notBefore: Date().addingTimeInterval(-day), notAfter: Date().addingTimeInterval(10 * day - 3_600))

        harness.serverCertificateFolder = "ending"
        let ending = try Self.checkConfig(harness.path("gateway.yaml"))
        #expect(ending.status == 0)
        #expect(ending.standardError.contains("warning: tls.certificate: the certificate in \(harness.path("ending/server.crt")) expires in 9 days"), "\(ending.standardError)")
        #expect(ending.output.contains("0 errors, 1 warning: serve would start; see the warnings"), "\(ending.output)")

        harness.serverCertificateFolder = "expired"
        let expired = try Self.checkConfig(harness.path("gateway.yaml"))
        #expect(expired.status == 1)
        #expect(expired.standardError.contains("error: tls.certificate: the certificate in \(harness.path("expired/server.crt")) expired on"), "\(expired.standardError)")
        #expect(expired.standardError.contains("install a renewed certificate"))
        #expect(expired.output.contains("serve would start, but clients would fail"), "\(expired.output)")

        // serve starts (the outbox still delivers, /readyz says why it is not ready), says so at
        // start, and a client that refuses the certificate is logged under its own category.
        try harness.startGateway()
        try harness.waitUntil("the start-up names the expired certificate") {
            harness.gatewayLog.contains("configuration check") && harness.gatewayLog.contains("expired on")
        }
        #expect(try harness.request("GET", "/fhir/metadata", trust: "expired").status == 0)
        try harness.waitUntil("the refused handshake is logged") { harness.gatewayLog.contains("category=server_certificate_expired") }
        #expect(try harness.metric(#"fhir_gateway_tls_handshake_failures_total{reason="server_certificate_expired"}"#) == 1)
    }

    @Test func aStoreFolderTheServiceUserCannotWriteIsNamedAsSuch() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        try FileManager.default.createDirectory(atPath: harness.path("state"), withIntermediateDirectories: true)
        // As root, run as nobody (the service user is not root either); otherwise take away write.
        var launcher: [String] = []
        if geteuid() == 0 {
            launcher = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            for file in ["tls/server.key", "tls/ca.key", "tls/client.key"] { chmod(harness.path(file), 0o644) }
            chmod(harness.path(""), 0o755)
        } else {
            chmod(harness.path("state"), 0o555)
        }
        defer { chmod(harness.path("state"), 0o755) }
        let check = try Self.run(launcher + [GatewayBinary.url.path, "check-config", "--no-network", "--config", harness.path("gateway.yaml")])
        #expect(check.status == 1)
        #expect(check.error.contains("error: storage.path: the folder \(harness.path("state")) of the store is not writable by"), "\(check.error)")
        #expect(!check.error.contains("pseudonymKeyFile"))

        try harness.startGateway(waitForLiveness: false, launcher: launcher)
        #expect(try harness.waitForGatewayExit() == 78)
        #expect(harness.gatewayLog.contains("storage.path: the folder \(harness.path("state")) of the store is not writable by"), "\(harness.gatewayLog)")
        #expect(!harness.gatewayLog.contains("pseudonymKeyFile"))
    }

    @Test(.enabled(if: geteuid() == 0, "root reads every file; the check is of another user's access"))
    func runAsRootItChecksThatTheServiceUserCanReadTheFiles() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        chmod(harness.path(""), 0o755)
        chmod(harness.path("tls"), 0o755)
        chmod(harness.path("tls/ca.crt"), 0o600)
        let check = try Self.checkConfig(harness.path("gateway.yaml"), ["--no-network", "--service-user", "nobody"])
        #expect(check.status == 1)
        #expect(
            check.standardError.contains("error: tls.clientCA: \(harness.path("tls/ca.crt")) cannot be read by nobody (0600 root:root)"),
            "\(check.standardError)")
        #expect(check.standardError.contains("error: tls.privateKey: "), "the key (0600) is not the service's either: \(check.standardError)")
        chmod(harness.path("tls/ca.crt"), 0o644)
        chmod(harness.path("tls/server.key"), 0o644)
        let fixed = try Self.checkConfig(harness.path("gateway.yaml"), ["--no-network", "--service-user", "nobody"])
        #expect(fixed.status == 0, "\(fixed.standardError)")
        // A folder on the way that the user cannot enter is named.
        chmod(harness.path("tls"), 0o700)
        let closed = try Self.checkConfig(harness.path("gateway.yaml"), ["--no-network", "--service-user", "nobody"])
        #expect(closed.standardError.contains("the folder \(harness.path("tls")) is not open to nobody (0700 root:root)"), "\(closed.standardError)")
    }

    @Test func anUnreachableUpstreamIsAWarningWithItsAddressAndReasonUnlessTheNetworkIsSkipped() throws {
        // The upstream's port is configured, but nothing listens there.
        let harness = try DaemonHarness()
        defer { harness.stopAll() }
        let probed = try Self.checkConfig(harness.path("gateway.yaml"), [])
        #expect(probed.status == 0)
        #expect(
            probed.standardError.contains("warning: upstream.baseURL: the upstream 127.0.0.1:\(harness.upstreamPort ?? 0) could not be reached: "),
            "\(probed.standardError)")
        #expect(probed.standardError.contains("connection refused"), "\(probed.standardError)")
        #expect(probed.output.contains("0 errors, 1 warning"))

        let skipped = try Self.checkConfig(harness.path("gateway.yaml"))
        #expect(skipped.status == 0)
        #expect(skipped.standardError.isEmpty, "\(skipped.standardError)")
        #expect(skipped.output.contains("0 errors, 0 warnings: valid (upstream and database not probed: --no-network)"), "\(skipped.output)")
    }

    @Test func unusableUpstreamTLSFilesAreAnErrorWithoutTheNetworkAsServeRefusesThem() throws {
        let harness = try DaemonHarness()
        defer { harness.stopAll() }
        try "not a certificate\n".write(toFile: harness.path("not-a-ca.crt"), atomically: true, encoding: .utf8)
        let config = try Self.variant(
            harness, "bad-upstream-ca.yaml", replacing: "caCertificate: \(harness.path("tls/ca.crt"))", with: "caCertificate: \(harness.path("not-a-ca.crt"))")
        let check = try Self.checkConfig(config)
        #expect(check.status == 1)
        #expect(check.standardError.contains("error: upstream: the upstream's TLS files cannot be used"), "\(check.standardError)")
        #expect(check.output.contains("serve would refuse to start"), "\(check.output)")
    }

    @Test func aReachableUpstreamThatDoesNotTrustTheGatewayIsAWarningWithTheTLSReason() throws {
        let harness = try DaemonHarness(upstream: [])
        defer { harness.stopAll() }
        let good = try Self.checkConfig(harness.path("gateway.yaml"), [])
        #expect(good.status == 0 && good.standardError.isEmpty, "\(good.standardError)")
        // The gateway trusts another CA than the one that issued the upstream's certificate.
        let config = try Self.variant(harness, "other-ca.yaml", replacing: "caCertificate: \(harness.path("tls/ca.crt"))", with: "caCertificate: \(harness.path("other/ca.crt"))")
        let refused = try Self.checkConfig(config, [])
        #expect(refused.status == 0)
        #expect(refused.standardError.contains("the TLS handshake failed: the upstream's certificate is not issued by upstream.caCertificate"), "\(refused.standardError)")
    }

    @Test func aKeyTheGatewayDoesNotKnowIsAnErrorWithTheKeyItResembles() throws {
        let harness = try DaemonHarness(upstreamConfigured: false, extraConfiguration: "limits: {maxBundleEntrys: 10}\nrelay: {mode: fast}\n")
        defer { harness.stopAll() }
        let check = try Self.checkConfig(harness.path("gateway.yaml"))
        #expect(check.status == 1)
        #expect(check.standardError.contains("limits.maxBundleEntrys is not a configuration key of this gateway (did you mean limits.maxBundleEntries?)"), "\(check.standardError)")
        #expect(check.standardError.contains("relay.mode is not a configuration key of this gateway"))
    }

    @Test func theShippedConfigurationHoldsOnlyKnownKeys() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        let shipped = Fixtures.packageRoot.appendingPathComponent("Config/gateway.yaml").path
        let check = try Self.checkConfig(shipped)
        #expect(!check.standardError.contains("is not a configuration key"), "\(check.standardError)")
    }

    @Test func theInstalledLayoutWithoutItsCredentialsSaysHowToCheckTheService() throws {
        let shipped = Fixtures.packageRoot.appendingPathComponent("Config/gateway.yaml").path
        let check = try GatewayBinary.run(["check-config", "--no-network", "--config", shipped])
        #expect(check.status == 1)
        #expect(check.standardError.contains("tls.certificate is required"))
        #expect(check.standardError.contains("systemd-run --wait --pipe --collect -p User=fhir-risk-gateway"), "\(check.standardError)")
    }

    @Test func aDaemonServingTheStoreIsSaidWithoutDisturbingIt() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        try harness.startGateway()
        let check = try Self.checkConfig(harness.path("gateway.yaml"))
        #expect(check.status == 0)
        #expect(check.standardError.contains("warning: storage.path: a gateway (process \(harness.gatewayPID ?? 0)) serves the store"), "\(check.standardError)")
        #expect(try harness.request("GET", "/fhir/metadata").status == 200)
        // migrate takes the store's lock: never under a daemon.
        let migrate = try GatewayBinary.run(["migrate", "--store", harness.path("state/gateway.sqlite")])
        #expect(migrate.status == 1 && migrate.standardError.contains("is locked"), "\(migrate.standardError)")
    }

    @Test func outboxNeverMigratesAndMigrateBringsAStoreToThisVersion() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migrate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = folder.appendingPathComponent("gateway.sqlite").path
        _ = FileManager.default.createFile(atPath: store, contents: nil)  // an empty SQLite database
        let refused = try GatewayBinary.run(["outbox", "list", "--store", store])
        #expect(refused.status == 1 && refused.standardError.contains("has not been migrated to this version yet"), "\(refused.standardError)")
        let migrated = try GatewayBinary.run(["migrate", "--store", store])
        #expect(migrated.status == 0 && migrated.output.contains("at this version's schema"), "\(migrated.standardError)")
        let listed = try GatewayBinary.run(["outbox", "list", "--store", store])
        #expect(listed.status == 0 && listed.output.hasPrefix("sequence\tstate"), "\(listed.standardError)")
    }

    struct Output {
        var status: Int32
        var error: String
    }

    static func run(_ command: [String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, error: String(decoding: data, as: UTF8.self))
    }
}
