import CaseProcessing
import FHIRCore
import FHIRModels
import FHIRProfiles
import Foundation
import RiskModel
import Storage
import TestSupport
import Testing

/// Case processing in-process against a real, temporary SQLite store: what each request stores,
/// the versions and withdrawals it queues, and the reasons it records when a case is held.
@Suite struct CaseProcessorTests {
    static let codes: FeatureCodes = {
        do {
            return try FeatureCodes(valueSets: Fixtures.valueSetFiles().compactMap { FHIRReader().read($0).resource })
        } catch {
            fatalError("the Profiles ValueSets do not load: \(error)")
        }
    }()

    static let parameters: ModelParameters = {
        let url = Fixtures.packageRoot.appendingPathComponent("Config/models/sheng2022.yaml")
        do {
            return try ModelParameters(yaml: String(contentsOf: url, encoding: .utf8))
        } catch {
            fatalError("the model file does not load: \(error)")
        }
    }()

    static let conformance: ConformancePackage = {
        do {
            return try ConformancePackage(resources: Fixtures.profileFiles().compactMap { FHIRReader().read($0).resource }, compile: FHIRPathInvariants.compile)
        } catch {
            fatalError("the Profiles folder does not compile: \(error)")
        }
    }()

    /// A processor on a fresh store in a temporary folder (removed when the test ends).
    final class Bench: @unchecked Sendable {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("case-processing-\(UUID().uuidString)")
        let store: SQLiteStore
        let processor: CaseProcessor
        /// The requests arrive a day after the study.
        var now = Date(timeIntervalSince1970: 1_772_532_000)

        init(policy: CasePolicy = CasePolicy(), conformance: ConformancePackage = CaseProcessorTests.conformance) async throws {
            store = try SQLiteStore(path: folder.appendingPathComponent("gateway.sqlite").path)
            processor = CaseProcessor(
                codes: CaseProcessorTests.codes, parameters: CaseProcessorTests.parameters, policy: policy, conformance: conformance)
            try await store.migrate()
        }

        deinit { try? FileManager.default.removeItem(at: folder) }

        /// One request of these resources (JSON), in one transaction.
        func send(_ resources: String...) async throws -> CaseProcessor.Outcome {
            let items = try resources.map { json in
                let node = try #require(FHIRReader().read(Array(json.utf8)).resource, "not FHIR: \(json)")
                return CaseProcessor.Incoming(resource: node, path: node.type.name)
            }
            let processor = processor
            let now = now
            let outcome = try await store.write { transaction in try processor.ingest(items, in: transaction, now: now) }
            return outcome
        }

        func assessments() async throws -> [StoredAssessment] { try await store.assessments(subject: "Patient/p1") }
        func pending() async throws -> [OutboxItem] { try await store.outbox(state: .pending, since: nil, limit: 100) }
    }

    static let condition = #"""
        {"resourceType":"Condition","id":"icca","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"C22.1"}]},"subject":{"reference":"Patient/p1"}}
        """#

    static func study(_ id: String = "mri-1", uid: String = "urn:oid:1.2.3.1", started: String = "2026-03-02T09:15:00Z", status: String = "available")
        -> String
    {
        #"""
        {"resourceType":"ImagingStudy","id":"\#(id)","identifier":[{"system":"urn:dicom:uid","value":"\#(uid)"}],"status":"\#(status)","modality":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"MR"}],"subject":{"reference":"Patient/p1"},"started":"\#(started)"}
        """#
    }

    static func adc(_ value: String = "0.8", status: String = "final", study: String? = "mri-1", code: String = "113041", unit: String = "10*-3.mm2/s")
        -> String
    {
        let link = study.map { #","derivedFrom":[{"reference":"ImagingStudy/\#($0)"}]"# } ?? ""
        return #"""
            {"resourceType":"Observation","id":"adc","status":"\#(status)","code":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"\#(code)"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-03-02T09:15:00Z","bodySite":{"coding":[{"system":"http://snomed.info/sct","code":"10200004"}]},"valueQuantity":{"value":\#(value),"system":"http://unitsofmeasure.org","code":"\#(unit)"}\#(link)}
            """#
    }

    static func status(_ stored: StoredAssessment?) -> String? { stored?.status }

    @Test func aCompleteCaseIsStoredScoredAndQueuedOnce() async throws {
        let bench = try await Bench()
        let outcome = try await bench.send(Self.condition, Self.study(), Self.adc())
        #expect(outcome.stored.count == 3)
        #expect(outcome.scored.count == 1)
        let stored = try #require(try await bench.assessments().first)
        #expect(stored.status == "final" && stored.version == 1)
        #expect(stored.caseKey?.hasSuffix("|Patient/p1|urn:oid:1.2.3.1") == true)
        #expect(try await bench.pending().count == 1)
        #expect(try await bench.store.held(subject: "Patient/p1") == nil)
        // The same facts again: nothing new.
        #expect(try await bench.send(Self.adc()).scored.isEmpty)
        #expect(try await bench.pending().count == 1)
    }

    @Test func aHeldCaseKeepsItsReasonUntilTheEvidenceArrives() async throws {
        let bench = try await Bench()
        _ = try await bench.send(Self.adc(study: nil))
        #expect(try await bench.store.held(subject: "Patient/p1")?.reasons.first?.contains("Waiting for the MR ImagingStudy") == true)
        _ = try await bench.send(Self.study())
        #expect(try await bench.store.held(subject: "Patient/p1")?.reasons.first?.hasPrefix("Not eligible") == true)
        #expect(try await bench.assessments().isEmpty)
        let outcome = try await bench.send(Self.condition)
        #expect(outcome.scored.count == 1)
        #expect(try await bench.store.held(subject: "Patient/p1") == nil)
        #expect(try await bench.store.heldCases(limit: 10).isEmpty)
    }

    @Test func aReCodedADCIsWithdrawnUpstreamUnderItsIdentity() async throws {
        let bench = try await Bench()
        _ = try await bench.send(Self.condition, Self.study(), Self.adc())
        let first = try #require(try await bench.assessments().first)
        let outcome = try await bench.send(Self.adc(code: "999999"))
        let withdrawn = try #require(outcome.changed.first)
        #expect(withdrawn.identifier == first.identifier)
        #expect(withdrawn.status == "entered-in-error" && withdrawn.version == 2)
        // Withdrawn once: the same facts again change nothing.
        #expect(try await bench.send(Self.adc(code: "999999")).scored.isEmpty)
        // Coded back: the case yields its assessment again, amended.
        let back = try #require(try await bench.send(Self.adc()).changed.first)
        #expect(back.identifier == first.identifier && back.status == "amended" && back.version == 3)
    }

    @Test func aWithdrawalBeforeTheOriginalSendsNothing() async throws {
        let bench = try await Bench()
        let outcome = try await bench.send(Self.condition, Self.study(), Self.adc(status: "entered-in-error"))
        #expect(outcome.scored.isEmpty)
        #expect(try await bench.assessments().isEmpty)
        #expect(try await bench.pending().isEmpty)
        #expect(try await bench.store.held(subject: "Patient/p1")?.reasons.first?.contains("withdrawn") == true)
    }

    @Test func aWithdrawnStudyWithdrawsItsAssessment() async throws {
        let bench = try await Bench()
        _ = try await bench.send(Self.condition, Self.study(), Self.adc())
        let withdrawn = try #require(try await bench.send(Self.study(status: "entered-in-error")).changed.first)
        #expect(withdrawn.status == "entered-in-error")
        #expect(try await bench.pending().count == 1, "the undelivered final version is superseded by its withdrawal")
    }

    @Test func aPreliminaryAssessmentBecomesFinalUnderOneIdentity() async throws {
        let bench = try await Bench(policy: CasePolicy(scoreWithoutStudy: true))
        let preliminary = try #require(try await bench.send(Self.condition, Self.adc(study: nil)).changed.first)
        #expect(preliminary.status == "preliminary")
        let final = try #require(try await bench.send(Self.study()).changed.first)
        #expect(final.identifier == preliminary.identifier)
        #expect(final.status == "final" && final.version == 2)
        // The next request finds the case by its stored key: no withdrawal, no second identity.
        #expect(try await bench.send(Self.adc("0.81", study: nil)).changed.map(\.identifier) == [preliminary.identifier])
        #expect(try await bench.assessments().count == 1)
    }

    @Test func aSecondStudyMakesNoSecondAssessment() async throws {
        let bench = try await Bench()
        _ = try await bench.send(Self.condition, Self.study(), Self.adc())
        bench.now = Date(timeIntervalSince1970: 1_777_800_000)
        let followUp = Self.study("mri-2", uid: "urn:oid:1.2.3.2", started: "2026-05-02T09:15:00Z")
        let secondADC = Self.adc("0.6", study: "mri-2").replacingOccurrences(of: #""id":"adc""#, with: #""id":"adc-2""#)
        let outcome = try await bench.send(followUp, secondADC)
        #expect(outcome.scored.isEmpty)
        #expect(try await bench.assessments().count == 1)
        #expect(try await bench.store.held(subject: "Patient/p1")?.reasons.contains { $0.contains("not the patient's baseline") } == true)
    }

    @Test func aWrongValueIsRefusedAndLeavesNothingBehind() async throws {
        let bench = try await Bench()
        await #expect(throws: CaseInputError.self) {
            _ = try await bench.send(Self.condition, Self.study(), Self.adc(unit: "mm2/ms"))
        }
        #expect(try await bench.store.statistics().assessments == 0)
        #expect(try await bench.store.held(subject: "Patient/p1") == nil)
    }
}
