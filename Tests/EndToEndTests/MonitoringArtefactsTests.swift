import Foundation
import TestSupport
import Testing

/// The Grafana dashboard and the Prometheus alert rules of Config/monitoring/ against the real
/// gateway: every metric they read is one a running gateway exposes on `/metrics`, so a renamed
/// metric fails here rather than in a hospital's silent dashboard. (promtool checks the rules'
/// syntax and behaviour: make check-monitoring.)
@Suite(.serialized) struct MonitoringArtefactsTests {
    static let folder = Fixtures.packageRoot.appendingPathComponent("Config/monitoring")
    /// Metrics that Prometheus makes itself, not the gateway.
    static let prometheusOwn: Set<String> = ["up"]

    static func dashboard() throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent("grafana-dashboard.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "the dashboard is not a JSON object")
    }

    static func panels(_ dashboard: [String: Any]) -> [[String: Any]] {
        let top = dashboard["panels"] as? [[String: Any]] ?? []
        // A collapsed row holds its panels itself.
        return top.flatMap { [$0] + ($0["panels"] as? [[String: Any]] ?? []) }.filter { $0["type"] as? String != "row" }
    }

    static func rules() throws -> String {
        try String(contentsOf: folder.appendingPathComponent("alert-rules.yml"), encoding: .utf8)
    }

    /// Every metric name read by a panel, a variable or an alert rule, with where it is read.
    static func usedMetrics() throws -> [String: String] {
        var used: [String: String] = [:]
        let dashboard = try dashboard()
        for panel in panels(dashboard) {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                for name in PromQLMetricNames.names(in: target["expr"] as? String ?? "") { used[name] = "panel \"\(panel["title"] ?? "?")\"" }
            }
        }
        let variables = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        for variable in variables where variable["type"] as? String == "query" {
            let query = (variable["query"] as? [String: Any])?["query"] as? String ?? variable["query"] as? String ?? ""
            for name in PromQLMetricNames.names(inVariableQuery: query) ?? [] { used[name] = "variable $\(variable["name"] ?? "?")" }
        }
        for expression in PromQLMetricNames.expressions(inRules: try rules()) {
            for name in PromQLMetricNames.names(in: expression) { used[name] = "alert rule \(expression)" }
        }
        return used
    }

    @Test func theDashboardIsAGrafanaDashboardWithAQueryOnEveryPanelAndAVariablePerGateway() throws {
        let dashboard = try Self.dashboard()
        #expect((dashboard["schemaVersion"] as? Int ?? 0) >= 36, "Grafana 10 and 11 read schemaVersion 36 and later")
        #expect(dashboard["uid"] as? String == "fhir-risk-gateway")
        let panels = Self.panels(dashboard)
        #expect(panels.count >= 20)
        var ids: Set<Int> = []
        for panel in panels {
            let title = panel["title"] as? String ?? "?"
            let id = try #require(panel["id"] as? Int, "panel \(title) has no id")
            #expect(ids.insert(id).inserted, "two panels have the id \(id)")
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty, "panel \(title) has no query")
            for target in targets {
                #expect(!(target["expr"] as? String ?? "").isEmpty, "panel \(title) has an empty query")
                #expect((target["datasource"] as? [String: Any])?["uid"] as? String == "${datasource}", "panel \(title) does not use the datasource variable")
            }
        }
        let variables = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        #expect(variables.map { $0["name"] as? String ?? "" } == ["datasource", "job", "instance"])
        // Several gateways (on one PostgreSQL) are seen together or one at a time.
        let instance = try #require(variables.first { $0["name"] as? String == "instance" })
        #expect(instance["multi"] as? Bool == true && instance["includeAll"] as? Bool == true)
    }

    @Test func everyAlertHasADelayASeverityAndARunbookSectionThatExists() throws {
        let runbook = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("docs/OPERATIONS.md"), encoding: .utf8)
        let headings = Set(runbook.split(separator: "\n").filter { $0.hasPrefix("#") }.map { $0.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces) })
        let alerts = try Self.rules().components(separatedBy: "- alert: ").dropFirst()
        #expect(alerts.count >= 10)
        for alert in alerts {
            let name = alert.prefix { !$0.isNewline }
            #expect(alert.contains("\n        for: "), "\(name) has no for:")
            #expect(alert.contains("severity: critical") || alert.contains("severity: warning"), "\(name) has no severity")
            #expect(alert.contains("summary: ") && alert.contains("description: "), "\(name) lacks a summary or description")
            // The description is folded over several lines: words are compared, not lines.
            let words = alert.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            let pointer = try #require(words.range(of: "Runbook: docs/OPERATIONS.md, "), "\(name) names no runbook section")
            let sections = words[pointer.upperBound...].split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            #expect(!sections.isEmpty, "\(name) names no runbook section")
            for section in sections {
                let known = headings.contains(section)
                #expect(known, "\(name) points at \"\(section)\", which docs/OPERATIONS.md has no heading for")
            }
        }
    }

    @Test func metricNamesAreReadFromPromQLWithoutFunctionsLabelsOrKeywords() {
        let expression = #"""
            histogram_quantile(0.95, sum by (le, route) (rate(fhir_gateway_http_request_duration_seconds_bucket{job=~"$job", instance=~"${instance}"}[$__rate_interval])))
              / ignoring(status) group_left sum without (instance) (increase(fhir_gateway_http_requests_total{status=~"5..|sum"}[5m] offset 1h))
              > 14 * 86400 and on (job) absent(up{job="x"}) or time() - (fhir_gateway_last_delivery_timestamp_seconds > 0) unless count(x:recorded:rate5m) by (job)
            """#
        #expect(
            PromQLMetricNames.names(in: expression) == [
                "fhir_gateway_http_request_duration_seconds_bucket", "fhir_gateway_http_requests_total", "up",
                "fhir_gateway_last_delivery_timestamp_seconds", "x:recorded:rate5m",
            ])
        #expect(PromQLMetricNames.names(inVariableQuery: #"label_values(fhir_gateway_http_requests_in_flight{job=~"$job"}, instance)"#) == ["fhir_gateway_http_requests_in_flight"])
        #expect(PromQLMetricNames.expressions(inRules: "  - alert: A\n    expr: a > 0\n  - alert: B\n    expr: |\n      b\n        > 1\n    for: 1m\n") == ["a > 0", "      b\n        > 1"])
    }

    @Test func aRenamedMetricIsReportedMissing() {
        let exposition = """
            # HELP fhir_gateway_dead_letters Deliveries given up on
            # TYPE fhir_gateway_dead_letters gauge
            fhir_gateway_dead_letters 0
            # TYPE fhir_gateway_http_request_duration_seconds histogram
            """
        let exposed = PromQLMetricNames.exposed(in: exposition)
        #expect(PromQLMetricNames.names(in: "fhir_gateway_dead_letters > 0").isSubset(of: exposed))
        #expect(PromQLMetricNames.names(in: "rate(fhir_gateway_http_request_duration_seconds_count[5m])").isSubset(of: exposed))
        #expect(PromQLMetricNames.names(in: "fhir_gateway_dead_letter > 0").subtracting(exposed) == ["fhir_gateway_dead_letter"])
    }

    /// The gateway is driven so that every family exists: a case scored and delivered (requests,
    /// latency, the outbox), and a resource that breaks its profile (profile issues). The counters
    /// of the other rare events (dead letters, withheld assessments, refused reloads, token and
    /// TLS failures) are exposed at 0 from the start.
    @Test func everyMetricTheDashboardAndTheAlertRulesReadIsOnARunningGatewaysMetrics() throws {
        let used = try Self.usedMetrics()
        // The files were read: the metrics of the issue's list are among those used.
        for name in [
            "fhir_gateway_http_requests_total", "fhir_gateway_http_request_duration_seconds_bucket", "fhir_gateway_cases_scored_total",
            "fhir_gateway_outbox_depth", "fhir_gateway_outbox_oldest_age_seconds", "fhir_gateway_delivery_attempts_total",
            "fhir_gateway_dead_letters", "fhir_gateway_tls_handshake_failures_total", "fhir_gateway_certificate_expiry_seconds",
            "fhir_gateway_store_writable", "up",
        ] {
            #expect(used[name] != nil, "neither the dashboard nor the alert rules read \(name)")
        }

        let harness = try DaemonHarness(upstream: [])
        try harness.startGateway()
        defer { harness.stopAll() }
        #expect(try harness.request("PUT", "/fhir/ImagingStudy/ms", body: Data(CaseFixtures.study("ms", patient: "pm").utf8)).status == 201)
        #expect(try harness.request("PUT", "/fhir/Observation/mo", body: Data(CaseFixtures.adc("mo", patient: "pm", study: "ms").utf8)).status == 201)
        try harness.waitUntil("the assessment is delivered") { (try? harness.metric(#"fhir_gateway_delivery_attempts_total{result="delivered"}"#)) == 1 }
        // An ADC whose b-value has a unit other than the profile's s/mm2: refused under enforce, counted.
        let adc = CaseFixtures.adc("bad-unit", patient: "pm", study: "ms")
        let component =
            #","component":[{"code":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"113240"}]},"valueQuantity":{"value":800,"system":"http://unitsofmeasure.org","code":"s/cm2"}}]}"#
        #expect(try harness.request("PUT", "/fhir/Observation/bad-unit", body: Data((String(adc.dropLast()) + component).utf8)).status == 422)

        let exposed = PromQLMetricNames.exposed(in: try harness.operations("/metrics").text)
        for (name, place) in used.sorted(by: { $0.key < $1.key }) where !Self.prometheusOwn.contains(name) {
            #expect(exposed.contains(name), "\(name), read by \(place), is not on the gateway's /metrics")
        }
    }
}
