import FHIRCore
import FHIRModels
import FHIRProfiles
import Foundation
import RiskModel
import Storage

/// Stores incoming resources and decides the cases of their patients again, inside the request's
/// one transaction: the facts, the case decisions, the held reasons and the outbox entries commit
/// together or not at all. What each case yields is the `CaseAssessor`'s decision; this type
/// keeps the versions (a new one only when the content changed) and the store.
///
/// A class: it is immutable and read by every request, and holds the model's codes and numbers.
public final class CaseProcessor: Sendable {
    public let assessor: CaseAssessor

    /// The profiles every RiskAssessment made is validated against before it is stored.
    public let conformance: ConformancePackage

    public init(codes: FeatureCodes, parameters: ModelParameters, policy: CasePolicy, conformance: ConformancePackage) {
        assessor = CaseAssessor(codes: codes, parameters: parameters, policy: policy)
        self.conformance = conformance
    }

    /// The resource types the gateway takes in.
    public static let inputTypes = ["Observation", "ImagingStudy", "Condition", "Patient"]
    static let accepted = Set(inputTypes)

    /// One resource to store, with the id it is stored under. Its JSON and typed model are made
    /// when it is created, in the request's own task: the store's transactions run one after
    /// another on one writer, so everything done before them is off the gateway's serial path.
    ///
    /// A class, so that handing it around does not copy (and retain everything inside) the model.
    public final class Incoming: Sendable {
        public let resource: FHIRNode
        /// The FHIRPath of the resource in the request, for issues.
        public let path: String
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

        public init(resource: FHIRNode, path: String) {
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

    public struct Outcome: Sendable {
        /// The resources as stored, with their ids, versions and JSON.
        public var stored: [(type: String, id: String, version: Int, resource: FHIRNode, json: [UInt8])]
        /// Assessments that got a new version (and were queued for delivery).
        public var scored: [ScoredCase]
        /// Assessments made but not stored or sent: they did not conform to their profile.
        public var withheld: [Withheld] = []
        public var changed: [StoredAssessment] { scored.map(\.assessment) }
    }

    /// A RiskAssessment the gateway made that does not conform to a profile it claims: a defect
    /// of the gateway. Its case is held with the reason; the log and the metrics say so.
    public struct Withheld: Sendable {
        /// The case's assessment identity (`urn:uuid:…`), pseudonymised before it is logged.
        public var identifier: String
        /// The profile's id.
        public var profile: String
        /// The FHIRPath of the first element at fault (never a value).
        public var path: String
    }

    /// A new version of a case's RiskAssessment, with what the log and the metrics may say of it.
    public struct ScoredCase: Sendable {
        public enum Change: Sendable {
            case assessed(stratum: ADCScore.Stratum, risk: ADCScore.QualitativeRisk)
            /// Sent again as `entered-in-error`: the case no longer yields it.
            case withdrawn
        }

        public var assessment: StoredAssessment
        public var change: Change
    }

    public func ingest(_ incoming: [Incoming], in transaction: any StoreTransaction, now: Date) throws -> Outcome {
        var stored: [(type: String, id: String, version: Int, resource: FHIRNode, json: [UInt8])] = []
        var subjects: [String] = []
        for item in incoming {
            let type = item.resource.type.name
            guard Self.accepted.contains(type) else {
                throw CaseInputError(
                    status: 422,
                    issues: [
                        FHIRIssue(
                            severity: .error,
                            code: .notSupported,
                            diagnostics: "The gateway takes \(Self.inputTypes.joined(separator: ", ")) resources, not \(type)",
                            expression: item.path
                        )
                    ]
                )
            }
            guard let id = item.id else {
                throw CaseInputError(
                    status: 422, issues: [FHIRIssue(severity: .error, code: .required, diagnostics: "The resource has no id", expression: item.path)])
            }
            let version = try transaction.upsert(type: type, id: id, subject: item.subject, json: item.json, now: now)
            stored.append((type, id, version, item.resource, item.json))
            if let subject = item.subject, type != "Patient", !subjects.contains(subject) { subjects.append(subject) }
        }

        var outcome = Outcome(stored: stored, scored: [])
        for subject in subjects {
            let decided = try decide(subject: subject, incoming: incoming, in: transaction, now: now)
            outcome.scored += decided.scored
            outcome.withheld += decided.withheld
        }
        return outcome
    }

    /// Decides every case of a patient from what the store holds, stores the assessments whose
    /// content changed as new versions (queued for delivery), and records why the rest is held.
    func decide(subject: String, incoming: [Incoming], in transaction: any StoreTransaction, now: Date) throws
        -> (scored: [ScoredCase], withheld: [Withheld])
    {
        let reader = FHIRReader()
        var entries: [CaseResources.Entry] = []
        // What this request brought is stored exactly as its tree and typed model: use them, not a re-read.
        var brought: [String: Incoming] = [:]
        for item in incoming { brought[item.key] = item }
        for resource in try transaction.resources(subject: subject) {
            if let item = brought["\(resource.type)/\(resource.id)"] {
                // Only a study's arrival counts (its age); an update keeps its first arrival.
                if let entry = item.entry, resource.type != "ImagingStudy" {
                    entries.append(entry)
                } else {
                    entries.append(
                        CaseResources.Entry(
                            resource: try item.entry?.resource ?? AnyResource(node: item.resource), path: item.path, fullUrl: nil, node: item.resource,
                            receivedAt: resource.receivedAt))
                }
            } else if let node = reader.read(resource.json, format: .json, validate: false).resource {
                entries.append(
                    CaseResources.Entry(
                        resource: try AnyResource(node: node), path: "stored[\(entries.count)]", fullUrl: nil, node: node,
                        receivedAt: resource.receivedAt))
            }
        }

        var previous: [String: StoredAssessment] = [:]
        var prior: [CaseAssessor.PriorAssessment] = []
        var priorByIdentifier: [String: RiskAssessment] = [:]
        for stored in try transaction.assessments(subject: subject) {
            previous[stored.identifier] = stored
            guard let node = reader.read(stored.json, format: .json, validate: false).resource,
                let assessment = try? RiskAssessment(resource: node)
            else { continue }
            prior.append(CaseAssessor.PriorAssessment(identifier: stored.identifier, caseKey: stored.caseKey, assessment: assessment))
            priorByIdentifier[stored.identifier] = assessment
        }

        let result = assessor.assess(CaseResources(entries: entries), prior: prior, now: now)
        // Errors about what this request brought (an ADC without a unit, an implausible value)
        // refuse the request; their paths are the request's own. Errors about resources stored
        // earlier (`stored[2].valueQuantity`, possible once a reload changed the model or the
        // ValueSets) do not: they must not block every later request for the patient.
        let refusals = result.issues.filter {
            $0.isError && $0.code != .notFound && $0.code != .incomplete && $0.expression?.hasPrefix("stored[") != true
        }
        if !refusals.isEmpty { throw CaseInputError(status: 422, issues: refusals) }
        var held = result.held.map(\.reason.diagnostics)

        var changed: [ScoredCase] = []
        var withheld: [Withheld] = []
        for decision in result.decisions {
            var assessment = decision.assessment
            let earlier = previous[decision.identifier]
            let change: ScoredCase.Change
            switch decision.kind {
            case .assessed(let score):
                change = .assessed(stratum: score.stratum, risk: score.qualitativeRisk)
                if let earlier, earlier.status != "entered-in-error", var comparable = priorByIdentifier[decision.identifier] {
                    // Unchanged unless the content differs: not the time, the gateway's id and
                    // version, or `amended` (what a re-scored `final` is stored as).
                    comparable.occurrence = assessment.occurrence
                    comparable.meta = assessment.meta
                    comparable.id = nil
                    if comparable.status.value == "amended", assessment.status.value == "final" { comparable.status = assessment.status }
                    if comparable == assessment { continue }
                }
                // A change after a final version is an amendment; the first final version of a
                // preliminary assessment is final.
                if let earlier, earlier.status != "preliminary", assessment.status.value == "final" { assessment.status = "amended" }
            case .withdrawn:
                change = .withdrawn
            }
            let version = (earlier?.version ?? 0) + 1
            let id = Self.logicalID(decision.identifier)
            assessment.id = FHIRPrimitive(id)
            var meta = assessment.meta ?? Meta()
            meta.versionId = FHIRPrimitive(String(version))
            meta.lastUpdated = FHIRPrimitive(FHIRInstant(fhirText: FHIRInstant.text(now)))
            assessment.meta = meta
            // What the gateway sends must conform to the profiles it claims; one that does not is
            // a defect of the gateway: the case is held with the reason, nothing is sent.
            let node = assessment.node
            if let failure = conformance.validate(node, at: "RiskAssessment").first(where: \.issue.isError) {
                withheld.append(Withheld(identifier: decision.identifier, profile: failure.profile, path: failure.issue.expression ?? "RiskAssessment"))
                held.append(
                    "The RiskAssessment made for this case does not conform to the profile \(failure.profile), so it was not sent "
                        + "(a defect of the gateway: report it): \(failure.issue.expression ?? "RiskAssessment"): \(failure.issue.diagnostics)")
                continue
            }
            let stored = StoredAssessment(
                identifier: decision.identifier,
                id: id,
                version: version,
                subject: subject,
                status: assessment.status.value ?? "final",
                json: FHIRJSONWriter().write(node),
                updatedAt: now,
                caseKey: decision.caseKey.isEmpty ? earlier?.caseKey : decision.caseKey
            )
            try transaction.saveAndEnqueue(stored)
            changed.append(ScoredCase(assessment: stored, change: change))
        }
        try transaction.setHeld(subject: subject, reasons: held, now: now)
        return (changed, withheld)
    }

    /// The logical id of an assessment: its identifier's UUID.
    static func logicalID(_ identifier: String) -> String {
        identifier.hasPrefix("urn:uuid:") ? String(identifier.dropFirst(9)) : identifier
    }
}
