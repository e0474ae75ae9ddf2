import CaseProcessing
import FHIRCore
import Hummingbird
import Logging
import Storage

/// The one place a failure of a FHIR request becomes its answer: an OperationOutcome with the
/// HTTP status, the IssueType and, for a store that could not take the request, `Retry-After`.
enum FHIRErrorAnswer {
    static func response(for error: any Error, request: Request, format: FHIRFormat, logger: Logger) -> Response {
        switch error {
        case let failure as FHIRRequestError:
            return FHIRHTTP.outcome(failure, format: format)
        case let refusal as CaseInputError:
            return FHIRHTTP.outcome(FHIRRequestError(HTTPResponse.Status(code: refusal.status), refusal.issues), format: format)
        case let failure as StoreError:
            // Transient for the sender: an interface engine retries a 503 (and honours Retry-After).
            logger.error("store failed", metadata: ["store.code": "\(failure.code)", "store.reason": "\(failure.reason)"])
            var response = FHIRHTTP.outcome(
                FHIRRequestError(
                    .serviceUnavailable, code: .transient,
                    "The gateway could not store the request (\(failure.reason)); nothing was stored; send it again"),
                format: format
            )
            response.headers[.retryAfter] = "10"
            return response
        case let routing as HTTPError:
            // What no route answers: 404 for a path, 405 for a method.
            let failure = FHIRRequestError(
                routing.status,
                code: routing.status == .notFound ? .notFound : .notSupported,
                "\(request.method.rawValue) \(request.uri.path) is not supported by this gateway: see /fhir/metadata"
            )
            return FHIRHTTP.outcome(failure, format: format)
        default:
            logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            return FHIRHTTP.outcome(
                FHIRRequestError(.internalServerError, code: .exception, "The gateway could not process the request; nothing was stored"),
                format: format
            )
        }
    }
}
