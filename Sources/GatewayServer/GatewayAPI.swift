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

/// The FHIR endpoints of the gateway (base `/fhir`).
struct GatewayAPI: Sendable {
    /// The resource types the gateway takes in (create and update only).
    static let inputTypes = CaseProcessor.inputTypes
    /// Built once: it describes the code, not the configuration.
    static let capabilityStatement = CapabilityStatementBuilder.statement().node

    let store: any GatewayStore
    let settings: LiveSettings
    let events: GatewayEvents
    let reader = FHIRReader()

    /// The scoring and limits of the current configuration (a reload swaps them).
    var processor: CaseProcessor { settings.current.processor }
    var limits: GatewayConfiguration.Limits { settings.current.configuration.limits }

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/fhir/metadata") { request, _ in
            try await respond(request) { format in FHIRHTTP.response(.ok, resource: Self.capabilityStatement, format: format) }
        }
        for type in Self.inputTypes {
            router.post("/fhir/\(type)") { request, _ in try await create(request, type: type) }
            router.put("/fhir/\(type)/:id") { request, context in
                try await update(request, type: type, id: context.parameters.get("id") ?? "")
            }
        }
        router.post("/fhir") { request, _ in try await bundle(request, messageOnly: false) }
        router.post("/fhir/$process-message") { request, _ in try await bundle(request, messageOnly: true) }
        // Anything else under /fhir is an OperationOutcome: 405 for a method the gateway does not
        // offer on its own resource types, 404 for any other path.
        let notAllowed: @Sendable (Request, GatewayRequestContext) async throws -> Response = { request, _ in
            try await respond(request) { _ in
                throw FHIRHTTP.Failure(
                    .methodNotAllowed,
                    code: .notSupported,
                    "\(request.method.rawValue) \(request.uri.path) is not supported: see /fhir/metadata"
                )
            }
        }
        for type in Self.inputTypes {
            for method in [HTTPRequest.Method.get, .delete, .patch] { router.on("/fhir/\(type)/:id", method: method, use: notAllowed) }
            for method in [HTTPRequest.Method.get, .put, .delete, .patch] { router.on("/fhir/\(type)", method: method, use: notAllowed) }
        }
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch] {
            router.on("/fhir/**", method: method) { request, _ in
                try await respond(request) { _ in
                    throw FHIRHTTP.Failure(.notFound, code: .notFound, "\(request.uri.path) is not an endpoint of this gateway: see /fhir/metadata")
                }
            }
        }
        router.get("/fhir/RiskAssessment/:id") { request, context in
            try await respond(request) { format in
                guard let stored = try await store.assessment(id: context.parameters.get("id") ?? "") else {
                    throw FHIRHTTP.Failure(.notFound, code: .notFound, "No RiskAssessment with this id")
                }
                return FHIRHTTP.response(.ok, resource: try node(stored.json), format: format)
            }
        }
        router.get("/fhir/RiskAssessment") { request, _ in
            try await respond(request) { format in
                guard let subject = request.uri.queryParameters.get("subject") else {
                    throw FHIRHTTP.Failure(.badRequest, code: .required, "Search RiskAssessment by subject: ?subject=Patient/{id}")
                }
                let found = try await store.assessments(subject: subject)
                let base = Self.baseURL(request)
                var bundle = Bundle(type: "searchset", total: FHIRPrimitive(Int32(found.count)))
                for stored in found {
                    guard case .riskAssessment(let assessment)? = try? AnyResource(node: try node(stored.json)) else { continue }
                    bundle.entry.append(
                        Bundle.Entry(
                            fullUrl: FHIRPrimitive("\(base)/RiskAssessment/\(stored.id)"),
                            resource: .riskAssessment(assessment),
                            search: Bundle.Search(mode: "match")
                        )
                    )
                }
                // A patient whose resources are held out of scoring: the reasons, as the
                // searchset's outcome entry (search.mode outcome), so the sender sees why no
                // (or no further) assessment was made.
                if let held = try await store.held(subject: subject),
                    case .operationOutcome(let outcome)? = try? AnyResource(
                        node: .operationOutcome(held.reasons.map { FHIRIssue(severity: .information, code: .businessRule, diagnostics: $0) }))
                {
                    bundle.entry.append(Bundle.Entry(resource: .operationOutcome(outcome), search: Bundle.Search(mode: "outcome")))
                }
                return FHIRHTTP.response(.ok, resource: bundle.node, format: format)
            }
        }
    }

    // MARK: - Create and update

    func create(_ request: Request, type: String) async throws -> Response {
        try await respond(request) { format in
            let (bytes, resource) = try await readResource(request, type: type)
            var assigned = resource
            let id = TimeOrderedID.make()
            assigned.setID(id)
            let incoming = assigned
            let item = CaseProcessor.Incoming(resource: incoming, path: type)
            return try await commit(request, bytes: bytes, format: format) { transaction, now in
                let outcome = try processor.ingest([item], in: transaction, now: now)
                let version = outcome.stored.first?.version ?? 1
                return Committed(
                    status: 201, resource: incoming, location: "\(type)/\(id)/_history/\(version)", scored: outcome.scored,
                    json: outcome.stored.first?.json)
            }
        }
    }

    func update(_ request: Request, type: String, id: String) async throws -> Response {
        try await respond(request) { format in
            let (bytes, resource) = try await readResource(request, type: type)
            guard resource.value(of: "id") == id else {
                throw FHIRHTTP.Failure(
                    .badRequest,
                    code: .invalid,
                    "The resource's id must equal the id in the URL (\(id)) for an update",
                    expression: "\(type).id"
                )
            }
            let item = CaseProcessor.Incoming(resource: resource, path: type)
            return try await commit(request, bytes: bytes, format: format) { transaction, now in
                let outcome = try processor.ingest([item], in: transaction, now: now)
                let version = outcome.stored.first?.version ?? 1
                return Committed(
                    status: version == 1 ? 201 : 200, resource: resource, location: "\(type)/\(id)/_history/\(version)", scored: outcome.scored,
                    json: outcome.stored.first?.json)
            }
        }
    }

    // MARK: - Bundles and messages

    func bundle(_ request: Request, messageOnly: Bool) async throws -> Response {
        try await respond(request) { format in
            let (bytes, bundle) = try await readResource(request, type: "Bundle")
            let type = bundle.value(of: "type") ?? ""
            let entries = bundle.children(named: "entry")
            guard entries.count <= limits.maxBundleEntries else {
                throw FHIRHTTP.Failure(
                    .contentTooLarge,
                    code: .tooLong,
                    "The Bundle has \(entries.count) entries, more than the limit of \(limits.maxBundleEntries)",
                    expression: "Bundle.entry"
                )
            }
            if messageOnly || type == "message" {
                return try await message(request, bytes: bytes, bundle: bundle, format: format)
            }
            guard ["transaction", "batch", "collection"].contains(type) else {
                throw FHIRHTTP.Failure(
                    .badRequest, code: .notSupported, "POST /fhir takes a transaction, batch, collection or message Bundle, not '\(type)'")
            }
            let incoming = try Self.entriesWithIDs(bundle)
            return try await commit(request, bytes: bytes, format: format) { transaction, now in
                let outcome = try processor.ingest(incoming, in: transaction, now: now)
                if type == "collection" {
                    // A collection is no FHIR interaction, so it has no response Bundle: what was
                    // stored, entry by entry, as an OperationOutcome.
                    let issues = outcome.stored.enumerated().map { i, stored in
                        FHIRIssue(
                            severity: .information, code: .informational,
                            diagnostics: "Stored as \(stored.type)/\(stored.id)/_history/\(stored.version)", expression: "Bundle.entry[\(i)]")
                    }
                    return Committed(status: 200, resource: .operationOutcome(issues), location: nil, scored: outcome.scored)
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
                return Committed(status: 200, resource: response.node, location: nil, scored: outcome.scored)
            }
        }
    }

    func message(_ request: Request, bytes: [UInt8], bundle: FHIRNode, format: FHIRFormat) async throws -> Response {
        guard bundle.value(of: "type") == "message", let header = bundle.children(named: "entry").first?.child(named: "resource"),
            header.type.name == "MessageHeader"
        else {
            throw FHIRHTTP.Failure(
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
            return try await commit(request, bytes: bytes, format: format, key: key) { transaction, now in
                let outcome = try processor.ingest(incoming, in: transaction, now: now)
                let answer = Self.responseMessage(to: header, code: "ok", assessments: outcome.changed, issues: [], now: now)
                return Committed(status: 200, resource: answer, location: nil, scored: outcome.scored)
            }
        } catch let refusal as CaseProcessor.Refusal {
            // The content was refused: a response message saying so, with the reasons; nothing was stored.
            let answer = Self.responseMessage(to: header, code: "fatal-error", assessments: [], issues: refusal.issues, now: Date())
            return FHIRHTTP.response(HTTPResponse.Status(code: refusal.status), resource: answer, format: format)
        } catch let failure as FHIRHTTP.Failure {
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
            timestamp: FHIRPrimitive(FHIRInstant(fhirText: CaseProcessor.timestamp(now)))
        ).node
    }

    /// The entries of a Bundle to store, each with an id, and every reference between them (by
    /// fullUrl) rewritten to `Type/id`, as a FHIR server does. In a transaction or batch the
    /// entry's `request` governs (FHIR R4 transaction processing): `PUT Type/id` stores the
    /// resource under that type and id, which the resource must carry; `POST Type` creates, under
    /// a new id; any other method, a resource of another type or id, or (in a transaction) one
    /// identity twice, refuses the whole Bundle with the entry's path. A collection or message
    /// entry keeps the sender's id, or gets a new one.
    static func entriesWithIDs(_ bundle: FHIRNode) throws(FHIRHTTP.Failure) -> [CaseProcessor.Incoming] {
        let bundleType = bundle.value(of: "type") ?? ""
        let governedByRequest = bundleType == "transaction" || bundleType == "batch"
        var resources: [(node: FHIRNode, path: String)] = []
        var map: [String: String] = [:]
        var identities: [String: Int] = [:]
        for (i, entry) in bundle.children(named: "entry").enumerated() {
            guard var resource = entry.child(named: "resource") else {
                // A transaction-response needs an entry for each entry: one the gateway skipped
                // would leave the sender unable to match them up.
                throw FHIRHTTP.Failure(
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
                throw FHIRHTTP.Failure(
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
    static func idFromRequest(_ request: FHIRNode, type: String, id: String?, entry i: Int) throws(FHIRHTTP.Failure) -> String? {
        let method = request.value(of: "method") ?? ""
        let url = request.value(of: "url") ?? ""
        // The path of a relative or absolute URL, without its query.
        let path = url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let parts = path.split(separator: "/").map(String.init)
        let expression = "Bundle.entry[\(i)].request.url"
        switch method {
        case "PUT":
            guard parts.count >= 2, let urlType = parts.dropLast().last, let urlID = parts.last else {
                throw FHIRHTTP.Failure(.badRequest, code: .invalid, "PUT needs the URL Type/id, not '\(url)'", expression: expression)
            }
            guard urlType == type else {
                throw FHIRHTTP.Failure(
                    .badRequest, code: .invalid, "The entry's URL is for type \(urlType), but its resource is of type \(type)", expression: expression)
            }
            guard id == urlID else {
                throw FHIRHTTP.Failure(
                    .badRequest, code: .invalid,
                    id == nil
                        ? "For PUT \(urlType)/\(urlID) the resource must carry the id \(urlID)"
                        : "The resource's id \(id ?? "") is not the id in the entry's URL (\(urlID)); for an update they must be equal",
                    expression: "Bundle.entry[\(i)].resource.id")
            }
            return urlID
        case "POST":
            guard parts.last == type else {
                throw FHIRHTTP.Failure(
                    .badRequest, code: .invalid, "POST '\(url)' cannot create this resource of type \(type): the URL must be its type", expression: expression)
            }
            // A create ignores the resource's id: the server assigns one.
            return nil
        default:
            throw FHIRHTTP.Failure(
                .unprocessableContent, code: .notSupported,
                "\(method) is not supported in a Bundle entry: the gateway takes PUT Type/id and POST Type",
                expression: "Bundle.entry[\(i)].request.method")
        }
    }

    // MARK: - Reading, committing, answering

    /// Reads and validates the body; the resource must be of `type`.
    func readResource(_ request: Request, type: String) async throws -> ([UInt8], FHIRNode) {
        let declared = try FHIRHTTP.requestFormat(request)
        var request = request
        let limit = type == "Bundle" ? limits.maxBodyBytes : min(limits.maxBodyBytes, limits.maxResourceBytes)
        // A declared length over the limit is refused before a byte of the body is read.
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw FHIRHTTP.Failure(
                .contentTooLarge, code: .tooLong, "The request body (Content-Length \(declared)) is larger than the limit of \(limit) bytes")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw FHIRHTTP.Failure(.contentTooLarge, code: .tooLong, "The request body is larger than the limit of \(limit) bytes")
        } catch {
            // The connection broke off (or timed out) in the middle of the body.
            throw FHIRHTTP.Failure(.badRequest, code: .incomplete, "The request body could not be read to its end")
        }
        var bytes = Array(buffer.readableBytesView)
        switch request.headers[.contentEncoding]?.lowercased() {
        case nil, "identity":
            break
        case "gzip":
            do {
                bytes = try GzipBody.inflate(bytes, limit: limit)
            } catch .tooLarge {
                throw FHIRHTTP.Failure(.contentTooLarge, code: .tooLong, "The decompressed request body is larger than the limit of \(limit) bytes")
            } catch {
                throw FHIRHTTP.Failure(.badRequest, code: .structure, "The request body is not valid gzip")
            }
        case let other?:
            throw FHIRHTTP.Failure(
                .unsupportedMediaType, code: .notSupported, "Content-Encoding '\(other)' is not supported: send gzip or no encoding")
        }
        let result = reader.read(bytes, format: declared)
        guard result.isValid, let resource = result.resource else {
            throw FHIRHTTP.Failure(FHIRHTTP.status(for: result.issues), result.issues.filter(\.isError))
        }
        guard resource.type.name == type else {
            throw FHIRHTTP.Failure(
                .badRequest, code: .invalid, "This endpoint takes a \(type), not a \(resource.type.name)", expression: resource.type.name)
        }
        return (bytes, resource)
    }

    /// What a request's transaction did: the answer, and the cases it scored.
    struct Committed {
        var status: Int
        var resource: FHIRNode?
        var location: String?
        var scored: [CaseProcessor.ScoredCase]
        /// `resource` already written as JSON (as stored), to answer a JSON request without
        /// writing it again.
        var json: [UInt8]? = nil
    }

    /// Runs `body` in one transaction, keyed for idempotency: a resend of the same request gets
    /// the first answer. The answer is stored in the same transaction as the facts. Once
    /// committed, each scored case is logged (pseudonymously) and counted.
    func commit(
        _ request: Request,
        bytes: [UInt8],
        format: FHIRFormat,
        key: String? = nil,
        _ body: @escaping @Sendable (any StoreTransaction, Date) throws -> Committed
    ) async throws -> Response {
        let key = key ?? "\(request.method.rawValue) \(request.uri.path)|\(format.rawValue)|" + Self.hash(bytes)
        let (stored, scored): (StoredResponse, [CaseProcessor.ScoredCase]) = try await store.write { transaction in
            if let previous = try transaction.response(forKey: key) { return (previous, []) }
            let committed = try body(transaction, Date())
            let answer = StoredResponse(
                status: committed.status,
                contentType: format.mediaType,
                body: (format == .json ? committed.json : nil) ?? committed.resource.map { FHIRHTTP.bytes($0, format: format) } ?? [],
                location: committed.location
            )
            try transaction.saveResponse(answer, forKey: key)
            return (answer, committed.scored)
        }
        for scoredCase in scored { events.caseScored(scoredCase) }
        return Self.render(stored, request: request, format: format)
    }

    /// The stored answer, honouring `Prefer: return=minimal | representation | OperationOutcome`.
    static func render(_ stored: StoredResponse, request: Request, format: FHIRFormat) -> Response {
        let status = HTTPResponse.Status(code: stored.status)
        let prefer = request.headers[HTTPField.Name("Prefer") ?? .accept]?.lowercased() ?? ""
        if prefer.contains("return=minimal") {
            return FHIRHTTP.response(status, body: nil, format: format, location: stored.location)
        }
        if prefer.contains("return=operationoutcome") {
            let issue = FHIRIssue(severity: .information, code: .informational, diagnostics: "Accepted and stored durably")
            return FHIRHTTP.response(status, resource: .operationOutcome([issue]), format: format, location: stored.location)
        }
        // The stored body keeps the format it was written in (a resent message may ask for another).
        let storedFormat = [FHIRFormat.json, .xml].first { $0.mediaType == stored.contentType } ?? format
        return FHIRHTTP.response(status, body: stored.body, format: storedFormat, location: stored.location)
    }

    /// Negotiates the response format and turns every failure into an OperationOutcome.
    func respond(_ request: Request, _ body: (FHIRFormat) async throws -> Response) async throws -> Response {
        let requestFormat = (try? FHIRHTTP.requestFormat(request)) ?? nil
        let format: FHIRFormat
        do {
            format = try FHIRHTTP.responseFormat(request, fallback: requestFormat ?? .json)
        } catch {
            return FHIRHTTP.outcome(error, format: .json)
        }
        do {
            return try await body(format)
        } catch let failure as FHIRHTTP.Failure {
            return FHIRHTTP.outcome(failure, format: format)
        } catch let refusal as CaseProcessor.Refusal {
            return FHIRHTTP.outcome(FHIRHTTP.Failure(HTTPResponse.Status(code: refusal.status), refusal.issues), format: format)
        } catch let failure as StoreFailure {
            // Transient for the sender: an interface engine retries a 503 (and honours Retry-After).
            events.logger.error("store failed", metadata: ["store.code": "\(failure.code)", "store.reason": "\(failure.reason)"])
            var response = FHIRHTTP.outcome(
                FHIRHTTP.Failure(
                    .serviceUnavailable, code: .transient,
                    "The gateway could not store the request (\(failure.reason)); nothing was stored; send it again"),
                format: format
            )
            response.headers[.retryAfter] = "10"
            return response
        } catch {
            events.logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            return FHIRHTTP.outcome(
                FHIRHTTP.Failure(.internalServerError, code: .exception, "The gateway could not process the request; nothing was stored"),
                format: format
            )
        }
    }

    func node(_ json: [UInt8]) throws -> FHIRNode {
        guard let node = reader.read(json, format: .json, validate: false).resource else {
            throw FHIRHTTP.Failure(.internalServerError, code: .exception, "A stored resource could not be read")
        }
        return node
    }

    /// The absolute FHIR base the client reached (`https://host:port/fhir`), for the absolute
    /// `fullUrl`s R4 asks of a searchset.
    static func baseURL(_ request: Request) -> String {
        // Host names, IPv4 and bracketed IPv6 addresses and a port only: a Host header is the
        // client's text, and a fullUrl must be a valid uri.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")
        let authority = request.head.authority.flatMap { $0.isEmpty || !$0.allSatisfy(allowed.contains) ? nil : $0 } ?? "localhost"
        return "https://\(authority)/fhir"
    }

    static func hash(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).hexEncoded
    }
}

extension FHIRNode {
    /// Sets (or replaces) a resource's id.
    mutating func setID(_ id: String) {
        children.removeAll { $0.name == "id" }
        append("id", value: id)
    }

    /// Replaces every `Reference.reference` found in `map`.
    mutating func rewriteReferences(_ map: [String: String]) {
        guard !map.isEmpty else { return }
        if type.name == "Reference", let index = children.firstIndex(where: { $0.name == "reference" }),
            let value = children[index].value, let replacement = map[value]
        {
            children[index].value = replacement
        }
        for i in children.indices where !children[i].type.isPrimitive {
            children[i].rewriteReferences(map)
        }
    }
}
