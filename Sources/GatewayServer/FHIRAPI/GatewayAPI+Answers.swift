import CaseProcessing
import Crypto
import FHIRCore
import FHIRModels
import Foundation
import GzipInflate
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RiskModel
import Storage

/// Reading a request body, committing it once, and answering (formats, `Prefer`, failures).
extension GatewayAPI {
    /// Reads and validates the body; the resource must be of `type`.
    func readResource(_ request: Request, type: String, limits: GatewayConfiguration.Limits) async throws -> ([UInt8], FHIRNode) {
        let declared = try FHIRHTTP.requestFormat(request)
        var request = request
        let limit = type == "Bundle" ? limits.maxBodyBytes : min(limits.maxBodyBytes, limits.maxResourceBytes)
        // A declared length over the limit is refused before a byte of the body is read.
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw FHIRRequestError(
                .contentTooLarge, code: .tooLong, "The request body (Content-Length \(declared)) is larger than the limit of \(limit) bytes")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw FHIRRequestError(.contentTooLarge, code: .tooLong, "The request body is larger than the limit of \(limit) bytes")
        } catch {
            // The connection broke off (or timed out) in the middle of the body.
            throw FHIRRequestError(.badRequest, code: .incomplete, "The request body could not be read to its end")
        }
        var bytes = Array(buffer.readableBytesView)
        switch request.headers[.contentEncoding]?.lowercased() {
        case nil, "identity":
            break
        case "gzip":
            do {
                bytes = try GzipBody.inflate(bytes, limit: limit)
            } catch where error.code == .tooLarge {
                throw FHIRRequestError(.contentTooLarge, code: .tooLong, "The decompressed request body is larger than the limit of \(limit) bytes")
            } catch {
                throw FHIRRequestError(.badRequest, code: .structure, "The request body is not valid gzip")
            }
        case let other?:
            throw FHIRRequestError(
                .unsupportedMediaType, code: .notSupported, "Content-Encoding '\(other)' is not supported: send gzip or no encoding")
        }
        let result = reader.read(bytes, format: declared)
        guard result.isValid, let resource = result.resource else {
            throw FHIRRequestError(FHIRHTTP.status(for: result.issues), result.issues.filter(\.isError))
        }
        guard resource.type.name == type else {
            throw FHIRRequestError(
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
        /// Assessments made but withheld: they did not conform to their profile.
        var withheld: [CaseProcessor.Withheld] = []
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
        processor: CaseProcessor,
        _ body: @escaping @Sendable (any StoreTransaction, Date) throws -> Committed
    ) async throws -> Response {
        let key = key ?? "\(request.method.rawValue) \(request.uri.path)|\(format.rawValue)|" + Self.hash(bytes)
        let (stored, scored, withheld): (StoredResponse, [CaseProcessor.ScoredCase], [CaseProcessor.Withheld]) = try await store.write {
            transaction in
            if let previous = try transaction.response(forKey: key) { return (previous, [], []) }
            let committed = try body(transaction, Date())
            let answer = StoredResponse(
                status: committed.status,
                contentType: format.mediaType,
                body: (format == .json ? committed.json : nil) ?? committed.resource.map { FHIRHTTP.bytes($0, format: format) } ?? [],
                location: committed.location
            )
            try transaction.saveResponse(answer, forKey: key)
            return (answer, committed.scored, committed.withheld)
        }
        // Every scored or withdrawn case queued a delivery of its assessment.
        if !scored.isEmpty { outbox.queued() }
        for scoredCase in scored { events.caseScored(scoredCase, model: processor.assessor.parameters.name) }
        for assessment in withheld { events.assessmentWithheld(assessment) }
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
        } catch {
            return FHIRErrorAnswer.response(for: error, request: request, format: format, logger: events.logger)
        }
    }

    func node(_ json: [UInt8]) throws -> FHIRNode {
        guard let node = reader.read(json, format: .json, validate: false).resource else {
            throw FHIRRequestError(.internalServerError, code: .exception, "A stored resource could not be read")
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
