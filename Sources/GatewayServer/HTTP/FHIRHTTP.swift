import FHIRCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// FHIR's HTTP conventions: the formats a request may carry and a response may take
/// (`Content-Type`, `Accept`, `_format`), and OperationOutcome answers with the right status.
enum FHIRHTTP {
    /// The format of a request body from its Content-Type; nil when it has none (then the
    /// content decides). Throws 415 for a type FHIR does not use.
    static func requestFormat(_ request: Request) throws(FHIRRequestError) -> FHIRFormat? {
        guard let header = request.headers[.contentType] else { return nil }
        let mediaType = Self.mediaType(header[...])
        guard let format = Self.format(ofMediaType: mediaType) else {
            throw FHIRRequestError(
                .unsupportedMediaType,
                code: .notSupported,
                "The Content-Type '\(mediaType)' is not supported: send application/fhir+json or application/fhir+xml"
            )
        }
        return format
    }

    /// The FHIR format a media type names (the R4 ones and their older spellings), if any.
    static func format(ofMediaType mediaType: String) -> FHIRFormat? {
        switch mediaType {
        case "application/fhir+json", "application/json", "application/json+fhir": .json
        case "application/fhir+xml", "application/xml", "text/xml", "application/xml+fhir": .xml
        default: nil
        }
    }

    /// The media type of a `Content-Type` or one `Accept` range, without parameters, trimmed and in
    /// lower case (`application/fhir+json`). Read over the bytes: Foundation's trimming bridged
    /// to NSString and was a few percent of every request.
    static func mediaType(_ field: Substring) -> String {
        let bytes = field.utf8
        let end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.endIndex
        var value = bytes[bytes.startIndex..<end]
        while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
        while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
        return String(decoding: value.lazy.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// The response format: `_format` wins over `Accept`; `*/*` or nothing gives `fallback`.
    /// Throws 406 when neither asks for a format the gateway writes.
    static func responseFormat(_ request: Request, fallback: FHIRFormat = .json) throws(FHIRRequestError) -> FHIRFormat {
        if let format = request.uri.queryParameters.get("_format") {
            switch format.lowercased() {
            case "json", "application/fhir+json", "application/json": return .json
            case "xml", "application/fhir+xml", "application/xml", "text/xml": return .xml
            default:
                throw FHIRRequestError(.notAcceptable, code: .notSupported, "_format '\(format)' is not supported: use json or xml")
            }
        }
        guard let accept = request.headers[.accept], !accept.isEmpty else { return fallback }
        for range in accept.split(separator: ",") {
            let mediaType = Self.mediaType(range)
            if let format = Self.format(ofMediaType: mediaType) { return format }
            if mediaType == "*/*" || mediaType == "application/*" { return fallback }
        }
        throw FHIRRequestError(
            .notAcceptable, code: .notSupported,
            "None of the Accept types '\(accept)' is a FHIR format: accept application/fhir+json or application/fhir+xml")
    }

    static func bytes(_ resource: FHIRNode, format: FHIRFormat) -> [UInt8] {
        switch format {
        case .json: FHIRJSONWriter().write(resource)
        case .xml: FHIRXMLWriter().write(resource)
        }
    }

    static func response(
        _ status: HTTPResponse.Status,
        body: [UInt8]?,
        format: FHIRFormat,
        location: String? = nil,
        extraHeaders: HTTPFields = [:]
    ) -> Response {
        var headers = extraHeaders
        if let body, !body.isEmpty { headers[.contentType] = format.mediaType + "; charset=utf-8" }
        if let location { headers[.location] = location }
        guard let body, !body.isEmpty else { return Response(status: status, headers: headers) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func response(_ status: HTTPResponse.Status, resource: FHIRNode, format: FHIRFormat, location: String? = nil) -> Response {
        response(status, body: bytes(resource, format: format), format: format, location: location)
    }

    /// The failure as an OperationOutcome answer; its first error is kept for the request line.
    static func outcome(_ failure: FHIRRequestError, format: FHIRFormat) -> Response {
        RequestTrace.current?.record(failure.issues)
        return response(failure.status, resource: .operationOutcome(failure.issues), format: format)
    }

    /// The HTTP status for issues found reading a resource: unreadable or structurally wrong → 400,
    /// too large → 413, otherwise (valid FHIR that breaks a rule) → 422.
    static func status(for issues: [FHIRIssue]) -> HTTPResponse.Status {
        if issues.contains(where: { $0.code == .tooLong }) { return .contentTooLarge }
        if issues.contains(where: { $0.severity == .fatal || $0.code == .structure || $0.code == .security }) { return .badRequest }
        return .unprocessableContent
    }
}
