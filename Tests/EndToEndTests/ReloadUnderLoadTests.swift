import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A reload swaps the configuration between two requests, never inside one: every answer is
/// consistent with one configuration, however often the daemon reloads while it serves.
@Suite(.serialized) struct ReloadUnderLoadTests {
    @Test func underContinuousReloadsEveryAnswerComesFromOneConfiguration() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        defer { harness.stopAll() }
        // Two configurations that each request can tell apart: A takes Bundles of at most 3
        // entries and scores with model version 1; B takes 100 and scores with version 2. A
        // 4-entry Bundle accepted and scored with version 1 would be a mix of the two.
        let model = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("Config/models/sheng2022.yaml"), encoding: .utf8)
        try model.replacingOccurrences(of: "version: \"1\"", with: "version: \"2\"").write(
            toFile: harness.path("model-v2.yaml"), atomically: true, encoding: .utf8)
        let base = try String(contentsOfFile: harness.path("gateway.yaml"), encoding: .utf8)
        let configurationA = base + "limits: {maxBundleEntries: 3}\n"
        let configurationB =
            base.replacingOccurrences(
                of: Fixtures.packageRoot.appendingPathComponent("Config/models/sheng2022.yaml").path, with: harness.path("model-v2.yaml"))
            + "limits: {maxBundleEntries: 100}\n"
        try configurationA.write(toFile: harness.path("gateway.yaml"), atomically: true, encoding: .utf8)
        try harness.startGateway()
        let pid = try #require(harness.gatewayPID)

        // Reload every 40 ms, alternating A and B, while Bundles are sent one after another. The
        // reloads run on a thread of their own: the requests below block theirs.
        let stop = Atomic<Bool>(false)
        let reloads = Atomic<Int>(0)
        let finished = DispatchSemaphore(value: 0)
        let path = harness.path("gateway.yaml")
        Thread.detachNewThread {
            var count = 0
            while !stop.load(ordering: .relaxed) {
                try? (count % 2 == 0 ? configurationB : configurationA).write(toFile: path, atomically: true, encoding: .utf8)
                kill(pid, SIGHUP)
                count += 1
                reloads.store(count, ordering: .relaxed)
                usleep(40_000)
            }
            finished.signal()
        }
        var accepted: [String: Int] = [:]
        var refused = 0
        for i in 0..<80 {
            let patient = "p-reload-\(i)"
            let bundle = """
                {"resourceType":"Bundle","type":"transaction","entry":[
                {"resource":\(CaseFixtures.condition("c-\(i)", patient: patient)),"request":{"method":"PUT","url":"Condition/c-\(i)"}},
                {"resource":\(CaseFixtures.study("s-\(i)", patient: patient)),"request":{"method":"PUT","url":"ImagingStudy/s-\(i)"}},
                {"resource":\(CaseFixtures.adc("o-\(i)", patient: patient, study: "s-\(i)")),"request":{"method":"PUT","url":"Observation/o-\(i)"}},
                {"resource":{"resourceType":"Patient","id":"\(patient)"},"request":{"method":"PUT","url":"Patient/\(patient)"}}]}
                """
            let answer = try harness.request("POST", "/fhir", body: Data(bundle.utf8))
            if answer.status == 200 {
                let found = try harness.request("GET", "/fhir/RiskAssessment?subject=Patient/\(patient)")
                let text = found.text
                let version = text.contains("model version 2") ? "2" : text.contains("model version 1") ? "1" : "none"
                accepted[version, default: 0] += 1
            } else {
                #expect(answer.status == 413 && answer.text.contains("more than the limit of 3"), "\(answer.status): \(answer.text)")
                refused += 1
            }
        }
        stop.store(true, ordering: .relaxed)
        finished.wait()
        let count = reloads.load(ordering: .relaxed)
        // Both configurations served, and no accepted 4-entry Bundle was scored under A's model.
        #expect(count > 20)
        #expect(refused > 0, "no request was served under A (\(accepted))")
        #expect(accepted["2", default: 0] > 0, "no request was served under B (refused \(refused))")
        #expect(accepted["1", default: 0] == 0, "\(accepted["1", default: 0]) answers mixed A's model with B's limit")
        #expect(accepted["none", default: 0] == 0, "accepted without an assessment: \(accepted)")
        #expect(harness.gatewayPID == pid)
    }
}
