import FHIRProfiles
import Foundation
import Prometheus
import RiskModel
import Storage
import Synchronization

/// The gateway's Prometheus metrics (`/metrics` on the operations listener). Counters move as
/// events happen; the store's gauges and the certificate's remaining lifetime are read when
/// scraped. Labels hold route templates, statuses and fixed categories only, never anything a
/// request carried.
final class GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    static let namespace = "fhir_gateway"

    /// Request durations from 1 ms to 10 s.
    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(10),
    ]

    private func descriptor(_ name: String, unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: Self.namespace, metricName: name, unitName: unit, helpText: help)
    }

    /// FHIR API requests whose head has arrived and whose answer is not yet made: what a
    /// shutdown waits for, and what a slow or stuck client holds.
    private let requestsInFlight: Gauge

    func requestStarted() { requestsInFlight.increment() }
    func requestEnded() { requestsInFlight.decrement() }

    /// - Parameter assessmentProfiles: the ids of the RiskAssessment profiles the gateway holds
    ///   (`assessmentProfiles(in:)`): the `profile` values of `assessments_withheld_total`.
    init(assessmentProfiles: [String] = []) {
        requestsInFlight = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: Self.namespace, metricName: "http_requests_in_flight", unitName: "", helpText: "FHIR API requests being read or answered"))
        // Expose the failure counters at zero from the start, so alerts on their rate work.
        for category in TLSHandshakeFailure.Category.allCases { _ = tlsFailures(category) }
        for result in ["delivered", "retry", "dead"] { _ = deliveries(result) }
        for result in ["applied", "refused"] { _ = reloads(result) }
        for reason in [UpstreamAuthError.Code.invalidClient, .invalidScope, .refused, .unreachable, .badAnswer, .discovery] {
            upstreamAuthFailures(reason.description)
        }
        gauge("last_delivery_timestamp", unit: "seconds", "When the upstream last accepted a RiskAssessment (Unix time; 0 until then)").set(to: 0.0)
        for listener in ["api", "operations"] { connectionsRefusedCounter(listener) }
        // The counters of rare events too: `increase()` over a series that first appears at 1
        // misses that first event, and an alert on it would not fire.
        for stratum in ADCScore.Stratum.allCases { casesScored(GatewayEvents.name(stratum)) }
        casesWithdrawn()
        for profile in assessmentProfiles { assessmentsWithheld(profile) }
    }

    /// The ids of the package's RiskAssessment profiles: the profiles an assessment can be withheld for.
    static func assessmentProfiles(in conformance: ConformancePackage) -> [String] {
        conformance.profiles.values.filter { $0.type == "RiskAssessment" }.map(\.name).sorted()
    }

    /// The request metrics met so far, by method, route and status: the registry builds its
    /// descriptor and label set on every lookup, which cost more than the count itself.
    private struct RequestKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }
    private let requestMetrics = Mutex<[RequestKey: (Counter, DurationHistogram)]>([:])

    func request(method: String, route: String, status: Int, duration: Duration) {
        let key = RequestKey(method: method, route: route, status: status)
        let metrics = requestMetrics.withLock { known in
            if let found = known[key] { return found }
            let made = (
                registry.makeCounter(
                    descriptor: descriptor("http_requests", unit: "total", "FHIR API requests by method, route template and status"),
                    labels: [("method", method), ("route", route), ("status", String(status))]
                ),
                registry.makeDurationHistogram(
                    descriptor: descriptor("http_request_duration", unit: "seconds", "FHIR API request latency by route template"),
                    labels: [("route", route)],
                    buckets: Self.durationBuckets
                )
            )
            known[key] = made
            return made
        }
        metrics.0.increment()
        metrics.1.record(duration)
    }

    func caseScored(stratum: String) { casesScored(stratum).increment() }

    @discardableResult
    private func casesScored(_ stratum: String) -> Counter {
        registry.makeCounter(
            descriptor: descriptor("cases_scored", unit: "total", "RiskAssessments made or revised, by ADC stratum"),
            labels: [("stratum", stratum)]
        )
    }

    /// `profile` is a profile's id from Profiles/ or `unknown`, never text from a request.
    func profileIssue(profile: String, severity: String) {
        registry.makeCounter(
            descriptor: descriptor("profile_issues", unit: "total", "Issues found validating incoming resources against their profiles, by profile and severity"),
            labels: [("profile", profile), ("severity", severity)]
        ).increment()
    }

    func assessmentWithheld(profile: String) { assessmentsWithheld(profile).increment() }

    @discardableResult
    private func assessmentsWithheld(_ profile: String) -> Counter {
        registry.makeCounter(
            descriptor: descriptor(
                "assessments_withheld", unit: "total", "RiskAssessments made but not stored or sent: they did not conform to their profile (a defect)"),
            labels: [("profile", profile)]
        )
    }

    func connectionsRefused(listener: String) { connectionsRefusedCounter(listener).increment() }

    @discardableResult
    private func connectionsRefusedCounter(_ listener: String) -> Counter {
        registry.makeCounter(
            descriptor: descriptor("connections_refused", unit: "total", "Connections closed as soon as accepted: the listener was at its cap"),
            labels: [("listener", listener)]
        )
    }

    func caseWithdrawn() { casesWithdrawn().increment() }

    @discardableResult
    private func casesWithdrawn() -> Counter {
        registry.makeCounter(
            descriptor: descriptor("cases_withdrawn", unit: "total", "RiskAssessments sent again as entered-in-error: their case no longer yields them")
        )
    }

    /// A token request the authorization server refused or that failed, by `UpstreamAuthError` code.
    @discardableResult
    func upstreamAuthFailures(_ reason: String) -> Counter {
        registry.makeCounter(
            descriptor: descriptor("upstream_auth_failures", unit: "total", "Access token requests to the upstream's authorization server that failed, by reason"),
            labels: [("reason", reason)]
        )
    }

    /// `delivered`, `retry` (a failed attempt that will be retried) or `dead` (given up).
    @discardableResult
    func deliveries(_ result: String) -> Counter {
        registry.makeCounter(
            descriptor: descriptor("delivery_attempts", unit: "total", "Attempts to deliver a RiskAssessment upstream, by result"),
            labels: [("result", result)]
        )
    }

    @discardableResult
    func tlsFailures(_ category: TLSHandshakeFailure.Category) -> Counter {
        registry.makeCounter(
            descriptor: descriptor("tls_handshake_failures", unit: "total", "TLS handshakes that failed, by reason"),
            labels: [("reason", category.rawValue)]
        )
    }

    @discardableResult
    func reloads(_ result: String) -> Counter {
        registry.makeCounter(
            descriptor: descriptor("reloads", unit: "total", "Configuration reloads (SIGHUP), applied or refused"),
            labels: [("result", result)]
        )
    }

    /// The last delivery the upstream accepted, as a Unix time (0 until the first).
    func delivered(at date: Date) {
        gauge("last_delivery_timestamp", unit: "seconds", "When the upstream last accepted a RiskAssessment (Unix time; 0 until then)")
            .set(date.timeIntervalSince1970)
    }

    /// Sets the gauges read from the store and the certificate, just before a scrape.
    func refresh(store statistics: StoreStatistics?, storeWritable: Bool, certificateNotAfter: Date, draining: Bool, now: Date) {
        if let statistics {
            gauge("outbox_depth", unit: "", "RiskAssessments waiting for delivery").set(Double(statistics.pending))
            gauge("outbox_oldest_age", unit: "seconds", "Age of the oldest RiskAssessment waiting for delivery (0 when none)")
                .set(statistics.oldestPending.map { max(0, now.timeIntervalSince($0)) } ?? 0)
            gauge("dead_letters", unit: "", "Deliveries given up on, waiting for an operator (outbox dead-letters)").set(Double(statistics.dead))
            gauge("assessments", unit: "", "RiskAssessments held (one per case)").set(Double(statistics.assessments))
        }
        gauge("store_writable", unit: "", "1 when the last write probe of the store succeeded").set(to: storeWritable ? 1.0 : 0.0)
        gauge("certificate_expiry", unit: "seconds", "Seconds until the server certificate expires (negative once expired)")
            .set(certificateNotAfter.timeIntervalSince(now))
        gauge("draining", unit: "", "1 while shutting down").set(to: draining ? 1.0 : 0.0)
    }

    private func gauge(_ name: String, unit: String, _ help: String) -> Gauge {
        registry.makeGauge(descriptor: descriptor(name, unit: unit, help))
    }

    /// The text exposition format.
    func render() -> [UInt8] { registry.emitToBuffer() }
}
