import FHIRCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon as an interface engine meets it: the real binary over real TLS, a real SQLite file,
/// and a real HTTPS upstream in its own process that checks every RiskAssessment against the R4
/// JSON schema. These tests run one after another (each starts its own processes).
@Suite(.serialized) struct DaemonTests {
    // MARK: - Resources of a case

    static func xml(_ json: String) -> Data {
        guard let node = FHIRReader().read(Array(json.utf8)).resource else { return Data() }
        return Data(FHIRXMLWriter().write(node))
    }

    static func assessments(_ harness: DaemonHarness, patient: String) throws -> [[String: Any]] {
        let answer = try harness.request("GET", "/fhir/RiskAssessment?subject=Patient/\(patient)")
        let entries = answer.json?["entry"] as? [[String: Any]] ?? []
        // The search's outcome entry (why a case is held) is not an assessment.
        return entries.compactMap { $0["resource"] as? [String: Any] }.filter { $0["resourceType"] as? String == "RiskAssessment" }
    }

    static func probability(_ assessment: [String: Any]?) -> String? {
        guard let prediction = (assessment?["prediction"] as? [[String: Any]])?.first, let value = prediction["probabilityDecimal"] else {
            return nil
        }
        return "\(value)"
    }

    // MARK: - TLS

    @Test func clientsWithoutACertificateOrFromAnotherCAAreRefused() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        try harness.startGateway()
        defer { harness.stopAll() }
        #expect(try harness.request("GET", "/fhir/metadata").status == 200)
        let unknown = try harness.request("GET", "/fhir/Medication/1")
        #expect(unknown.status == 404 && unknown.json?["resourceType"] as? String == "OperationOutcome")
        #expect(try harness.request("DELETE", "/fhir/Observation/1").status == 405)
        // Methods and paths no route names still answer with an OperationOutcome.
        for (method, path) in [("OPTIONS", "/fhir/Observation"), ("GET", "/fhir"), ("OPTIONS", "/fhir/metadata")] {
            let answer = try harness.request(method, path)
            #expect(answer.status >= 400 && answer.json?["resourceType"] as? String == "OperationOutcome", "\(method) \(path): \(answer.text)")
        }
        #expect(try harness.request("GET", "/fhir/Observation/1").status == 405)
        #expect(try harness.request("GET", "/fhir/metadata", client: nil).status == 0)
        #expect(try harness.request("GET", "/fhir/metadata", client: "other").status == 0)
    }

    @Test func anAllowListAdmitsOnlyTheNamedClients() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        harness.allowedClientNames = ["interface-engine"]  // the development client certificate's CN
        try harness.startGateway()
        #expect(try harness.request("GET", "/fhir/metadata").status == 200)
        harness.stopGateway()
        harness.allowedClientNames = ["another-engine"]
        try harness.startGateway()
        defer { harness.stopAll() }
        let refused = try harness.request("GET", "/fhir/metadata")
        #expect(refused.status == 403, "\(refused.text)")
        #expect(refused.text.contains("CN=interface-engine"))
    }

    @Test func checkConfigReportsEveryProblem() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        let broken = """
            server: {port: 99999}
            tls: {certificate: /nonexistent/server.crt}
            storage: {path: /tmp/x.sqlite}
            model: {path: /nonexistent/model.yaml}
            profiles: {path: /nonexistent}
            upstream: {baseURL: ftp://example.org}
            """
        try broken.write(toFile: harness.path("broken.yaml"), atomically: true, encoding: .utf8)
        let run = try GatewayBinary.run(["check-config", "--config", harness.path("broken.yaml")])
        #expect(run.status == 1)
        for words in ["server.port", "tls.privateKey is required", "/nonexistent/server.crt", "model.path", "profiles.path", "upstream.baseURL"] {
            #expect(run.standardError.contains(words), "\(words) missing from:\n\(run.standardError)")
        }
        let good = try GatewayBinary.run(["check-config", "--config", harness.path("gateway.yaml")])
        #expect(good.status == 0, "\(good.standardError)")
    }

    // MARK: - An interface engine's run

    @Test(arguments: ["json", "xml"])
    func separateRequestsInEitherOrderYieldOneAssessmentAtTheUpstream(format: String) throws {
        let harness = try DaemonHarness(upstream: [])
        try harness.startGateway()
        defer { harness.stopAll() }
        let contentType = format == "json" ? "application/fhir+json" : "application/fhir+xml"
        func body(_ json: String) -> Data { format == "json" ? Data(json.utf8) : Self.xml(json) }

        // Study first, then the ADC (by PUT with the sender's ids).
        #expect(
            try harness.request("PUT", "/fhir/ImagingStudy/s1", body: body(CaseFixtures.study("s1", patient: "a")), contentType: contentType).status == 201)
        let created = try harness.request(
            "PUT", "/fhir/Observation/o1", body: body(CaseFixtures.adc("o1", patient: "a", study: "s1")), contentType: contentType)
        #expect(created.status == 201, "\(created.text)")
        // ADC first, then the study (by POST; linked by patient and day).
        #expect(
            try harness.request(
                "POST", "/fhir/Observation", body: body(CaseFixtures.adc("x", patient: "b", study: nil, value: "1.3")), contentType: contentType
            ).status == 201)
        #expect(try Self.assessments(harness, patient: "b").isEmpty)
        #expect(try harness.request("POST", "/fhir/ImagingStudy", body: body(CaseFixtures.study("s2", patient: "b")), contentType: contentType).status == 201)

        let first = try Self.assessments(harness, patient: "a")
        let second = try Self.assessments(harness, patient: "b")
        #expect(first.count == 1 && second.count == 1)
        #expect(Self.probability(first.first) == "78")
        #expect(Self.probability(second.first) == "28")
        try harness.waitUntil("both assessments reach the upstream") { harness.upstreamResources().count == 2 }
        let records = try harness.upstreamRecords()["requests"] as? [[String: Any]] ?? []
        #expect(records.allSatisfy { ($0["answer"] as? Int).map { (200..<300).contains($0) } ?? false }, "\(records)")
        #expect(records.count == 2, "each case delivered exactly once: \(records)")

        // The same answer in XML when asked.
        let xml = try harness.request("GET", "/fhir/RiskAssessment?subject=Patient/a", headers: ["Accept: application/fhir+xml"])
        #expect(xml.text.hasPrefix("<?xml"))
        #expect(try harness.request("GET", "/fhir/metadata", headers: ["Accept: text/csv"]).status == 406)
        #expect(try harness.request("POST", "/fhir/Observation", body: Data("a,b".utf8), contentType: "text/csv").status == 415)
    }

    @Test func aTransactionAndAMessageEachYieldOneAssessment() throws {
        let harness = try DaemonHarness(upstream: [])
        try harness.startGateway()
        defer { harness.stopAll() }
        let transaction = #"""
            {"resourceType":"Bundle","type":"transaction","entry":[
             {"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":\#(CaseFixtures.study("t1", patient: "t").replacingOccurrences(of: "\"id\":\"t1\",", with: "")),"request":{"method":"POST","url":"ImagingStudy"}},
             {"resource":\#(CaseFixtures.adc("ta", patient: "t", study: nil).replacingOccurrences(of: "\"id\":\"ta\",", with: "").replacingOccurrences(of: "\"valueQuantity\"", with: "\"derivedFrom\":[{\"reference\":\"urn:uuid:11111111-1111-4111-8111-111111111111\"}],\"valueQuantity\"")),"request":{"method":"POST","url":"Observation"}}]}
            """#
        let answer = try harness.request("POST", "/fhir", body: Data(transaction.utf8))
        #expect(answer.status == 200, "\(answer.text)")
        #expect(answer.json?["type"] as? String == "transaction-response")
        #expect(try Self.assessments(harness, patient: "t").count == 1)

        let message = #"""
            {"resourceType":"Bundle","type":"message","entry":[
             {"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":{"resourceType":"MessageHeader","id":"m-1","eventCoding":{"system":"http://example.org/events","code":"mri-findings"},"source":{"endpoint":"urn:engine"}}},
             {"fullUrl":"urn:uuid:33333333-3333-4333-8333-333333333333","resource":\#(CaseFixtures.study("m1", patient: "m"))},
             {"fullUrl":"urn:uuid:44444444-4444-4444-8444-444444444444","resource":\#(CaseFixtures.adc("ma", patient: "m", study: "m1"))}]}
            """#
        let response = try harness.request("POST", "/fhir/$process-message", body: Data(message.utf8))
        #expect(response.status == 200, "\(response.text)")
        let entries = response.json?["entry"] as? [[String: Any]] ?? []
        let header = entries.first?["resource"] as? [String: Any]
        #expect((header?["response"] as? [String: Any])?["identifier"] as? String == "m-1")
        #expect((header?["response"] as? [String: Any])?["code"] as? String == "ok")
        #expect(entries.contains { ($0["resource"] as? [String: Any])?["resourceType"] as? String == "RiskAssessment" })

        // Resending the message: the same answer, no second assessment, no second delivery.
        let again = try harness.request("POST", "/fhir/$process-message", body: Data(message.utf8))
        #expect(again.body == response.body)
        try harness.waitUntil("both assessments reach the upstream") { harness.upstreamResources().count == 2 }
        try harness.waitForEmptyOutbox()
        let records = try harness.upstreamRecords()["requests"] as? [[String: Any]] ?? []
        #expect(records.count == 2, "\(records)")
    }

    /// FHIR R4 transaction processing: the entry's request governs; a mismatch refuses the whole
    /// transaction with the entry's path, and nothing is stored.
    // MARK: - Delivery

    @Test func anUpstreamThatFailsFirstGetsTheAssessmentLaterOnce() throws {
        let harness = try DaemonHarness(upstream: ["--fail-first", "2"])
        try harness.startGateway()
        defer { harness.stopAll() }
        #expect(try harness.request("PUT", "/fhir/ImagingStudy/s", body: Data(CaseFixtures.study("s", patient: "r").utf8)).status == 201)
        #expect(try harness.request("PUT", "/fhir/Observation/o", body: Data(CaseFixtures.adc("o", patient: "r", study: "s").utf8)).status == 201)
        try harness.waitUntil("the assessment is delivered after two failures") { harness.upstreamResources().count == 1 }
        let answers = (try harness.upstreamRecords()["requests"] as? [[String: Any]] ?? []).compactMap { $0["answer"] as? Int }
        #expect(answers == [503, 503, 201])
    }

    @Test func anUpstreamRefusalIsADeadLetterAndOtherCasesGoThrough() throws {
        let harness = try DaemonHarness(upstream: ["--reject-subject", "Patient/bad"])
        try harness.startGateway()
        defer { harness.stopAll() }
        for patient in ["bad", "good"] {
            #expect(
                try harness.request("PUT", "/fhir/ImagingStudy/s-\(patient)", body: Data(CaseFixtures.study("s-\(patient)", patient: patient).utf8)).status
                    == 201)
            #expect(
                try harness.request(
                    "PUT", "/fhir/Observation/o-\(patient)", body: Data(CaseFixtures.adc("o-\(patient)", patient: patient, study: "s-\(patient)").utf8)
                )
                .status == 201
            )
        }
        try harness.waitUntil("the good case is delivered") { harness.upstreamResources().count == 1 }
        try harness.waitUntil("the refused case is a dead letter") {
            (try? harness.outbox(["dead-letters"]))?.contains("refused by this server") == true
        }
        // A header line, then the one delivered entry.
        #expect(try harness.outbox(["list", "--state", "delivered"]).split(separator: "\n").count == 2)
        // A replay says how many it queued (not a sequence number that reads as a count).
        let replay = try harness.outbox(["dead-letters", "--replay"])
        #expect(replay.hasSuffix("1 of 1 dead letter queued again\n"), "\(replay)")
        // The outbox needs only the store, and speaks JSON for tools.
        let json = try GatewayBinary.run(["outbox", "list", "--store", harness.path("state/gateway.sqlite"), "--json"])
        #expect(json.status == 0, "\(json.standardError)")
        let listed = try #require(try JSONSerialization.jsonObject(with: json.standardOutput) as? [String: Any])
        let deliveries = listed["deliveries"] as? [[String: Any]] ?? []
        #expect(deliveries.count == 2 && deliveries.allSatisfy { $0["created"] is String && $0["sequence"] is Int }, "\(listed)")
        // The delivered one says when it went out.
        #expect(deliveries.filter { $0["state"] as? String == "delivered" }.allSatisfy { $0["delivered"] is String }, "\(listed)")
        #expect(deliveries.contains { $0["state"] as? String == "delivered" }, "\(listed)")
        let later = try GatewayBinary.run(["outbox", "list", "--store", harness.path("state/gateway.sqlite"), "--since", "2999-01-01"])
        #expect(later.output.split(separator: "\n").count == 1, "\(later.output)")
        #expect(try GatewayBinary.run(["outbox", "list"]).status != 0, "neither --config nor --store")
    }

    @Test func anAssessmentAcceptedBeforeAKillIsDeliveredOnceAfterTheRestart() throws {
        let harness = try DaemonHarness()  // the upstream is configured but down
        try harness.startGateway()
        defer { harness.stopAll() }
        #expect(try harness.request("PUT", "/fhir/ImagingStudy/s", body: Data(CaseFixtures.study("s", patient: "k").utf8)).status == 201)
        #expect(try harness.request("PUT", "/fhir/Observation/o", body: Data(CaseFixtures.adc("o", patient: "k", study: "s").utf8)).status == 201)
        harness.killGateway()
        try harness.startUpstream([])
        try harness.startGateway()
        try harness.waitUntil("the assessment is delivered after the restart") { harness.upstreamResources().count == 1 }
        try harness.waitForEmptyOutbox()
        let answers = (try harness.upstreamRecords()["requests"] as? [[String: Any]] ?? []).compactMap { $0["answer"] as? Int }
        #expect(answers == [201], "\(answers)")
    }
}

/// Nothing that identifies a patient reaches a log line: names, identifiers, birth dates, free
/// text, query strings — in accepted requests, refused ones, and deliveries that fail.
@Suite(.serialized) struct LogPrivacyTests {
    static let canaries = [
        "Zebulon", "Canaryfield", "MRN-CANARY-8812", "1911-11-11", "canary-free-text", "canary-patient-7", "canary-query", "OBS-CANARY-5521",
        "canary-study-text",
    ]

    /// Both log formats, and the most verbose level as well as the default one.
    @Test(arguments: [("logfmt", "info"), ("json", "trace")])
    func noCanaryValueAppearsInAnyLogLine(format: String, level: String) throws {
        let harness = try DaemonHarness(upstream: ["--reject-subject", "Patient/canary-patient-7"])
        // logfmt as under systemd (journald's stream), JSON as anywhere else.
        try harness.startGateway(environment: ["LOG_FORMAT": format, "LOG_LEVEL": level], journald: format == "logfmt")
        defer { harness.stopAll() }
        let patient = #"""
            {"resourceType":"Patient","id":"canary-patient-7","identifier":[{"system":"urn:oid:1.2.3","value":"MRN-CANARY-8812"}],"name":[{"family":"Canaryfield","given":["Zebulon"]}],"birthDate":"1911-11-11"}
            """#
        #expect(try harness.request("PUT", "/fhir/Patient/canary-patient-7", body: Data(patient.utf8)).status == 201)
        let study = CaseFixtures.study("cs", patient: "canary-patient-7")
            .replacingOccurrences(of: "\"status\":", with: "\"description\":\"canary-study-text Zebulon\",\"status\":")
        #expect(try harness.request("PUT", "/fhir/ImagingStudy/cs", body: Data(study.utf8)).status == 201)
        let adc = CaseFixtures.adc("co", patient: "canary-patient-7", study: "cs")
            .replacingOccurrences(of: "\"valueQuantity\"", with: "\"note\":[{\"text\":\"canary-free-text Zebulon Canaryfield\"}],\"valueQuantity\"")
            .replacingOccurrences(of: "\"status\":", with: "\"identifier\":[{\"value\":\"OBS-CANARY-5521\"}],\"status\":")
        #expect(try harness.request("PUT", "/fhir/Observation/co", body: Data(adc.utf8)).status == 201)
        // Refused requests carrying the canaries.
        let noUnit = CaseFixtures.adc("cx", patient: "canary-patient-7", study: "cs", unit: nil)
        #expect(try harness.request("PUT", "/fhir/Observation/cx", body: Data(noUnit.utf8)).status == 422)
        #expect(
            try harness.request("POST", "/fhir/Patient", body: Data(#"{"resourceType":"Patient","name":[{"family":"Canaryfield""#.utf8)).status == 400
        )
        #expect(try harness.request("GET", "/fhir/RiskAssessment?subject=Patient/canary-patient-7&note=canary-query").status == 200)
        #expect(try harness.request("GET", "/fhir/Patient/canary-patient-7").status == 405)
        // The upstream refuses the assessment, naming the patient in its answer: a dead letter.
        try harness.waitUntil("the refusal is a dead letter") { harness.gatewayLog.contains("dead letter") }
        // A client without a certificate, and a reload: their lines too.
        #expect(try harness.request("GET", "/fhir/RiskAssessment?subject=Patient/canary-patient-7", client: nil).status == 0)
        harness.signalGateway(SIGHUP)
        try harness.waitUntil("the reload is logged") { harness.gatewayLog.contains("reloaded") }
        harness.stopGateway()
        let log = harness.gatewayLog
        for event in ["request", "case scored", "dead letter: refused by the upstream", "tls handshake failed", "reloaded", "stopped"] {
            #expect(log.contains(format == "json" ? "\"msg\":\"\(event)\"" : event), "no \(event) line")
        }
        // The case appears under its pseudonym: 16 hex digits, the same in every line about it.
        let pseudonyms = Set(
            log.split(separator: "\n").filter { $0.contains("case scored") }.compactMap { line -> Substring? in
                guard let range = line.range(of: format == "json" ? #""case":""# : "case=") else { return nil }
                return line[range.upperBound...].prefix(16)
            })
        #expect(pseudonyms.count == 1)
        #expect(pseudonyms.allSatisfy { $0.allSatisfy(\.isHexDigit) })
        for canary in Self.canaries {
            #expect(
                !log.contains(canary),
                "\(canary) appears in the log:\n\(log.split(separator: "\n").filter { $0.contains(canary) }.joined(separator: "\n"))")
        }
        if format == "logfmt" {
            // Under journald every line carries the priority prefix, and no time of its own.
            #expect(log.split(separator: "\n").allSatisfy { $0.hasPrefix("<") && !$0.contains("time=") }, "\(log)")
        } else {
            // Elsewhere every line is a JSON object with its time.
            #expect(
                log.split(separator: "\n").allSatisfy { line in
                    ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["time"] is String
                }, "\(log)")
        }
    }
}
