import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// SIGTERM while deliveries are in flight: within `delivery.drainSeconds` they finish, or they are
/// cancelled and stay pending, and the next start delivers them; nothing is lost or duplicated.
@Suite(.serialized) struct DeliveryDrainTests {
    /// Posts `count` cases and waits until the upstream has received a PUT for each (each held
    /// there for the upstream's answer delay).
    static func casesInFlight(_ harness: DaemonHarness, count: Int, prefix: String) throws {
        for n in 0..<count {
            let patient = "\(prefix)\(n)"
            #expect(try harness.request("PUT", "/fhir/ImagingStudy/s\(patient)", body: Data(CaseFixtures.study("s\(patient)", patient: patient).utf8)).status == 201)
            #expect(try harness.request("PUT", "/fhir/Observation/o\(patient)", body: Data(CaseFixtures.adc("o\(patient)", patient: patient, study: "s\(patient)").utf8)).status == 201)
        }
        try harness.waitUntil("\(count) deliveries in flight") { ((try? harness.upstreamRecords())?["requests"] as? [Any])?.count == count }
    }

    @Test func deliveriesInFlightAtSIGTERMFinishWithinTheDrain() throws {
        let harness = try DaemonHarness(upstream: ["--answer-delay", "1"])
        try harness.startGateway(environment: ["DELIVERY_DRAIN_SECONDS": "10"])
        defer { harness.stopAll() }
        try Self.casesInFlight(harness, count: 3, prefix: "f")
        harness.signalGateway(SIGTERM)
        #expect(try harness.waitForGatewayExit() == 0)
        #expect(harness.gatewayLog.contains("msg=\"delivery stopped\" deliveries.cancelled=0 outbox.pending=0"), "\(harness.gatewayLog.suffix(1500))")
        #expect(harness.upstreamResources().count == 3)
    }

    @Test func deliveriesStillInFlightAtTheDrainsEndStayPendingAndGoOutOnceAfterTheRestart() throws {
        let harness = try DaemonHarness(upstream: ["--answer-delay", "4"])
        try harness.startGateway(environment: ["DELIVERY_DRAIN_SECONDS": "0.5"])
        defer { harness.stopAll() }
        try Self.casesInFlight(harness, count: 3, prefix: "c")
        let signalled = Date()
        harness.signalGateway(SIGTERM)
        #expect(try harness.waitForGatewayExit() == 0)
        // Stopped at the drain's end, not after the upstream's four seconds.
        #expect(Date().timeIntervalSince(signalled) < 3.5, "\(harness.gatewayLog.suffix(3000))")
        #expect(harness.gatewayLog.contains("msg=\"delivery stopped\" deliveries.cancelled=3 outbox.pending=3"), "\(harness.gatewayLog.suffix(1500))")
        #expect(try harness.outbox(["list", "--state", "pending"]).split(separator: "\n").count == 4, "a header and three pending")

        try harness.startGateway()
        try harness.waitForEmptyOutbox()
        // Each case's assessment once upstream (the conditional update makes the resend an update).
        #expect(harness.upstreamResources().count == 3)
        #expect(try harness.outbox(["list", "--state", "dead"]).split(separator: "\n").count == 1, "only the header line")
    }
}
