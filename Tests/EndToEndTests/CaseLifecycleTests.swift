import FHIRCore
import Foundation
import TestSupport
import Testing

/// The lifecycle of an assessment through the running daemon and a real upstream: what a
/// sender's corrections do to the assessment the hospital's FHIR server already holds.
@Suite(.serialized) struct CaseLifecycleTests {
    typealias D = CaseFixtures

    static func put(_ harness: DaemonHarness, _ type: String, _ id: String, _ json: String) throws {
        let answer = try harness.request("PUT", "/fhir/\(type)/\(id)", body: Data(json.utf8))
        #expect((200..<300).contains(answer.status), "\(type)/\(id): \(answer.text)")
    }

    /// The upstream's copy of a patient's assessments, by identifier.
    static func upstream(_ harness: DaemonHarness, patient: String) -> [String: [String: Any]] {
        harness.upstreamResources().filter { ($0.value["subject"] as? [String: Any])?["reference"] as? String == "Patient/\(patient)" }
    }

    /// Today (UTC): the day of a second, later study (the first ones are of yesterday).
    static let today = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC") ?? .current, formatOptions: [.withFullDate])

    static func status(_ resource: [String: Any]?) -> String? { resource?["status"] as? String }

    /// Waits until the upstream holds exactly one assessment of the patient, with this status.
    static func waitForUpstream(_ harness: DaemonHarness, patient: String, status: String) throws -> String {
        try harness.waitUntil("Patient/\(patient)'s assessment is \(status) upstream") {
            let found = upstream(harness, patient: patient)
            return found.count == 1 && Self.status(found.first?.value) == status
        }
        return upstream(harness, patient: patient).first?.key ?? ""
    }

    @Test func eligibilityArrivingAfterTheADCScoresTheHeldCase() throws {
        let harness = try DaemonHarness(upstream: [])
        try harness.startGateway()
        defer { harness.stopAll() }
        try Self.put(harness, "ImagingStudy", "s", D.study("s", patient: "e", eligible: false))
        try Self.put(harness, "Observation", "o", D.adc("o", patient: "e", study: "s"))
        // Held, and the search says why in its outcome entry; `outbox list` says so too.
        let search = try harness.request("GET", "/fhir/RiskAssessment?subject=Patient/e")
        let entries = search.json?["entry"] as? [[String: Any]] ?? []
        #expect(entries.count == 1)
        #expect((entries.first?["search"] as? [String: Any])?["mode"] as? String == "outcome")
        #expect(search.text.contains("Not eligible"), "\(search.text)")
        #expect(try harness.outbox().contains("held\tPatient/e\t"))
        // The diagnosis arrives: the case is scored and delivered, and no longer held.
        try Self.put(harness, "Condition", "c", D.condition("c", patient: "e"))
        _ = try Self.waitForUpstream(harness, patient: "e", status: "final")
        let assessment = try #require(try DaemonTests.assessments(harness, patient: "e").first)
        #expect((assessment["condition"] as? [String: Any])?["reference"] as? String == "Condition/c")
        #expect(!(try harness.outbox()).contains("held\t"))
    }

    @Test func aReCodedADCAWithdrawnStudyAndAReLinkedADCWithdrawTheAssessmentUpstream() throws {
        let harness = try DaemonHarness(upstream: [])
        try harness.startGateway()
        defer { harness.stopAll() }
        for patient in ["recode", "study", "relink"] {
            try Self.put(harness, "ImagingStudy", "s-\(patient)", D.study("s-\(patient)", patient: patient))
            try Self.put(harness, "Observation", "o-\(patient)", D.adc("o-\(patient)", patient: patient, study: "s-\(patient)"))
        }
        var identifiers: [String: String] = [:]
        for patient in ["recode", "study", "relink"] {
            identifiers[patient] = try Self.waitForUpstream(harness, patient: patient, status: "final")
        }
        // The ADC re-coded to something the model does not use.
        try Self.put(harness, "Observation", "o-recode", D.adc("o-recode", patient: "recode", study: "s-recode", code: "999999"))
        // The study withdrawn.
        try Self.put(harness, "ImagingStudy", "s-study", D.study("s-study", patient: "study", status: "entered-in-error"))
        // The ADC re-linked to a later study of the patient (a follow-up, not the baseline).
        try Self.put(harness, "ImagingStudy", "s2-relink", D.study("s2-relink", patient: "relink", day: Self.today))
        try Self.put(harness, "Observation", "o-relink", D.adc("o-relink", patient: "relink", study: "s2-relink", day: Self.today))
        for patient in ["recode", "study", "relink"] {
            let identifier = try Self.waitForUpstream(harness, patient: patient, status: "entered-in-error")
            #expect(identifier == identifiers[patient], "\(patient): the same identity is withdrawn")
        }
        #expect(harness.gatewayLog.contains("case withdrawn"))
        let metrics = try harness.plain("/metrics")
        #expect(metrics.contains("fhir_gateway_cases_withdrawn_total 3"), "\(metrics)")
    }

    @Test func aWithdrawalBeforeTheOriginalSendsNothingAndASecondStudyNoSecondAssessment() throws {
        let harness = try DaemonHarness(upstream: [])
        try harness.startGateway()
        defer { harness.stopAll() }
        try Self.put(harness, "ImagingStudy", "s-w", D.study("s-w", patient: "w"))
        try Self.put(harness, "Observation", "o-w", D.adc("o-w", patient: "w", study: "s-w", status: "entered-in-error"))
        try Self.put(harness, "ImagingStudy", "s-two", D.study("s-two", patient: "two"))
        try Self.put(harness, "Observation", "o-two", D.adc("o-two", patient: "two", study: "s-two"))
        _ = try Self.waitForUpstream(harness, patient: "two", status: "final")
        // A second MR study with its own ADC: not the baseline, so no second assessment.
        try Self.put(harness, "ImagingStudy", "s2-two", D.study("s2-two", patient: "two", day: Self.today))
        try Self.put(harness, "Observation", "o2-two", D.adc("o2-two", patient: "two", study: "s2-two", value: "0.6", day: Self.today))
        #expect(try DaemonTests.assessments(harness, patient: "two").count == 1)
        #expect(try DaemonTests.assessments(harness, patient: "w").isEmpty)
        let search = try harness.request("GET", "/fhir/RiskAssessment?subject=Patient/two")
        #expect(search.text.contains("not the patient's baseline"), "\(search.text)")
        // Nothing was ever queued for the withdrawn case, and the other went out once.
        let records = try harness.upstreamRecords()["requests"] as? [[String: Any]] ?? []
        #expect(records.count == 1, "\(records)")
        #expect(Self.upstream(harness, patient: "w").isEmpty)
    }

    @Test func aPreliminaryAssessmentAndItsFinalVersionShareOneIdentityUpstream() throws {
        let harness = try DaemonHarness(upstream: [], extraConfiguration: "cases: {scoreWithoutStudy: true}\n")
        try harness.startGateway()
        defer { harness.stopAll() }
        try Self.put(harness, "Condition", "c", D.condition("c", patient: "pre"))
        try Self.put(harness, "Observation", "o", D.adc("o", patient: "pre", study: nil))
        let preliminary = try Self.waitForUpstream(harness, patient: "pre", status: "preliminary")
        try Self.put(harness, "ImagingStudy", "s", D.study("s", patient: "pre", eligible: false))
        let final = try Self.waitForUpstream(harness, patient: "pre", status: "final")
        #expect(final == preliminary)
        #expect(try DaemonTests.assessments(harness, patient: "pre").count == 1)
    }
}
