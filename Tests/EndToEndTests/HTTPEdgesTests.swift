import Foundation
import TestSupport
import Testing

/// The HTTP/1.1 edges of the FHIR API (RFC 9110, RFC 9112), sent as raw bytes over mutual TLS by
/// Tests/Tools/http_edges.py: each answered at once, with an OperationOutcome where there is a body.
@Suite(.serialized) struct HTTPEdgesTests {
    @Test func connectHTTP10OversizedHeadersSlowHeadersAndAnOversizedDeclaredBodyAreAnsweredAtOnce() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        try harness.startGateway(environment: ["SERVER_REQUEST_HEADER_TIMEOUT_SECONDS": "1"])
        defer { harness.stopAll() }
        let (status, output) = try DaemonHarness.capture(
            "/usr/bin/python3",
            [
                Fixtures.packageRoot.appendingPathComponent("Tests/Tools/http_edges.py").path, "--port", "\(harness.apiPort)", "--ca",
                harness.path("tls/ca.crt"), "--cert", harness.path("tls/client.crt"), "--key", harness.path("tls/client.key"),
            ])
        #expect(status == 0, "\(String(decoding: output, as: UTF8.self))")
        let results = try #require(try JSONSerialization.jsonObject(with: output) as? [String: [String: Any]])
        func check(_ name: String, status expected: String, closed: Bool, outcome: Bool, within seconds: Double) {
            let result = results[name] ?? [:]
            #expect((result["status"] as? String)?.contains(" \(expected) ") == true, "\(name): \(result)")
            #expect(result["closed"] as? Bool == closed, "\(name): \(result)")
            if outcome { #expect((result["body"] as? String)?.contains("OperationOutcome") == true, "\(name): \(result)") }
            #expect((result["seconds"] as? Double ?? 99) < seconds, "\(name): \(result)")
        }
        // No tunnels: 405 at once, not after the idle timeout. (SwiftNIO's encoder sends a
        // response to CONNECT without a body.)
        check("connect", status: "405", closed: true, outcome: false, within: 2)
        // HTTP/1.0 without keep-alive: the connection closes after the answer; HTTP/1.1 stays open.
        check("http10", status: "200", closed: true, outcome: false, within: 2)
        check("http11", status: "200", closed: false, outcome: false, within: 3)
        // Headers that never end: closed after the request-header timeout (1 s here).
        let slow = results["slowHeader"] ?? [:]
        #expect(slow["closed"] as? Bool == true && (slow["seconds"] as? Double ?? 99) < 3, "slowHeader: \(slow)")
        // A megabyte of header fields: 431 with an OperationOutcome.
        check("header", status: "431", closed: true, outcome: true, within: 2)
        // Answered before routing, they still leave a line: status, reason, client and peer.
        let refusal = try #require(harness.gatewayLog.split(separator: "\n").first { $0.contains("request refused before routing") && $0.contains("http.status=431") })
        #expect(refusal.contains("client=interface-engine") && refusal.contains("peer=127.0.0.1:"), "\(refusal)")
        #expect(harness.gatewayLog.contains("request refused before routing") && harness.gatewayLog.contains("http.status=405"))
        // Content-Length of 100 MB: 413 before the body is read, and the connection closed.
        check("length", status: "413", closed: true, outcome: true, within: 2)
    }
}
