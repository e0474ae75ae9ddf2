import FHIRCore
import Hummingbird
import Logging

/// Whatever no route under `/fhir` answers (HEAD, OPTIONS, `GET /fhir`, …) still gets an
/// OperationOutcome rather than Hummingbird's bare error page.
struct FHIROutcomeMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where request.uri.path == "/fhir" || request.uri.path.hasPrefix("/fhir/") {
            let format = (try? FHIRHTTP.responseFormat(request)) ?? .json
            return FHIRErrorAnswer.response(for: error, request: request, format: format, logger: logger)
        }
    }
}
