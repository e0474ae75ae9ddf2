import Foundation
import TestSupport
import Testing

/// The gateway and systemd's notification protocol, with a test process playing systemd's side
/// of `NOTIFY_SOCKET` (systemd itself is never started on these machines).
@Suite(.serialized) struct SystemdNotifyTests {
    struct Message {
        var time: Double
        var text: String
        /// The sender's pid, from SCM_CREDENTIALS.
        var pid: Int32?
    }

    /// Starts Tests/Tools/notify_listener.py on `socket` (a path, or an abstract @name), writing
    /// what it receives to `output`, and waits until it is bound.
    static func startListener(_ harness: DaemonHarness, socket: String, output: String) throws {
        try harness.startHelper(["python3", Fixtures.packageRoot.appendingPathComponent("Tests/Tools/notify_listener.py").path, socket, output])
        try harness.waitUntil("the notify listener is bound") { messages(output).contains { $0.text == "LISTENING" } }
    }

    static func messages(_ file: String) -> [Message] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let time = object["time"] as? Double, let message = object["message"] as? String
            else { return nil }
            return Message(time: time, text: message, pid: (object["pid"] as? Int).map(Int32.init))
        }
    }

    @Test(arguments: ["path", "abstract"])
    func readyAfterTheListenerWatchdogPingsAndStoppingOnSIGTERM(kind: String) throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        let output = harness.path("notify.jsonl")
        let socket = kind == "path" ? harness.path("notify.sock") : "@fhir-risk-gateway-test-\(UUID().uuidString.prefix(8))"
        try SystemdNotifyTests.startListener(harness, socket: socket, output: output)

        try harness.startGateway(environment: ["NOTIFY_SOCKET": socket, "WATCHDOG_USEC": "400000"], waitForLiveness: false)
        try harness.waitUntil("READY=1 arrives") { Self.messages(output).contains { $0.text.contains("READY=1") } }
        // READY means serving: the API answers at once.
        #expect(try harness.request("GET", "/fhir/metadata").status == 200)
        let ready = try #require(Self.messages(output).first { $0.text.contains("READY=1") })
        #expect(ready.text.contains("STATUS=serving FHIR"))
        #expect(ready.text.contains("MAINPID="))
        // Sent by the main process itself, as NotifyAccess=main requires.
        #expect(ready.pid != nil && ready.pid == harness.gatewayPID)
        // The status line is refreshed with the store's counts.
        try harness.waitUntil("a STATUS line with the counts") {
            Self.messages(output).contains { $0.text.hasPrefix("STATUS=serving FHIR") && $0.text.contains("cases; outbox 0 pending; 0 dead letters") }
        }

        // Watchdog pings every WATCHDOG_USEC/2 = 200 ms.
        try harness.waitUntil("five watchdog pings") { Self.messages(output).filter { $0.text == "WATCHDOG=1" }.count >= 5 }
        let pings = Self.messages(output).filter { $0.text == "WATCHDOG=1" }.map(\.time)
        let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }.sorted()
        let median = gaps[gaps.count / 2]
        #expect(median > 0.1 && median < 0.4, "median gap \(median) s, expected about 0.2 s")

        let status = harness.terminateGateway()
        #expect(status == 0)
        #expect(Self.messages(output).contains { $0.text.hasPrefix("STOPPING=1") })
    }

    @Test func noWatchdogPingsWhenTheyAreMeantForAnotherProcess() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        let output = harness.path("notify.jsonl")
        let socket = harness.path("notify.sock")
        try SystemdNotifyTests.startListener(harness, socket: socket, output: output)
        try harness.startGateway(environment: ["NOTIFY_SOCKET": socket, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"])
        // The health monitor's next look after READY=1 ends with a STATUS= line; with the
        // watchdog on, that look would have sent WATCHDOG=1 before it.
        try harness.waitUntil("a health look after READY=1") {
            let texts = Self.messages(output).map(\.text)
            guard let ready = texts.firstIndex(where: { $0.contains("READY=1") }) else { return false }
            return texts[(ready + 1)...].contains { $0.hasPrefix("STATUS=") }
        }
        #expect(!Self.messages(output).contains { $0.text == "WATCHDOG=1" })
    }

    @Test func watchdogPingsStopWhileTheStoreTakesNoWritesAndResumeAfter() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        let output = harness.path("notify.jsonl")
        let socket = harness.path("notify.sock")
        try SystemdNotifyTests.startListener(harness, socket: socket, output: output)
        try harness.startGateway(environment: ["NOTIFY_SOCKET": socket, "WATCHDOG_USEC": "400000"])
        try harness.waitUntil("watchdog pings") { Self.messages(output).filter { $0.text == "WATCHDOG=1" }.count >= 3 }
        // Another process holds SQLite's write lock for three seconds: the gateway's write probe
        // waits, and no ping goes out meanwhile.
        let locked = harness.path("locked")
        try harness.startHelper([
            "python3", "-c",
            "import sqlite3, time, signal; signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM}); "
                + "c = sqlite3.connect('\(harness.path("state/gateway.sqlite"))', isolation_level=None); c.execute('BEGIN IMMEDIATE'); "
                + "open('\(locked)', 'w').close(); time.sleep(3); c.execute('COMMIT'); time.sleep(60)",
        ])
        try harness.waitUntil("the store is locked") { FileManager.default.fileExists(atPath: locked) }
        let lockedAt = try #require(Self.messages(output).last).time
        try harness.waitUntil("pings resume after the lock is released") {
            Self.messages(output).contains { $0.text == "WATCHDOG=1" && $0.time > lockedAt + 2.5 }
        }
        let pings = Self.messages(output).filter { $0.text == "WATCHDOG=1" }.map(\.time)
        let longestGap = zip(pings.dropFirst(), pings).map { $0 - $1 }.max() ?? 0
        #expect(longestGap > 2.0, "the longest gap between pings was \(longestGap) s while the store was locked for 3 s")
    }
}
