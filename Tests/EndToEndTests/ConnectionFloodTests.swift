import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A flood of connections that never start TLS, more than the gateway's descriptor limit allows,
/// held past the handshake timeout: the operations listener answers throughout, the FHIR port
/// serves a legitimate client again within the handshake timeout, and the process lives.
@Suite(.serialized) struct ConnectionFloodTests {
    /// Opens `count` TCP connections to the port that never send a byte; their descriptors.
    static func idleConnections(port: Int, count: Int) -> [Int32] {
        var sockets: [Int32] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { break }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if connected == 0 { sockets.append(fd) } else { close(fd) }
        }
        return sockets
    }

    @Test func idleConnectionsBeyondTheDescriptorLimitStopNeitherListenerNorTheProcess() throws {
        let handshakeTimeout = 2.0
        let harness = try DaemonHarness(upstreamConfigured: false)
        // The gateway alone gets a low descriptor limit: 160, so its API cap is 48 connections.
        try harness.startGateway(
            environment: ["SERVER_TLS_HANDSHAKE_TIMEOUT_SECONDS": "\(handshakeTimeout)"],
            launcher: ["/bin/sh", "-c", #"ulimit -n 160 && exec "$0" "$@""#])
        defer { harness.stopAll() }
        let pid = try #require(harness.gatewayPID)
        #expect(harness.gatewayLog.contains("connections.max=48"), "\(harness.gatewayLog.suffix(600))")

        for round in 1...5 {
            let flood = Self.idleConnections(port: harness.apiPort, count: 300)
            defer { flood.forEach { close($0) } }
            #expect(flood.count == 300, "round \(round): only \(flood.count) connections opened")
            let started = Date()
            var servedAfter: Double?
            var readyFailures = 0
            // Past the handshake timeout and beyond: /readyz every 100 ms, and a real client.
            while Date().timeIntervalSince(started) < handshakeTimeout * 2.5 {
                if (try? harness.plain("/readyz")) != "ready\n" { readyFailures += 1 }
                if servedAfter == nil, (try? harness.request("GET", "/fhir/metadata"))?.status == 200 {
                    servedAfter = Date().timeIntervalSince(started)
                }
                usleep(100_000)
            }
            #expect(readyFailures == 0, "round \(round): /readyz failed \(readyFailures) times")
            let served = try #require(servedAfter, "round \(round): the FHIR port served no client")
            #expect(served <= handshakeTimeout + 1.5, "round \(round): served only after \(served) s")
            #expect(kill(pid, 0) == 0 && harness.gatewayPID == pid, "round \(round): the gateway died")
        }
        let metrics = try harness.plain("/metrics")
        #expect(metrics.contains(#"fhir_gateway_connections_refused_total{listener="api"}"#))
        #expect(!metrics.contains(#"fhir_gateway_connections_refused_total{listener="api"} 0"#), "\(metrics)")
        #expect(metrics.contains(#"fhir_gateway_tls_handshake_failures_total{reason="timeout"}"#), "\(metrics)")
        #expect(!metrics.contains(#"fhir_gateway_tls_handshake_failures_total{reason="timeout"} 0"#), "\(metrics)")
        #expect(harness.gatewayLog.contains("connections refused at the cap"))
    }

    /// The gateway's resident memory, in KB.
    static func residentKB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// One line from a pipe (the helper's "open N", "closed").
    static func readLine(_ handle: FileHandle) -> String {
        var bytes: [UInt8] = []
        while true {
            let byte = handle.readData(ofLength: 1)
            guard let first = byte.first, first != UInt8(ascii: "\n") else { break }
            bytes.append(first)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func memoryTakenByAStormOfConnectionsIsGivenBackWhenTheyClose() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        try harness.startGateway(launcher: ["/bin/sh", "-c", #"ulimit -n 4096 && exec "$0" "$@""#])
        defer { harness.stopAll() }
        let pid = try #require(harness.gatewayPID)
        let before = Self.residentKB(pid)
        let storm = Process()
        storm.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        storm.arguments = [
            Fixtures.packageRoot.appendingPathComponent("Tests/Tools/idle_tls_connections.py").path, "--port", "\(harness.apiPort)", "--ca",
            harness.path("tls/ca.crt"), "--cert", harness.path("tls/client.crt"), "--key", harness.path("tls/client.key"), "--count", "1500",
        ]
        let input = Pipe()
        let output = Pipe()
        storm.standardInput = input
        storm.standardOutput = output
        try storm.run()
        defer { if storm.isRunning { storm.terminate() } }
        #expect(Self.readLine(output.fileHandleForReading) == "open 1500")
        let peak = Self.residentKB(pid)
        input.fileHandleForWriting.write(Data("\n".utf8))
        #expect(Self.readLine(output.fileHandleForReading) == "closed")
        storm.waitUntilExit()
        // The storm took memory; once it is over, most of it goes back to the system.
        #expect(peak - before > 20_000, "1,500 connections took only \(peak - before) KB")
        try harness.waitUntil("the memory of the closed connections is given back (before \(before) KB, peak \(peak) KB)", timeout: 20) {
            Self.residentKB(pid) <= before + (peak - before) / 3
        }
    }
}
