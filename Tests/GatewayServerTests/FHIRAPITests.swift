import Foundation
import Hummingbird
import Storage
import TestSupport
import Testing

@testable import GatewayServer

/// The FHIR API's answers, in process: transactions and their entries' URLs, messages, gzip
/// bodies, refusals that leave nothing behind, and decisions that change nothing.
@Suite struct FHIRAPITests {
    static func transaction(_ entries: [(resource: String, method: String, url: String)]) -> String {
        let items = entries.map { #"{"resource":\#($0.resource),"request":{"method":"\#($0.method)","url":"\#($0.url)"}}"# }
        return #"{"resourceType":"Bundle","type":"transaction","entry":[\#(items.joined(separator: ","))]}"#
    }

    @Test func transactionEntriesFollowTheirRequestURL() async throws {
        let gateway = try await InProcessGateway()
        let adc = CaseFixtures.adc("aaa", patient: "tx", study: nil)
        let refusals: [(String, String, String)] = [
            (Self.transaction([(adc, "PUT", "Observation/bbb")]), "Bundle.entry[0].resource.id", "not the id in the entry's URL"),
            (Self.transaction([(adc, "PUT", "ImagingStudy/aaa")]), "Bundle.entry[0].request.url", "is for type ImagingStudy, but its resource is of type Observation"),
            (Self.transaction([(adc, "PUT", "Observation/aaa"), (adc, "PUT", "Observation/aaa")]), "Bundle.entry[1].request.url", "appears twice"),
            (Self.transaction([(adc, "POST", "ImagingStudy")]), "Bundle.entry[0].request.url", "cannot create this resource of type Observation"),
        ]
        for (body, expression, words) in refusals {
            let answer = try await gateway.request(.post, "/fhir", json: body)
            #expect(answer.status == .badRequest, "\(answer.text)")
            #expect(answer.firstIssue.expression == [expression], "\(answer.text)")
            #expect(answer.firstIssue.diagnostics?.contains(words) == true, "\(answer.text)")
        }
        #expect(try await gateway.store.statistics().pending == 0)
        // The URL's id is the stored one; a POST gets a new id whatever the body says.
        let accepted = try await gateway.request(
            .post, "/fhir", json: Self.transaction([(adc, "PUT", "Observation/aaa"), (CaseFixtures.study("s9", patient: "tx"), "POST", "ImagingStudy")]))
        #expect(accepted.status == .ok, "\(accepted.text)")
        let locations = (accepted.json?["entry"] as? [[String: Any]] ?? []).compactMap { ($0["response"] as? [String: Any])?["location"] as? String }
        #expect(locations.first == "Observation/aaa/_history/1")
        #expect(locations.last?.hasPrefix("ImagingStudy/") == true && locations.last?.hasPrefix("ImagingStudy/s9/") == false, "\(locations)")
        // A collection is no transaction: the answer is what was stored, as an OperationOutcome.
        let collection =
            #"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:77777777-7777-4777-8777-777777777777","resource":\#(CaseFixtures.condition("cx", patient: "tx"))}]}"#
        let stored = try await gateway.request(.post, "/fhir", json: collection)
        #expect(stored.status == .ok)
        #expect(stored.json?["resourceType"] as? String == "OperationOutcome", "\(stored.text)")
        #expect(stored.text.contains("Stored as Condition/cx/_history/1"))
        // The searchset's fullUrls are absolute, on the authority the client reached, as R4 asks.
        let search = try await gateway.request(.get, "/fhir/RiskAssessment?subject=Patient/tx")
        let fullUrl = (search.json?["entry"] as? [[String: Any]])?.first?["fullUrl"] as? String
        #expect(fullUrl?.hasPrefix("https://127.0.0.1:8443/fhir/RiskAssessment/") == true, "\(search.text)")
    }

    @Test func moreFactsThatChangeNothingLeaveTheAssessmentAtItsVersion() async throws {
        let gateway = try await InProcessGateway()
        #expect(try await gateway.request(.put, "/fhir/ImagingStudy/vs", json: CaseFixtures.study("vs", patient: "pv")).status == .created)
        let adc = CaseFixtures.adc("vo", patient: "pv", study: "vs")
        #expect(try await gateway.request(.put, "/fhir/Observation/vo", json: adc).status == .created)
        func version() async throws -> String? {
            let assessment = try await gateway.assessments(patient: "pv").first
            return (assessment?["meta"] as? [String: Any])?["versionId"] as? String
        }
        #expect(try await version() == "1")
        // An Observation of another day that the model does not use, and the same ADC asked for
        // in XML (a new request, not a resend): the case is decided again, its content is the same.
        let other = CaseFixtures.adc("vx", patient: "pv", study: nil, code: "999999", day: "2020-01-01")
        #expect(try await gateway.request(.put, "/fhir/Observation/vx", json: other).status == .created)
        #expect(try await gateway.request(.put, "/fhir/Observation/vo", json: adc, headers: [.accept: "application/fhir+xml"]).status == .created)
        #expect(try await version() == "1")
        #expect(try await gateway.store.statistics().assessments == 1)
    }

    @Test func aRefusedMessageGetsAFatalErrorResponseMessage() async throws {
        let gateway = try await InProcessGateway()
        let message = #"""
            {"resourceType":"Bundle","type":"message","entry":[
             {"fullUrl":"urn:uuid:55555555-5555-4555-8555-555555555555","resource":{"resourceType":"MessageHeader","id":"m-bad","eventUri":"urn:example:mri-findings","source":{"endpoint":"urn:engine"}}},
             {"fullUrl":"urn:uuid:66666666-6666-4666-8666-666666666666","resource":\#(CaseFixtures.adc("mb", patient: "mb", study: nil, unit: nil))}]}
            """#
        let response = try await gateway.request(.post, "/fhir/$process-message", json: message)
        #expect(response.status == .unprocessableContent, "\(response.text)")
        let entries = response.json?["entry"] as? [[String: Any]] ?? []
        let header = entries.first?["resource"] as? [String: Any]
        #expect((header?["response"] as? [String: Any])?["code"] as? String == "fatal-error")
        #expect((header?["response"] as? [String: Any])?["identifier"] as? String == "m-bad")
        #expect(entries.contains { ($0["resource"] as? [String: Any])?["resourceType"] as? String == "OperationOutcome" })
        #expect(response.text.contains("Bundle.entry[1].resource.valueQuantity.code"), "the ADC profile refuses an ADC without a UCUM unit code")
    }

    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-c"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        // Written from another thread: gzip writes while it reads, and a full pipe would block both.
        let writer = Thread {
            input.fileHandleForWriting.write(Data(bytes))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let compressed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(compressed)
    }

    @Test func gzipBodiesAreReadAndBombsRefused() async throws {
        let gateway = try await InProcessGateway()
        let study = try Self.gzip(Array(CaseFixtures.study("gz", patient: "gz").utf8))
        let accepted = try await gateway.request(.put, "/fhir/ImagingStudy/gz", body: study, headers: [.contentEncoding: "gzip"])
        #expect(accepted.status == .created, "\(accepted.text)")
        // 20 MB of spaces compress to about 20 KB: refused by the cap on the decompressed size.
        let bomb = try Self.gzip([UInt8](repeating: UInt8(ascii: " "), count: 20 * 1_048_576))
        #expect(bomb.count < 100_000)
        let refused = try await gateway.request(.post, "/fhir/Observation", body: bomb, headers: [.contentEncoding: "gzip"])
        #expect(refused.status == .contentTooLarge, "\(refused.text)")
        let corrupt = try await gateway.request(.post, "/fhir/Observation", body: Array(study.prefix(20)), headers: [.contentEncoding: "gzip"])
        #expect(corrupt.status == .badRequest, "\(corrupt.text)")
        #expect(corrupt.text.contains("not valid gzip"))
        #expect(try await gateway.request(.post, "/fhir/Observation", body: Array("x".utf8), headers: [.contentEncoding: "br"]).status == .unsupportedMediaType)
    }

    @Test func refusedInputLeavesNothingBehind() async throws {
        let gateway = try await InProcessGateway()
        let noUnit = try await gateway.request(.put, "/fhir/Observation/o", json: CaseFixtures.adc("o", patient: "n", study: "s", unit: nil))
        #expect(noUnit.status == .unprocessableContent, "\(noUnit.text)")
        #expect(noUnit.text.contains("Observation.valueQuantity.code"), "the ADC profile refuses an ADC without a UCUM unit code")
        let broken = try await gateway.request(.post, "/fhir/Observation", json: #"{"resourceType":"Observation","status":"final""#)
        #expect(broken.status == .badRequest)
        #expect(broken.json?["resourceType"] as? String == "OperationOutcome")
        let wrongType = try await gateway.request(.post, "/fhir/Observation", json: CaseFixtures.study("s", patient: "n"))
        #expect(wrongType.status == .badRequest)
        // The study arrives: had the refused ADC been stored, this would score.
        #expect(try await gateway.request(.put, "/fhir/ImagingStudy/s", json: CaseFixtures.study("s", patient: "n")).status == .created)
        #expect(try await gateway.assessments(patient: "n").isEmpty)
        #expect(try await gateway.store.statistics().pending == 0)
        // A transaction with an entry the gateway cannot carry out (a DELETE): refused whole, so
        // its good ADC for the same case is not stored either.
        let withDelete = #"""
            {"resourceType":"Bundle","type":"transaction","entry":[
             {"resource":\#(CaseFixtures.adc("nb", patient: "n", study: "s")),"request":{"method":"PUT","url":"Observation/nb"}},
             {"request":{"method":"DELETE","url":"Observation/o"}}]}
            """#
        let deleteRefused = try await gateway.request(.post, "/fhir", json: withDelete)
        #expect(deleteRefused.status == .unprocessableContent, "\(deleteRefused.text)")
        #expect(deleteRefused.text.contains("Bundle.entry[1]"))
        #expect(try await gateway.assessments(patient: "n").isEmpty)
        let tooLarge = try await gateway.request(.post, "/fhir/Observation", body: [UInt8](repeating: UInt8(ascii: " "), count: 2 * 1_048_576))
        #expect(tooLarge.status == .contentTooLarge)
    }

    @Test func negotiationRefusesWhatFHIRDoesNotUseWithTheRightStatus() async throws {
        let gateway = try await InProcessGateway()
        let study = CaseFixtures.study("ng", patient: "ng")
        let wrongType = try await gateway.request(.put, "/fhir/ImagingStudy/ng", body: Array(study.utf8), headers: [.contentType: "text/plain"])
        #expect(wrongType.status == .unsupportedMediaType)
        #expect(wrongType.firstIssue.diagnostics?.contains("text/plain") == true, "\(wrongType.text)")
        let notAcceptable = try await gateway.request(.get, "/fhir/metadata", headers: [.accept: "text/html"])
        #expect(notAcceptable.status == .notAcceptable)
        let xml = try await gateway.request(.get, "/fhir/metadata?_format=xml")
        #expect(xml.status == .ok)
        #expect(xml.headers[.contentType]?.hasPrefix("application/fhir+xml") == true)
        #expect(xml.text.contains("<CapabilityStatement"))
        let unknown = try await gateway.request(.get, "/fhir/Medication/1")
        #expect(unknown.status == .notFound || unknown.status == .methodNotAllowed, "\(unknown.text)")
        #expect(unknown.json?["resourceType"] as? String == "OperationOutcome", "\(unknown.text)")
    }
}
