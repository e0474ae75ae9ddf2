import Dispatch
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Reload, drain and socket activation against the real binary, with a test process playing
/// systemd's side of `NOTIFY_SOCKET` (systemd itself is never started on these machines).
@Suite(.serialized) struct SystemdLifecycleTests {
    /// Starts the notify listener and the gateway with it; the file the messages go to.
    /// Standard error is announced as journald's stream, as under systemd.
    static func startWithNotifyListener(_ harness: DaemonHarness, environment: [String: String] = [:]) throws -> String {
        let output = harness.path("notify.jsonl")
        let socket = "@fhir-risk-gateway-test-\(UUID().uuidString.prefix(8))"
        try SystemdNotifyTests.startListener(harness, socket: socket, output: output)
        try harness.startGateway(environment: environment.merging(["NOTIFY_SOCKET": socket]) { $1 }, journald: true)
        try harness.waitUntil("READY=1 arrives") { SystemdNotifyTests.messages(output).contains { $0.text.contains("READY=1") } }
        return output
    }

    /// CLOCK_MONOTONIC in seconds, the clock of MONOTONIC_USEC and of the listener's timestamps.
    static func monotonicNow() -> Double {
        // Dispatch's uptime is CLOCK_MONOTONIC on Linux.
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    @Test func sighupReloadsTheCertificateWithReloadingThenReady() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        let output = try Self.startWithNotifyListener(harness)
        #expect(try harness.request("GET", "/fhir/metadata").status == 200)
        // Against the other CA, the current certificate does not verify.
        #expect(try harness.request("GET", "/fhir/metadata", trust: "other").status == 0)

        harness.serverCertificateFolder = "other"
        let before = SystemdNotifyTests.messages(output).count
        let sent = Self.monotonicNow()
        harness.signalGateway(SIGHUP)
        try harness.waitUntil("READY=1 after the reload") {
            SystemdNotifyTests.messages(output).dropFirst(before).contains { $0.text.contains("READY=1") }
        }
        let after = Array(SystemdNotifyTests.messages(output).dropFirst(before))
        let reloading = try #require(after.firstIndex { $0.text.hasPrefix("RELOADING=1") })
        let ready = try #require(after.firstIndex { $0.text.contains("READY=1") })
        #expect(reloading < ready)
        // One datagram: RELOADING=1 with MONOTONIC_USEC on our clock, taken after the signal.
        let usec = try #require(
            after[reloading].text.split(separator: "\n").first { $0.hasPrefix("MONOTONIC_USEC=") }.flatMap { Double($0.dropFirst(15)) })
        #expect(usec / 1e6 >= sent - 0.01 && usec / 1e6 < Self.monotonicNow(), "MONOTONIC_USEC \(usec) vs sent at \(sent)")
        #expect(after[reloading].pid == harness.gatewayPID)

        // New connections get the new certificate; the old CA no longer verifies it.
        #expect(try harness.request("GET", "/fhir/metadata", trust: "other").status == 200)
        #expect(try harness.request("GET", "/fhir/metadata").status == 0)
        #expect(harness.gatewayLog.contains("msg=reloaded"))
        #expect(try harness.metric(#"fhir_gateway_reloads_total{result="applied"}"#) == 1)
    }

    @Test func aBrokenConfigurationOnSighupIsRefusedAndTheDaemonKeepsServing() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        let output = try Self.startWithNotifyListener(harness)
        // A certificate file that does not exist, and a limit out of range.
        harness.extraConfiguration = "limits: {maxBundleEntries: 0}\n"
        harness.serverCertificateFolder = "missing"
        let before = SystemdNotifyTests.messages(output).count
        harness.signalGateway(SIGHUP)
        try harness.waitUntil("READY=1 after the refused reload") {
            SystemdNotifyTests.messages(output).dropFirst(before).contains { $0.text.contains("READY=1") }
        }
        #expect(SystemdNotifyTests.messages(output).dropFirst(before).contains { $0.text.hasPrefix("RELOADING=1") })
        // Still serving, on the old certificate and the old limits.
        #expect(harness.gatewayPID != nil)
        #expect(try harness.request("GET", "/fhir/metadata").status == 200)
        let log = harness.gatewayLog
        let refusal = try #require(log.split(separator: "\n").first { $0.contains("reload refused") })
        #expect(refusal.hasPrefix("<3>"))
        #expect(refusal.contains("maxBundleEntries"))
        #expect(refusal.contains("missing/server.crt"))
        #expect(try harness.metric(#"fhir_gateway_reloads_total{result="refused"}"#) == 1)

        // Fixed, the next reload applies.
        harness.extraConfiguration = ""
        harness.serverCertificateFolder = "tls"
        harness.signalGateway(SIGHUP)
        try harness.waitUntil("the fixed configuration is applied") { harness.gatewayLog.contains("msg=reloaded") }
        #expect(try harness.request("GET", "/fhir/metadata").status == 200)
    }

    @Test func sigtermFinishesTheRequestInFlightThenExitsZero() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        let output = try Self.startWithNotifyListener(harness)
        // An Observation of about 400 KB, uploaded at 100 KB/s: about four seconds in flight.
        let note = String(repeating: "slow upload ", count: 34_000)
        let body = CaseFixtures.adc("inflight", patient: "p-drain", study: nil)
            .replacingOccurrences(of: "\"valueQuantity\"", with: "\"note\":[{\"text\":\"\(note)\"}],\"valueQuantity\"")
        let finish = try harness.startRequest("PUT", "/fhir/Observation/inflight", body: Data(body.utf8), uploadBytesPerSecond: 100_000)
        try harness.waitUntil("the upload is in flight") { (try? harness.metric("fhir_gateway_http_requests_in_flight")) == 1 }
        harness.signalGateway(SIGTERM)
        try harness.waitUntil("STOPPING=1") { SystemdNotifyTests.messages(output).contains { $0.text.hasPrefix("STOPPING=1") } }
        // Draining: not ready, and no new connections.
        let readiness = try harness.operations("/readyz")
        #expect(readiness.status == 503)
        #expect(readiness.text.contains("draining"))
        #expect(try harness.request("GET", "/fhir/metadata").status == 0)
        // The request in flight is answered, then the daemon exits 0.
        #expect(finish() == 201)
        #expect(try harness.waitForGatewayExit() == 0)
        #expect(harness.gatewayLog.contains("msg=stopped"))
        #expect(harness.gatewayLog.contains("outcome=clean"))
        // What it accepted was stored: after a restart, the same request is answered from the
        // store with the first answer (201), not taken as new.
        try harness.startGateway()
        #expect(try harness.request("PUT", "/fhir/Observation/inflight", body: Data(body.utf8)).status == 201)
    }

    @Test func servesOnTheSocketSystemdPasses() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        let activated = try DaemonHarness.freePort()
        let output = harness.path("notify.jsonl")
        let socket = "@fhir-risk-gateway-test-\(UUID().uuidString.prefix(8))"
        try SystemdNotifyTests.startListener(harness, socket: socket, output: output)
        // systemd-socket-activate binds the port and execs the gateway at the first connection,
        // passing the socket as fd 3 (LISTEN_FDS=1, LISTEN_FDNAMES=https) and only the variables
        // named with -E.
        try harness.startGateway(
            environment: ["NOTIFY_SOCKET": socket],
            waitForLiveness: false,
            launcher: ["/usr/bin/systemd-socket-activate", "-l", "127.0.0.1:\(activated)", "--fdname=https", "-E", "NOTIFY_SOCKET"]
        )
        try harness.waitUntil("the socket is bound") { harness.gatewayLog.contains("Listening on") }
        #expect(harness.gatewayLog.contains("msg=") == false, "the gateway started before the first connection")
        // The first request starts the daemon and is answered on the passed socket.
        let answer = try DaemonHarness.capture(
            "/usr/bin/curl",
            [
                "-s", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", harness.path("tls/ca.crt"), "--cert",
                harness.path("tls/client.crt"), "--key", harness.path("tls/client.key"), "https://127.0.0.1:\(activated)/fhir/metadata",
            ])
        #expect(String(decoding: answer.1, as: UTF8.self) == "200")
        try harness.waitUntil("READY=1") { SystemdNotifyTests.messages(output).contains { $0.text.contains("READY=1") } }
        let ready = try #require(SystemdNotifyTests.messages(output).first { $0.text.contains("READY=1") })
        #expect(ready.pid == harness.gatewayPID)
        #expect(ready.text.contains("socket-activated"))
        #expect(harness.gatewayLog.contains("socket.activated=true"))
        // It did not bind the configured port itself.
        #expect(!Self.accepts(port: harness.apiPort))
        #expect(harness.terminateGateway() == 0)
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
