import Foundation
import TestSupport
import Testing

/// The operations listener's `/metrics`, scraped during an end-to-end run against the real
/// binary and the test upstream.
@Suite(.serialized) struct MetricsTests {
    @Test func countersMoveDuringAnEndToEndRun() throws {
        let harness = try DaemonHarness(upstream: [])
        try harness.startGateway()
        defer { harness.stopAll() }
        let created = #"fhir_gateway_http_requests_total{method="PUT",route="/fhir/Observation/{id}",status="201"}"#
        let delivered = #"fhir_gateway_delivery_attempts_total{result="delivered"}"#
        let noCertificate = #"fhir_gateway_tls_handshake_failures_total{reason="client_certificate"}"#
        let scored = [#"fhir_gateway_cases_scored_total{stratum="high"}"#, #"fhir_gateway_cases_scored_total{stratum="lower"}"#]
        #expect(try harness.metric(created) == 0)
        #expect(try harness.metric(delivered) == 0)
        #expect(try harness.metric(noCertificate) == 0)

        #expect(try harness.request("PUT", "/fhir/ImagingStudy/ms", body: Data(CaseFixtures.study("ms", patient: "pm").utf8)).status == 201)
        #expect(try harness.request("PUT", "/fhir/Observation/mo", body: Data(CaseFixtures.adc("mo", patient: "pm", study: "ms").utf8)).status == 201)
        try harness.waitUntil("the assessment is delivered") { (try? harness.metric(delivered)) == 1 }

        #expect(try harness.metric(created) == 1)
        #expect(try scored.map(harness.metric).reduce(0, +) == 1)
        #expect(try harness.metric(#"fhir_gateway_http_request_duration_seconds_count{route="/fhir/Observation/{id}"}"#) == 1)
        #expect(try harness.metric("fhir_gateway_assessments") == 1)
        #expect(try harness.metric("fhir_gateway_outbox_depth") == 0)
        #expect(try harness.metric("fhir_gateway_store_writable") == 1)
        // The development certificate is valid for a year.
        #expect(try harness.metric("fhir_gateway_certificate_expiry_seconds") > 300 * 86_400)

        // A client without a certificate fails the handshake: counted, and the API is unchanged.
        #expect(try harness.request("GET", "/fhir/metadata", client: nil).status == 0)
        try harness.waitUntil("the failed handshake is counted") { (try? harness.metric(noCertificate)) == 1 }
        #expect(harness.gatewayLog.contains("reason=PEER_DID_NOT_RETURN_A_CERTIFICATE"))

        // Ready while healthy; the text format is what Prometheus scrapes.
        #expect(try harness.operations("/readyz").status == 200)
        let exposition = try harness.operations("/metrics").text
        #expect(exposition.contains("# TYPE fhir_gateway_http_requests_total counter"))
        #expect(exposition.contains("# TYPE fhir_gateway_http_request_duration_seconds histogram"))
    }

    @Test func anUpstreamThatFailsShowsAsRetriesAndAGrowingOutbox() throws {
        let harness = try DaemonHarness(upstream: ["--fail-first", "1000"])
        try harness.startGateway()
        defer { harness.stopAll() }
        #expect(try harness.request("PUT", "/fhir/ImagingStudy/fs", body: Data(CaseFixtures.study("fs", patient: "pf").utf8)).status == 201)
        #expect(try harness.request("PUT", "/fhir/Observation/fo", body: Data(CaseFixtures.adc("fo", patient: "pf", study: "fs").utf8)).status == 201)
        try harness.waitUntil("failed attempts are counted") {
            (try? harness.metric(#"fhir_gateway_delivery_attempts_total{result="retry"}"#)) ?? 0 >= 2
        }
        #expect(try harness.metric("fhir_gateway_outbox_depth") == 1)
        #expect(try harness.metric("fhir_gateway_outbox_oldest_age_seconds") > 0)
        #expect(harness.gatewayLog.contains("msg=\"delivery failed, will retry\""))
        #expect(harness.gatewayLog.contains("upstream.status=503"))
    }

    @Test func deliveryFailuresSayWhereAndWhyAndEveryDeliveryLineNamesItsCase() throws {
        let harness = try DaemonHarness()  // the upstream is configured but down
        try harness.startGateway()
        defer { harness.stopAll() }
        let port = try #require(harness.upstreamPort)
        #expect(try harness.request("PUT", "/fhir/ImagingStudy/ds", body: Data(CaseFixtures.study("ds", patient: "pd").utf8)).status == 201)
        #expect(try harness.request("PUT", "/fhir/Observation/do", body: Data(CaseFixtures.adc("do", patient: "pd", study: "ds").utf8)).status == 201)
        try harness.waitUntil("a failed delivery is logged with its host, port and reason") {
            harness.gatewayLog.contains("the upstream 127.0.0.1:\(port) could not be reached: connection refused")
        }
        let failed = harness.gatewayLog.split(separator: "\n").first { $0.contains("delivery failed, will retry") } ?? ""
        #expect(failed.contains("case="), "\(failed)")
        #expect(!failed.contains("IOError") && !failed.contains("NIOConnectionError"), "\(failed)")
        #expect(try harness.plain("/metrics").contains("fhir_gateway_last_delivery_timestamp_seconds 0"))
        try harness.startUpstream([])
        try harness.waitUntil("the assessment is delivered") { harness.gatewayLog.contains("msg=delivered") }
        let delivered = harness.gatewayLog.split(separator: "\n").first { $0.contains("msg=delivered") } ?? ""
        #expect(delivered.contains("case="), "\(delivered)")
        let metrics = try harness.plain("/metrics")
        #expect(metrics.contains("fhir_gateway_last_delivery_timestamp_seconds "))
        #expect(!metrics.contains("fhir_gateway_last_delivery_timestamp_seconds 0"), "\(metrics)")
        // After a restart the gauge comes from the store: an alert on its age does not fire.
        harness.stopGateway()
        try harness.startGateway()
        let restarted = try harness.plain("/metrics")
        #expect(restarted.contains("fhir_gateway_last_delivery_timestamp_seconds "))
        #expect(!restarted.contains("fhir_gateway_last_delivery_timestamp_seconds 0"), "\(restarted)")
    }
}
