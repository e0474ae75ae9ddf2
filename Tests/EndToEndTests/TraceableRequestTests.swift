import Foundation
import TestSupport
import Testing

/// A request can be followed from the interface engine to every line it left here, and a refusal
/// says who sent what and where it was wrong, without a value from the body.
@Suite(.serialized) struct TraceableRequestTests {
    /// The JSON log lines (LOG_FORMAT=json, standard error not journald's), each parsed by jq.
    static func lines(_ harness: DaemonHarness) throws -> [[String: Any]] {
        let (status, data) = try DaemonHarness.capture("/usr/bin/jq", ["-c", ".", harness.path("gateway.log")])
        #expect(status == 0, "jq could not read every line of \(harness.gatewayLog)")
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
    }

    @Test func aRefusalIsTracedToItsSenderAndElementAndTheSendersRequestIDIsOnEveryLineOfItsRequest() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        try harness.startGateway(environment: ["LOG_FORMAT": "json"])
        defer { harness.stopAll() }

        // A refused Observation (no unit), with a value that must not reach the log.
        let noUnit = CaseFixtures.adc("o-refused", patient: "p-trace", study: nil, value: "0.731", unit: nil)
            .replacingOccurrences(of: "\"status\":", with: "\"note\":[{\"text\":\"Quillfeather\"}],\"status\":")
        let refused = try harness.request("PUT", "/fhir/Observation/o-refused", body: Data(noUnit.utf8), headers: ["X-Request-ID: engine-msg-0001"])
        #expect(refused.status == 422, "\(refused.text)")
        #expect(refused.headers["x-request-id"] == "engine-msg-0001")

        // A case scored by one transaction: the request line and the case line share its id.
        let bundle = """
            {"resourceType":"Bundle","type":"transaction","entry":[
            {"resource":\(CaseFixtures.condition("c-trace", patient: "p-trace")),"request":{"method":"PUT","url":"Condition/c-trace"}},
            {"resource":\(CaseFixtures.study("s-trace", patient: "p-trace")),"request":{"method":"PUT","url":"ImagingStudy/s-trace"}},
            {"resource":\(CaseFixtures.adc("o-trace", patient: "p-trace", study: "s-trace")),"request":{"method":"PUT","url":"Observation/o-trace"}}]}
            """
        let scored = try harness.request("POST", "/fhir", body: Data(bundle.utf8), headers: ["X-Request-ID: engine-msg-0002"])
        #expect(scored.status == 200, "\(scored.text)")
        #expect(scored.headers["x-request-id"] == "engine-msg-0002")

        // Without one, or with one that is not plain, the gateway makes its own and says it.
        let plain = try harness.request("GET", "/fhir/metadata")
        let made = try #require(plain.headers["x-request-id"])
        #expect(made.count == 13 && made.allSatisfy(\.isHexDigit))
        let odd = try harness.request("GET", "/fhir/metadata", headers: ["X-Request-ID: Smith^John"])
        #expect(odd.headers["x-request-id"] != "Smith^John" && odd.headers["x-request-id"]?.count == 13)

        try harness.waitUntil("the request lines are written") {
            harness.gatewayLog.components(separatedBy: "\"msg\":\"request\"").count - 1 >= 4
        }
        let lines = try Self.lines(harness)
        let refusal = try #require(lines.first { $0["request.id"] as? String == "engine-msg-0001" && $0["msg"] as? String == "request" })
        #expect(refusal["http.status"] as? Int == 422)
        #expect(refusal["client"] as? String == "interface-engine")
        #expect((refusal["peer"] as? String)?.hasPrefix("127.0.0.1:") == true)
        #expect(refusal["outcome.code"] as? String != nil, "\(refusal)")
        #expect((refusal["outcome.path"] as? String)?.hasPrefix("Observation.value") == true, "\(refusal)")
        #expect(refusal["duration.ms"] is Double || refusal["duration.ms"] is Int)
        #expect(refusal["time"] is String)

        let second = lines.filter { $0["request.id"] as? String == "engine-msg-0002" }
        #expect(Set(second.compactMap { $0["msg"] as? String }).isSuperset(of: ["request", "case scored"]), "\(second)")
        #expect(lines.first { $0["msg"] as? String == "case scored" }?["request.id"] as? String == "engine-msg-0002")
        #expect(!lines.contains { $0["request.id"] as? String == "Smith^John" })

        for value in ["Quillfeather", "0.731", "p-trace"] {
            #expect(!harness.gatewayLog.contains(value), "\(value) is in the log")
        }
    }

    @Test func aClientThatDoesNotTrustTheGatewaysCertificateIsToldApartFromARefusedClient() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        try harness.startGateway()
        defer { harness.stopAll() }
        // curl (TLS 1.3) checking the gateway against another CA, then one without a certificate.
        #expect(try harness.request("GET", "/fhir/metadata", trust: "other").status == 0)
        try harness.waitUntil("the refusal of the gateway's certificate is logged") {
            harness.gatewayLog.contains("category=server_certificate_untrusted")
        }
        #expect(try harness.request("GET", "/fhir/metadata", client: nil).status == 0)
        try harness.waitUntil("the refused client is logged") { harness.gatewayLog.contains("category=client_certificate") }
        #expect(try harness.metric(#"fhir_gateway_tls_handshake_failures_total{reason="server_certificate_untrusted"}"#) == 1)
    }
}
