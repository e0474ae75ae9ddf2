import FHIRCore
import Hummingbird

/// Whatever no route under `/fhir` answers (HEAD, OPTIONS, `GET /fhir`, …) still gets an
/// OperationOutcome rather than Hummingbird's bare error page.
struct FHIROutcomeMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where request.uri.path == "/fhir" || request.uri.path.hasPrefix("/fhir/") {
            let format = (try? FHIRHTTP.responseFormat(request)) ?? .json
            let failure = FHIRHTTP.Failure(
                error.status,
                code: error.status == .notFound ? .notFound : .notSupported,
                "\(request.method.rawValue) \(request.uri.path) is not supported by this gateway: see /fhir/metadata"
            )
            return FHIRHTTP.outcome(failure, format: format)
        }
    }
}
