import Foundation
import TestSupport
import Testing

@testable import GatewayServer

/// What `/metrics` exposes before anything has happened: every counter an alert rule watches is
/// there at 0, so that `increase()` sees its first event.
struct GatewayMetricsTests {
    static func samples(_ metrics: GatewayMetrics) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in String(decoding: metrics.render(), as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            samples[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        return samples
    }

    @Test func theCountersOfRareEventsStartAtZeroBeforeTheirFirstEvent() {
        let samples = Self.samples(GatewayMetrics(assessmentProfiles: ["icca-early-progression-risk"]))
        for sample in [
            #"fhir_gateway_cases_scored_total{stratum="high"}"#,
            #"fhir_gateway_cases_scored_total{stratum="lower"}"#,
            "fhir_gateway_cases_withdrawn_total",
            #"fhir_gateway_assessments_withheld_total{profile="icca-early-progression-risk"}"#,
            #"fhir_gateway_delivery_attempts_total{result="dead"}"#,
            #"fhir_gateway_reloads_total{result="refused"}"#,
            #"fhir_gateway_upstream_auth_failures_total{reason="invalid_client"}"#,
            #"fhir_gateway_tls_handshake_failures_total{reason="client_certificate"}"#,
            #"fhir_gateway_connections_refused_total{listener="api"}"#,
        ] {
            #expect(samples[sample] == 0, "\(sample) is not exposed at 0: \(samples.keys.sorted())")
        }
    }

    @Test func anEventMovesTheCounterRegisteredAtStart() {
        let metrics = GatewayMetrics(assessmentProfiles: ["icca-early-progression-risk"])
        metrics.assessmentWithheld(profile: "icca-early-progression-risk")
        metrics.caseWithdrawn()
        metrics.caseScored(stratum: "high")
        let samples = Self.samples(metrics)
        #expect(samples[#"fhir_gateway_assessments_withheld_total{profile="icca-early-progression-risk"}"#] == 1)
        #expect(samples["fhir_gateway_cases_withdrawn_total"] == 1)
        #expect(samples[#"fhir_gateway_cases_scored_total{stratum="high"}"#] == 1)
        #expect(samples[#"fhir_gateway_cases_scored_total{stratum="lower"}"#] == 0)
    }

    @Test func theWithheldCounterIsNamedForEachRiskAssessmentProfileOfTheGuide() throws {
        let profiles = try ProfilesFolder(path: Fixtures.packageRoot.appendingPathComponent("Profiles").path)
        #expect(GatewayMetrics.assessmentProfiles(in: try profiles.conformance()) == ["icca-early-progression-risk"])
    }
}
