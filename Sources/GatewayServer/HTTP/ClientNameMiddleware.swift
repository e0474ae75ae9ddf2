import FHIRCore
import Hummingbird

/// With `tls.allowedClientNames`, only clients whose certificate (already verified against
/// `tls.clientCA` at the handshake) names one of them in its subject common name get in; the
/// others get 403 with an OperationOutcome. Checked per request, after the handshake, so that the
/// chain verification stays BoringSSL's.
struct ClientNameMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The request's configuration (a reload may change the names); empty: anyone the client
        // CA vouches for.
        let allowed = context.settings.configuration.tls.allowedClientNames
        if allowed.isEmpty { return try await next(request, context) }
        let name = ClientIdentity.commonName(of: context.channel)
        guard let name, allowed.contains(name) else {
            let format = (try? FHIRHTTP.responseFormat(request)) ?? .json
            let failure = FHIRRequestError(
                .forbidden,
                code: .forbidden,
                "The client certificate's subject (\(name.map { "CN=\($0)" } ?? "no common name")) is not on this gateway's allow-list"
            )
            return FHIRHTTP.outcome(failure, format: format)
        }
        return try await next(request, context)
    }
}
