import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 16: several gateways on one PostgreSQL (the tests' own, TestSupport's PostgresServer),
/// each the real debug binary, delivering to one test upstream that counts every PUT. What is
/// checked is counted in three places: the answers the senders got, the database (`psql`), and
/// the upstream's record.
@Suite(.serialized) struct HighAvailabilityTests {
    // MARK: - Two gateways, each case split across both

    @Test func twoGatewaysOnOnePostgreSQLScoreEachCaseOnceAndDeliverItOnce() throws {
        let began = Date()
        try withPostgres { server in
            let a = try DaemonHarness(upstream: [], storage: Self.storage(server))
            defer { a.stopAll() }
            let b = try DaemonHarness(storage: Self.storage(server), sharedUpstream: a)
            defer { b.stopAll() }
            let ready = Date()
            // Both start at once on the empty database: one migrates under the advisory lock, the
            // other then finds nothing to do.
            try a.startGateway(waitForLiveness: false)
            try b.startGateway(waitForLiveness: false)
            for gateway in [a, b] {
                try gateway.waitUntil("the gateway answers /livez") { (try? gateway.plain("/livez")) == "ok\n" }
            }

            // Each patient's study and ADC posted at the same moment, one to each gateway (half
            // of the patients the other way round), eight patients at a time.
            let started = Date()
            let patients = (0..<40).map { "ha-\($0)" }
            let refused = Shared<[String]>([])
            Self.parallel(8) { worker in
                for index in stride(from: worker, to: patients.count, by: 8) {
                    let patient = patients[index]
                    let (studyTo, adcTo) = index % 2 == 0 ? (a, b) : (b, a)
                    Self.parallel(2) { part in
                        let answer =
                            part == 0
                            ? try? studyTo.request(
                                "PUT", "/fhir/ImagingStudy/s-\(patient)", body: Data(CaseFixtures.study("s-\(patient)", patient: patient).utf8))
                            : try? adcTo.request(
                                "PUT", "/fhir/Observation/o-\(patient)",
                                body: Data(CaseFixtures.adc("o-\(patient)", patient: patient, study: "s-\(patient)").utf8))
                        if answer.map({ (200..<300).contains($0.status) }) != true {
                            refused.withLock { $0.append("\(patient) part \(part): \(answer?.status ?? 0) \(answer?.text ?? "")") }
                        }
                    }
                }
            }
            #expect(refused.value.isEmpty, "\(refused.value)")
            let posted = Date()

            try a.waitUntil("the upstream holds \(patients.count) assessments", timeout: 30) { a.upstreamResources().count >= patients.count }
            try a.waitUntil("every delivery is recorded as delivered", timeout: 30) {
                (try? server.psql("SELECT count(*) FROM outbox WHERE state <> 'delivered'")) == "0"
            }

            let delivered = Date()

            // The database: one assessment per patient, at version 1, delivered once.
            let assessments = try Self.rows(server, "SELECT subject, identifier, version FROM assessment ORDER BY subject")
            #expect(assessments.count == patients.count, "\(assessments)")
            #expect(Set(assessments.map { $0[0] }) == Set(patients.map { "Patient/\($0)" }))
            #expect(assessments.allSatisfy { $0[2] == "1" }, "a second version: \(assessments.filter { $0[2] != "1" })")
            let identifiers = Set(assessments.map { $0[1] })
            let outbox = try Self.rows(server, "SELECT assessment_identifier, assessment_version, state FROM outbox")
            #expect(outbox.count == patients.count, "one delivery per case: \(outbox)")
            #expect(Set(outbox.map { $0[0] }) == identifiers)
            #expect(outbox.allSatisfy { $0[1] == "1" && $0[2] == "delivered" }, "\(outbox)")

            // The upstream: each identifier PUT exactly once, and it holds one resource per patient.
            let puts = Self.putsByIdentifier(a)
            #expect(Set(puts.keys) == identifiers)
            #expect(puts.values.allSatisfy { $0 == 1 }, "PUT more than once: \(puts.filter { $0.value != 1 })")
            let subjects = a.upstreamResources().values.compactMap { ($0["subject"] as? [String: Any])?["reference"] as? String }
            #expect(subjects.sorted() == patients.map { "Patient/\($0)" }.sorted())

            // Either gateway serves the one assessment of a patient, at version 1 (every fifth
            // patient: the database has shown it for all).
            for (index, patient) in patients.enumerated() where index % 5 == 0 || index % 5 == 1 {
                let gateway = index % 2 == 0 ? b : a
                let found = try DaemonTests.assessments(gateway, patient: patient)
                #expect(found.count == 1, "\(patient): \(found.count) assessments")
                #expect((found.first?["meta"] as? [String: Any])?["versionId"] as? String == "1", "\(patient)")
            }
            let phases = [began, ready, started, posted, delivered, Date()]
            print(
                "HighAvailability split: set-up, start, post, deliver, check: \(zip(phases, phases.dropFirst()).map { String(format: "%.1f", $1.timeIntervalSince($0)) }.joined(separator: " ")) s"
            )
        }
    }

    // MARK: - kill -9 of one gateway, ten times, under load

    @Test func killingOneGatewayTenTimesUnderLoadLosesNothingAndDuplicatesNothing() throws {
        try withPostgres { server in
            // Each PUT is held 0.3 s at the upstream, so that a kill finds deliveries in flight.
            let a = try DaemonHarness(upstream: ["--answer-delay", "0.3"], storage: Self.storage(server))
            defer { a.stopAll() }
            let b = try DaemonHarness(storage: Self.storage(server), sharedUpstream: a)
            defer { b.stopAll() }
            // A lease of 2 × 2 + 30 = 34 s: what a killed gateway's claims wait for.
            let environment = ["DELIVERY_TIMEOUT_SECONDS": "2"]
            try a.startGateway(environment: environment)
            try b.startGateway(environment: environment)
            let survivor = try #require(b.gatewayPID)

            // Whole cases as transactions, alternating between the gateways, four in flight. A
            // request A did not answer (it was killed, or is down) is sent again to B, as a load
            // balancer would: B recognises a resend of what A committed.
            let load = LoadState()
            let finished = DispatchGroup()
            for _ in 0..<4 {
                finished.enter()
                Thread.detachNewThread {
                    defer { finished.leave() }
                    while !load.stop.load(ordering: .relaxed) {
                        let number = load.next.add(1, ordering: .relaxed).oldValue
                        let patient = "k-\(number)"
                        let body = Data(Self.transaction(patient: patient).utf8)
                        var accepted = false
                        if number % 2 == 0 {
                            let answer = try? a.request("POST", "/fhir", body: body)
                            if answer?.status == 200 {
                                accepted = true
                                load.acceptedByA.add(1, ordering: .relaxed)
                            } else {
                                load.log.withLock { $0.unansweredByA.append("\(patient): \(answer?.status ?? 0)") }
                            }
                        }
                        if !accepted {
                            let answer = try? b.request("POST", "/fhir", body: body)
                            accepted = answer?.status == 200
                            if !accepted { load.log.withLock { $0.refusedByB.append("\(patient): \(answer?.status ?? 0) \(answer?.text ?? "")") } }
                        }
                        if accepted { load.log.withLock { $0.accepted.append(patient) } }
                    }
                }
            }

            // Ten times: once A has taken a few cases since its start, kill -9 it, note what it
            // had claimed from the outbox, and start it again.
            var inFlightAtKills: Set<String> = []
            var restartSeconds: [Double] = []
            do {
                defer {
                    load.stop.store(true, ordering: .relaxed)
                    finished.wait()
                }
                for _ in 0..<10 {
                    let before = load.acceptedByA.load(ordering: .relaxed)
                    try a.waitUntil("A takes cases") { load.acceptedByA.load(ordering: .relaxed) >= before + 4 }
                    let pid = try #require(a.gatewayPID)
                    a.killGateway()
                    let claimed = try Self.rows(
                        server, "SELECT assessment_identifier FROM outbox WHERE state = 'pending' AND lease_owner LIKE '%:\(pid):%'")
                    inFlightAtKills.formUnion(claimed.map { $0[0] })
                    let killed = Date()
                    try a.startGateway(environment: environment)
                    restartSeconds.append(Date().timeIntervalSince(killed))
                }
                // A serves again after the last start before the load stops.
                let before = load.acceptedByA.load(ordering: .relaxed)
                try a.waitUntil("A takes cases after its last start") { load.acceptedByA.load(ordering: .relaxed) >= before + 4 }
            }
            let log = load.log.value
            let loadEnded = Date()

            // Drained: what the killed gateway had claimed waits for its lease to expire (34 s).
            try a.waitUntil("nothing is pending in the outbox", timeout: 60) {
                (try? server.psql("SELECT count(*) FROM outbox WHERE state = 'pending'")) == "0"
            }
            let drained = Date()

            // B served throughout.
            #expect(log.refusedByB.isEmpty, "B refused: \(log.refusedByB)")
            #expect(b.gatewayPID == survivor)
            #expect(!log.unansweredByA.isEmpty, "no request was cut off by a kill")
            #expect(!inFlightAtKills.isEmpty, "no kill found a delivery in flight: the lease's expiry was not exercised")

            // Every case that got a 2xx is stored: its patient has an assessment, at version 1.
            let assessments = try Self.rows(server, "SELECT subject, identifier, version FROM assessment")
            let bySubject = Dictionary(grouping: assessments, by: { $0[0] })
            let missing = log.accepted.filter { bySubject["Patient/\($0)"] == nil }
            #expect(missing.isEmpty, "accepted but not stored: \(missing)")
            #expect(bySubject.values.allSatisfy { $0.count == 1 }, "\(bySubject.filter { $0.value.count != 1 })")
            #expect(assessments.allSatisfy { $0[2] == "1" }, "a second version: \(assessments.filter { $0[2] != "1" })")
            #expect(Set(log.accepted).count == log.accepted.count)
            // Nothing stored that no one was told about beyond the cases in flight at the end.
            #expect(assessments.count >= log.accepted.count)

            // Every assessment delivered (one outbox row each, none dead), and the upstream holds
            // exactly one resource per identifier.
            let identifiers = Set(assessments.map { $0[1] })
            let outbox = try Self.rows(server, "SELECT assessment_identifier, state FROM outbox")
            #expect(outbox.count == identifiers.count)
            #expect(outbox.allSatisfy { $0[1] == "delivered" }, "\(outbox.filter { $0[1] != "delivered" })")
            let resources = a.upstreamResources()
            #expect(Set(resources.keys.map(Self.value(ofIdentifier:))) == identifiers)
            #expect(resources.count == identifiers.count)

            // A PUT repeated (the same version: there is only one) only for a delivery a killed
            // gateway had claimed: its lease expired and another gateway sent it again.
            let puts = Self.putsByIdentifier(a)
            #expect(Set(puts.keys) == identifiers)
            let repeated = puts.filter { $0.value > 1 }
            let unexplained = repeated.keys.filter { !inFlightAtKills.contains($0) }
            #expect(unexplained.isEmpty, "PUT more than once without a kill: \(repeated.filter { unexplained.contains($0.key) })")
            print(
                "HighAvailability kill: \(log.accepted.count) cases accepted, \(log.unansweredByA.count) unanswered by A and sent to B, "
                    + "\(inFlightAtKills.count) deliveries claimed by a killed A, \(repeated.count) PUT again after a kill, "
                    + "restarts \(restartSeconds.map { String(format: "%.2f", $0) }.joined(separator: " ")) s, "
                    + "drained \(String(format: "%.1f", drained.timeIntervalSince(loadEnded))) s after the load")
        }
    }

    // MARK: - PostgreSQL down for 30 seconds

    @Test func postgresqlStoppedForThirtySecondsGivesServiceUnavailableThenRecovers() throws {
        try withPostgres { server in
            let gateway = try DaemonHarness(upstream: [], storage: Self.storage(server))
            defer { gateway.stopAll() }
            try gateway.startGateway()
            let pid = try #require(gateway.gatewayPID)

            // Light load: two senders, a case every 0.2 s each.
            let stop = Atomic<Bool>(false)
            let next = Atomic<Int>(0)
            let sent = Shared<[Sent]>([])
            let finished = DispatchGroup()
            for _ in 0..<2 {
                finished.enter()
                Thread.detachNewThread {
                    defer { finished.leave() }
                    while !stop.load(ordering: .relaxed) {
                        let patient = "d-\(next.add(1, ordering: .relaxed).oldValue)"
                        let start = Date()
                        let answer = try? gateway.request("POST", "/fhir", body: Data(Self.transaction(patient: patient).utf8))
                        let record = Sent(
                            patient: patient, start: start, end: Date(), status: answer?.status ?? 0, retryAfter: answer?.headers["retry-after"],
                            resourceType: answer?.json?["resourceType"] as? String, text: answer?.text ?? "")
                        sent.withLock { $0.append(record) }
                        usleep(200_000)
                    }
                }
            }
            func accepted(after date: Date) -> Int { sent.value.filter { $0.start >= date && $0.status == 200 }.count }

            var down = Date()
            var up = Date()
            var recovered = Date()
            do {
                defer {
                    stop.store(true, ordering: .relaxed)
                    finished.wait()
                }
                try gateway.waitUntil("cases are taken") { accepted(after: .distantPast) >= 5 }
                try server.stopServer()
                down = Date()
                try gateway.waitUntil("/readyz says the gateway is not ready", timeout: 15) { (try? gateway.operations("/readyz"))?.status == 503 }
                let readiness = try gateway.operations("/readyz")
                #expect(readiness.text.contains("store"), "\(readiness.text)")
                // The outage lasts 30 s; the process stays up, /livez answers and /readyz says not
                // ready throughout.
                while Date().timeIntervalSince(down) < 30 {
                    #expect(gateway.gatewayPID == pid, "the gateway exited during the outage")
                    #expect((try? gateway.plain("/livez")) == "ok\n")
                    #expect((try? gateway.operations("/readyz"))?.status == 503)
                    usleep(500_000)
                }
                try server.startServer()
                up = Date()
                try gateway.waitUntil("a case is taken again", timeout: 30) { accepted(after: up) >= 1 }
                recovered = sent.value.filter { $0.start >= up && $0.status == 200 }.map(\.end).min() ?? Date()
                try gateway.waitUntil("/readyz says ready again", timeout: 15) { (try? gateway.operations("/readyz"))?.status == 200 }
                try gateway.waitUntil("more cases are taken") { accepted(after: recovered) >= 5 }
            }
            let all = sent.value
            #expect(gateway.gatewayPID == pid)

            // While the database was down: 503, Retry-After, an OperationOutcome, within seconds.
            let during = all.filter { $0.start > down && $0.end < up }
            #expect(during.count >= 5, "only \(during.count) requests during the outage")
            for request in during {
                #expect(request.status == 503, "\(request.patient) during the outage: \(request.status) \(request.text)")
                #expect(request.retryAfter != nil, "\(request.patient): no Retry-After")
                #expect(request.resourceType == "OperationOutcome", "\(request.patient): \(request.text)")
            }
            let slowest = during.map { $0.end.timeIntervalSince($0.start) }.max() ?? 0
            #expect(slowest < 10, "a request during the outage took \(String(format: "%.1f", slowest)) s")
            // After the first success, every request succeeds.
            let after = all.filter { $0.start > recovered }
            #expect(after.allSatisfy { $0.status == 200 }, "\(after.filter { $0.status != 200 }.map { "\($0.patient): \($0.status)" })")

            // Every case that got a 2xx, before, during or after, is stored, with its assessment.
            let acceptedPatients = all.filter { $0.status == 200 }.map(\.patient)
            let studies = Set(try Self.rows(server, "SELECT id FROM resource WHERE type = 'ImagingStudy'").map { $0[0] })
            let subjects = Set(try Self.rows(server, "SELECT subject FROM assessment").map { $0[0] })
            let lost = acceptedPatients.filter { !studies.contains("s-\($0)") || !subjects.contains("Patient/\($0)") }
            #expect(lost.isEmpty, "accepted but not stored: \(lost)")
            // And delivered once the database is back.
            try gateway.waitUntil("nothing is pending in the outbox", timeout: 30) {
                (try? server.psql("SELECT count(*) FROM outbox WHERE state = 'pending'")) == "0"
            }
            #expect(try server.psql("SELECT count(*) FROM outbox WHERE state <> 'delivered'") == "0")
            #expect(gateway.upstreamResources().count == subjects.count)
            print(
                "HighAvailability outage: \(all.count) requests \(Dictionary(grouping: all, by: \.status).mapValues(\.count)), "
                    + "\(during.count) during the outage (\(Dictionary(grouping: during, by: \.status).mapValues(\.count)), "
                    + "\(during.map { String(format: "%.1f", $0.end.timeIntervalSince($0.start)) }.joined(separator: " ")) s), "
                    + "first success \(String(format: "%.1f", recovered.timeIntervalSince(up))) s after the database started")
        }
    }

    // MARK: - Helpers

    /// The `storage:` keys of the test's database (no TLS: it is on loopback). `storage.path`
    /// stays set: the configuration still requires it (the pseudonym key's folder).
    static func storage(_ server: PostgresServer) -> String {
        "kind: postgresql, url: \"\(server.url)\", tls: disable, poolSize: 8"
    }

    /// A whole case as a transaction: the patient's eligible MR study and its ADC.
    static func transaction(patient: String) -> String {
        """
        {"resourceType":"Bundle","type":"transaction","entry":[
        {"resource":\(CaseFixtures.study("s-\(patient)", patient: patient)),"request":{"method":"PUT","url":"ImagingStudy/s-\(patient)"}},
        {"resource":\(CaseFixtures.adc("o-\(patient)", patient: patient, study: "s-\(patient)")),"request":{"method":"PUT","url":"Observation/o-\(patient)"}}]}
        """
    }

    /// The rows of a query, each its columns.
    static func rows(_ server: PostgresServer, _ sql: String) throws -> [[String]] {
        try server.psql(sql).split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    /// `system|value` → value: the assessment's identifier as the store keeps it.
    static func value(ofIdentifier identifier: String) -> String {
        identifier.split(separator: "|", maxSplits: 1).last.map(String.init) ?? identifier
    }

    /// How many PUTs the upstream received for each assessment identifier.
    static func putsByIdentifier(_ harness: DaemonHarness) -> [String: Int] {
        let requests = (try? harness.upstreamRecords())?["requests"] as? [[String: Any]] ?? []
        var counts: [String: Int] = [:]
        for request in requests where request["method"] as? String == "PUT" {
            counts[value(ofIdentifier: request["identifier"] as? String ?? ""), default: 0] += 1
        }
        return counts
    }

    /// Runs `body(0)` … `body(count - 1)` each on a thread of its own, and waits for all.
    static func parallel(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            Thread.detachNewThread {
                body(index)
                group.leave()
            }
        }
        group.wait()
    }

    /// One request of the outage test's load.
    struct Sent: Sendable {
        var patient: String
        var start: Date
        var end: Date
        var status: Int
        var retryAfter: String?
        var resourceType: String?
        var text: String
    }

    /// The kill test's load: its counters and what the senders were told.
    final class LoadState: Sendable {
        struct Log: Sendable {
            /// Patients whose case got a 2xx (from A, or from B after A did not answer).
            var accepted: [String] = []
            var unansweredByA: [String] = []
            var refusedByB: [String] = []
        }
        let stop = Atomic<Bool>(false)
        let next = Atomic<Int>(0)
        let acceptedByA = Atomic<Int>(0)
        let log = Shared(Log())
    }
}

/// A value shared by threads.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value { mutex.withLock { $0 } }
    func withLock<T>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}
