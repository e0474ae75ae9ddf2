import FHIRCore
import FHIRModels
import Foundation
import RiskModel
import Storage

/// Stores incoming resources and re-scores the cases they belong to, inside the request's one
/// transaction: the facts, the case update and the outbox entry commit together or not at all.
///
/// A class: it is immutable and read by every request, and holds the model's codes and numbers.
final class CaseProcessor: Sendable {
    let codes: FeatureCodes
    let parameters: ModelParameters
    let scoreWithoutStudy: Bool

    init(codes: FeatureCodes, parameters: ModelParameters, scoreWithoutStudy: Bool) {
        self.codes = codes
        self.parameters = parameters
        self.scoreWithoutStudy = scoreWithoutStudy
    }

    /// A refusal of the input: an OperationOutcome with 4xx; the transaction rolls back.
    struct Refusal: Error {
        var status: Int
        var issues: [FHIRIssue]
    }

    /// One resource to store, with the id it is stored under. Its JSON and typed model are made
    /// when it is created, in the request's own task: the store's transactions run one after
    /// another on one writer, so everything done before them is off the gateway's serial path.
    ///
    /// A class, so that handing it around does not copy (and retain everything inside) the model.
    final class Incoming: Sendable {
        let resource: FHIRNode
        /// The FHIRPath of the resource in the request, for issues.
        let path: String
        /// The resource as it is stored.
        let json: [UInt8]
        /// The resource as the risk model reads it, under its path in the request (so the model's
        /// issues point into the request); nil when the tree makes no typed model (then the
        /// transaction tries again and reports why).
        let entry: CaseResources.Entry?
        let id: String?
        /// `Type/id`.
        let key: String
        /// The patient it is about, as stored (a Patient is its own).
        let subject: String?

        init(resource: FHIRNode, path: String) {
            self.resource = resource
            self.path = path
            json = FHIRJSONWriter().write(resource)
            entry = (try? AnyResource(node: resource)).map { CaseResources.Entry(resource: $0, path: path, fullUrl: nil, node: resource) }
            let type = resource.type.name
            id = resource.value(of: "id")
            key = "\(type)/\(id ?? "")"
            subject = type == "Patient" ? id.map { "Patient/\($0)" } : resource.child(named: "subject")?.value(of: "reference")
        }
    }

    struct Outcome {
        /// The resources as stored, with their ids, versions and JSON.
        var stored: [(type: String, id: String, version: Int, resource: FHIRNode, json: [UInt8])]
        /// Assessments that got a new version (and were queued for delivery).
        var scored: [ScoredCase]
        var changed: [StoredAssessment] { scored.map(\.assessment) }
    }

    /// A new version of a case's RiskAssessment, with what the log and the metrics may say of it.
    struct ScoredCase: Sendable {
        var assessment: StoredAssessment
        var stratum: ADCScore.Stratum
        var risk: ADCScore.QualitativeRisk
    }

    static let accepted = Set(GatewayAPI.inputTypes)

    func ingest(_ incoming: [Incoming], in transaction: any StoreTransaction, now: Date) throws -> Outcome {
        var stored: [(type: String, id: String, version: Int, resource: FHIRNode, json: [UInt8])] = []
        var subjects: [String] = []
        for item in incoming {
            let type = item.resource.type.name
            guard Self.accepted.contains(type) else {
                throw Refusal(
                    status: 422,
                    issues: [
                        FHIRIssue(
                            severity: .error,
                            code: .notSupported,
                            diagnostics: "The gateway takes Observation, ImagingStudy and Patient resources, not \(type)",
                            expression: item.path
                        )
                    ]
                )
            }
            guard let id = item.id else {
                throw Refusal(
                    status: 422, issues: [FHIRIssue(severity: .error, code: .required, diagnostics: "The resource has no id", expression: item.path)])
            }
            let version = try transaction.upsert(type: type, id: id, subject: item.subject, json: item.json)
            stored.append((type, id, version, item.resource, item.json))
            if let subject = item.subject, type != "Patient", !subjects.contains(subject) { subjects.append(subject) }
        }

        var scored: [ScoredCase] = []
        for subject in subjects {
            scored += try rescore(subject: subject, incoming: incoming, in: transaction, now: now)
        }
        return Outcome(stored: stored, scored: scored)
    }

    /// Scores every case of a patient from what the store holds, and stores the assessments whose
    /// content changed as new versions.
    func rescore(subject: String, incoming: [Incoming], in transaction: any StoreTransaction, now: Date) throws -> [ScoredCase] {
        let reader = FHIRReader()
        var entries: [CaseResources.Entry] = []
        // What this request brought is stored exactly as its tree and typed model: use them, not a re-read.
        var brought: [String: Incoming] = [:]
        for item in incoming { brought[item.key] = item }
        for resource in try transaction.resources(subject: subject) {
            if let item = brought["\(resource.type)/\(resource.id)"] {
                entries.append(
                    try item.entry
                        ?? CaseResources.Entry(resource: AnyResource(node: item.resource), path: item.path, fullUrl: nil, node: item.resource))
            } else if let node = reader.read(resource.json, format: .json, validate: false).resource {
                entries.append(CaseResources.Entry(resource: try AnyResource(node: node), path: "stored[\(entries.count)]", fullUrl: nil, node: node))
            }
        }
        let resources = CaseResources(entries: entries)
        let extraction = FeatureExtractor(codes: codes, parameters: parameters).extract(from: resources)
        // Errors about what this request brought (an ADC without a unit, an implausible value)
        // refuse the request; their paths are the request's own. Errors about resources stored
        // earlier (`stored[2].valueQuantity`, possible once a reload changed the model or the
        // ValueSets) do not: they must not block every later request for the patient.
        let refusals = extraction.issues.filter {
            $0.isError && $0.code != .notFound && $0.code != .incomplete && $0.expression?.hasPrefix("stored[") != true
        }
        if !refusals.isEmpty { throw Refusal(status: 422, issues: refusals) }

        let model = ADCLogisticModel(parameters: parameters)
        let builder = RiskAssessmentBuilder(parameters: parameters)
        // Formatted only when a case is scored: most requests (an ADC before its study) score none.
        var assessedAt: FHIRDateTime?
        var changed: [ScoredCase] = []
        for features in extraction.cases {
            if features.status == .preliminary, !scoreWithoutStudy { continue }
            if assessedAt == nil { assessedAt = FHIRDateTime(fhirText: Self.timestamp(now)) }
            guard let assessedAt else { return [] }
            let score = model.score(adc: features.adc)
            var assessment = builder.build(features, score: score, assessedAt: assessedAt)
            guard let identifier = assessment.identifier.first?.value?.value else { continue }
            let id = Self.logicalID(identifier)
            let previous = try transaction.assessment(identifier: identifier)
            if let previous, let stored = reader.read(previous.json, format: .json, validate: false).resource,
                var comparable = try? RiskAssessment(resource: stored)
            {
                // Unchanged unless the content differs: not the time, the gateway's id and
                // version, or `amended` (what a re-scored `final` is stored as).
                comparable.occurrence = assessment.occurrence
                comparable.meta = assessment.meta
                comparable.id = nil
                if comparable.status.value == "amended", assessment.status.value == "final" { comparable.status = assessment.status }
                if comparable == assessment { continue }
            }
            let version = (previous?.version ?? 0) + 1
            if previous != nil, features.status == .final { assessment.status = "amended" }
            assessment.id = FHIRPrimitive(id)
            var meta = assessment.meta ?? Meta()
            meta.versionId = FHIRPrimitive(String(version))
            meta.lastUpdated = FHIRPrimitive(FHIRInstant(fhirText: Self.timestamp(now)))
            assessment.meta = meta
            let stored = StoredAssessment(
                identifier: identifier,
                id: id,
                version: version,
                subject: subject,
                status: assessment.status.value ?? "final",
                json: FHIRJSONWriter().write(assessment.node),
                updatedAt: now
            )
            try transaction.saveAndEnqueue(stored)
            changed.append(ScoredCase(assessment: stored, stratum: score.stratum, risk: score.qualitativeRisk))
        }
        return changed
    }

    /// The logical id of an assessment: its identifier's UUID.
    static func logicalID(_ identifier: String) -> String {
        identifier.hasPrefix("urn:uuid:") ? String(identifier.dropFirst(9)) : identifier
    }

    /// `2026-03-03T10:00:00.123Z`: an instant in UTC with milliseconds.
    static func timestamp(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).format(date)
    }

}
