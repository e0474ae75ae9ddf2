import CaseProcessing
import Crypto
import FHIRCore
import FHIRModels
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RiskModel
import Storage

/// Transactions, batches and messages (`POST /fhir`, `$process-message`).
extension GatewayAPI {

    func bundle(_ request: Request, messageOnly: Bool, settings: LiveSettings.Snapshot) async throws -> Response {
        let limits = settings.configuration.limits
        let processor = settings.processor
        return try await respond(request) { format in
            let (bytes, bundle) = try await readResource(request, type: "Bundle", limits: limits)
            let type = bundle.value(of: "type") ?? ""
            let entries = bundle.children(named: "entry")
            guard entries.count <= limits.maxBundleEntries else {
                throw FHIRRequestError(
                    .contentTooLarge,
                    code: .tooLong,
                    "The Bundle has \(entries.count) entries, more than the limit of \(limits.maxBundleEntries)",
                    expression: "Bundle.entry"
                )
            }
            if messageOnly || type == "message" {
                return try await message(request, bytes: bytes, bundle: bundle, format: format, settings: settings)
            }
            guard ["transaction", "batch", "collection"].contains(type) else {
                throw FHIRRequestError(
                    .badRequest, code: .notSupported, "POST /fhir takes a transaction, batch, collection or message Bundle, not '\(type)'")
            }
            let incoming = try Self.entriesWithIDs(bundle)
            try checkProfiles(incoming, settings: settings)
            return try await commit(request, bytes: bytes, format: format, processor: processor) { transaction, now in
                let outcome = try processor.ingest(incoming, in: transaction, now: now)
                if type == "collection" {
                    // A collection is no FHIR interaction, so it has no response Bundle: what was
                    // stored, entry by entry, as an OperationOutcome.
                    let issues = outcome.stored.enumerated().map { i, stored in
                        FHIRIssue(
                            severity: .information, code: .informational,
                            diagnostics: "Stored as \(stored.type)/\(stored.id)/_history/\(stored.version)", expression: "Bundle.entry[\(i)]")
                    }
                    return Committed(status: 200, resource: .operationOutcome(issues), location: nil, scored: outcome.scored, withheld: outcome.withheld)
                }
                var response = Bundle(type: FHIRPrimitive(type == "batch" ? "batch-response" : "transaction-response"))
                for stored in outcome.stored {
                    response.entry.append(
                        Bundle.Entry(
                            response: Bundle.Response(
                                status: FHIRPrimitive(stored.version == 1 ? "201 Created" : "200 OK"),
                                location: FHIRPrimitive("\(stored.type)/\(stored.id)/_history/\(stored.version)")
                            )
                        )
                    )
                }
                return Committed(status: 200, resource: response.node, location: nil, scored: outcome.scored, withheld: outcome.withheld)
            }
        }
    }

    func message(_ request: Request, bytes: [UInt8], bundle: FHIRNode, format: FHIRFormat, settings: LiveSettings.Snapshot) async throws -> Response {
        let processor = settings.processor
        guard bundle.value(of: "type") == "message", let header = bundle.children(named: "entry").first?.child(named: "resource"),
            header.type.name == "MessageHeader"
        else {
            throw FHIRRequestError(
                .badRequest,
                code: .invalid,
                "$process-message takes a Bundle of type message whose first entry is a MessageHeader",
                expression: "Bundle.entry[0]"
            )
        }
        var all = try Self.entriesWithIDs(bundle)
        all.removeAll { $0.resource.type.name == "MessageHeader" }
        let incoming = all.filter { CaseProcessor.inputTypes.contains($0.resource.type.name) }
        let key = "message|" + (header.value(of: "id") ?? Self.hash(bytes))
        do {
            try checkProfiles(incoming, settings: settings)
            return try await commit(request, bytes: bytes, format: format, key: key, processor: processor) { transaction, now in
                let outcome = try processor.ingest(incoming, in: transaction, now: now)
                let answer = Self.responseMessage(to: header, code: "ok", assessments: outcome.changed, issues: [], now: now)
                return Committed(status: 200, resource: answer, location: nil, scored: outcome.scored, withheld: outcome.withheld)
            }
        } catch let refusal as CaseInputError {
            // The content was refused: a response message saying so, with the reasons; nothing was stored.
            let answer = Self.responseMessage(to: header, code: "fatal-error", assessments: [], issues: refusal.issues, now: Date())
            return FHIRHTTP.response(HTTPResponse.Status(code: refusal.status), resource: answer, format: format)
        } catch let failure as FHIRRequestError {
            throw failure
        } catch {
            // The store failed: the sender should try again; nothing was stored.
            let issue = FHIRIssue(severity: .error, code: .transient, diagnostics: "The gateway could not store the message; send it again")
            let answer = Self.responseMessage(to: header, code: "transient-error", assessments: [], issues: [issue], now: Date())
            return FHIRHTTP.response(.serviceUnavailable, resource: answer, format: format)
        }
    }

    /// The response message to a request's MessageHeader: `ok` with the RiskAssessments made, or
    /// `fatal-error` / `transient-error` with an OperationOutcome in `response.details`.
    static func responseMessage(to header: FHIRNode, code: String, assessments: [StoredAssessment], issues: [FHIRIssue], now: Date) -> FHIRNode {
        let reader = FHIRReader()
        let event = header.child(named: "eventCoding")
        var responseHeader = MessageHeader(
            event: .coding(
                Coding(system: event?.value(of: "system").map { FHIRPrimitive($0) }, code: event?.value(of: "code").map { FHIRPrimitive($0) })),
            source: MessageHeader.Source(endpoint: "urn:fhir-risk-gateway", name: "fhir-risk-gateway"),
            id: FHIRPrimitive(UUID().uuidString.lowercased()),
            response: MessageHeader.Response(identifier: FHIRPrimitive(header.value(of: "id") ?? ""), code: FHIRPrimitive(code))
        )
        if event == nil {
            responseHeader.event = .uri(FHIRPrimitive(header.value(of: "eventUri") ?? "urn:fhir-risk-gateway:unknown-event"))
        }
        var entries: [FHIRModels.Bundle.Entry] = []
        if !issues.isEmpty, case .operationOutcome(let outcome)? = try? AnyResource(node: .operationOutcome(issues)) {
            let url = "urn:uuid:\(UUID().uuidString.lowercased())"
            responseHeader.response?.details = Reference(reference: FHIRPrimitive(url))
            entries.append(Bundle.Entry(fullUrl: FHIRPrimitive(url), resource: .operationOutcome(outcome)))
        }
        for assessment in assessments {
            guard let node = reader.read(assessment.json, format: .json, validate: false).resource,
                case .riskAssessment(let model)? = try? AnyResource(node: node)
            else { continue }
            entries.append(Bundle.Entry(fullUrl: FHIRPrimitive(assessment.identifier), resource: .riskAssessment(model)))
            responseHeader.focus.append(Reference(reference: FHIRPrimitive(assessment.identifier)))
        }
        let headerEntry = Bundle.Entry(fullUrl: FHIRPrimitive("urn:uuid:\(responseHeader.id?.value ?? "")"), resource: .messageHeader(responseHeader))
        return Bundle(
            type: "message",
            entry: [headerEntry] + entries,
            identifier: Identifier(system: "urn:ietf:rfc:3986", value: FHIRPrimitive("urn:uuid:\(UUID().uuidString.lowercased())")),
            timestamp: FHIRPrimitive(FHIRInstant(fhirText: FHIRInstant.text(now)))
        ).node
    }

    /// The entries of a Bundle to store, each with an id, and every reference between them (by
    /// fullUrl) rewritten to `Type/id`, as a FHIR server does. In a transaction or batch the
    /// entry's `request` governs (FHIR R4 transaction processing): `PUT Type/id` stores the
    /// resource under that type and id, which the resource must carry; `POST Type` creates, under
    /// a new id; any other method, a resource of another type or id, or (in a transaction) one
    /// identity twice, refuses the whole Bundle with the entry's path. A collection or message
    /// entry keeps the sender's id, or gets a new one.
    static func entriesWithIDs(_ bundle: FHIRNode) throws(FHIRRequestError) -> [CaseProcessor.Incoming] {
        let bundleType = bundle.value(of: "type") ?? ""
        let governedByRequest = bundleType == "transaction" || bundleType == "batch"
        var resources: [(node: FHIRNode, path: String)] = []
        var map: [String: String] = [:]
        var identities: [String: Int] = [:]
        for (i, entry) in bundle.children(named: "entry").enumerated() {
            guard var resource = entry.child(named: "resource") else {
                // A transaction-response needs an entry for each entry: one the gateway skipped
                // would leave the sender unable to match them up.
                throw FHIRRequestError(
                    .unprocessableContent, code: .notSupported,
                    "The entry has no resource: the gateway takes resources to store, not requests such as DELETE or GET",
                    expression: "Bundle.entry[\(i)]")
            }
            let type = resource.type.name
            var id = resource.value(of: "id")
            if governedByRequest, let request = entry.child(named: "request") {
                id = try Self.idFromRequest(request, type: type, id: id, entry: i)
            }
            let assigned = id ?? TimeOrderedID.make()
            resource.setID(assigned)
            let identity = "\(type)/\(assigned)"
            if bundleType == "transaction", let first = identities[identity] {
                throw FHIRRequestError(
                    .badRequest, code: .duplicate,
                    "\(identity) appears twice in the transaction (entries \(first) and \(i)); a resource may appear once in a transaction",
                    expression: "Bundle.entry[\(i)].request.url")
            }
            identities[identity] = i
            if let fullUrl = entry.value(of: "fullUrl") { map[fullUrl] = identity }
            resources.append((resource, "Bundle.entry[\(i)].resource"))
        }
        return resources.map { item in
            var node = item.node
            node.rewriteReferences(map)
            node.name = node.type.name
            node.elementIndex = -1
            return CaseProcessor.Incoming(resource: node, path: item.path)
        }
    }

    /// The id a transaction or batch entry's resource is stored under, from its `request`: the
    /// URL's for `PUT Type/id` (it must be the resource's type and id), a new one for `POST Type`.
    static func idFromRequest(_ request: FHIRNode, type: String, id: String?, entry i: Int) throws(FHIRRequestError) -> String? {
        let method = request.value(of: "method") ?? ""
        let url = request.value(of: "url") ?? ""
        // The path of a relative or absolute URL, without its query.
        let path = url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let parts = path.split(separator: "/").map(String.init)
        let expression = "Bundle.entry[\(i)].request.url"
        switch method {
        case "PUT":
            guard parts.count >= 2, let urlType = parts.dropLast().last, let urlID = parts.last else {
                throw FHIRRequestError(.badRequest, code: .invalid, "PUT needs the URL Type/id, not '\(url)'", expression: expression)
            }
            guard urlType == type else {
                throw FHIRRequestError(
                    .badRequest, code: .invalid, "The entry's URL is for type \(urlType), but its resource is of type \(type)", expression: expression)
            }
            guard id == urlID else {
                throw FHIRRequestError(
                    .badRequest, code: .invalid,
                    id == nil
                        ? "For PUT \(urlType)/\(urlID) the resource must carry the id \(urlID)"
                        : "The resource's id \(id ?? "") is not the id in the entry's URL (\(urlID)); for an update they must be equal",
                    expression: "Bundle.entry[\(i)].resource.id")
            }
            return urlID
        case "POST":
            guard parts.last == type else {
                throw FHIRRequestError(
                    .badRequest, code: .invalid, "POST '\(url)' cannot create this resource of type \(type): the URL must be its type", expression: expression)
            }
            // A create ignores the resource's id: the server assigns one.
            return nil
        default:
            throw FHIRRequestError(
                .unprocessableContent, code: .notSupported,
                "\(method) is not supported in a Bundle entry: the gateway takes PUT Type/id and POST Type",
                expression: "Bundle.entry[\(i)].request.method")
        }
    }
}
