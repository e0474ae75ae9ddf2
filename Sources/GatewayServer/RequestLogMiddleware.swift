import Foundation
import Hummingbird
import Logging

/// One log line per request: a request id, the method, the route *template* (`/fhir/Observation/:id`
/// — never the path's own identifiers, never the query string), the status, the duration and the
/// body sizes. Nothing from the request's content is logged. The same facts feed the request
/// metrics.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let logger: Logger
    let metrics: GatewayMetrics

    /// Methods named as they are; any other becomes `other` (a label must not grow without bound).
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let id = UUID().uuidString.prefix(13).lowercased()
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let route = context.endpointPath ?? "unmatched"
        let method = Self.knownMethods.contains(request.method.rawValue) ? request.method.rawValue : "other"
        metrics.request(method: method, route: route, status: response.status.code, duration: elapsed)
        logger.info(
            "request",
            metadata: [
                "request.id": "\(id)",
                "http.method": "\(method)",
                "http.route": "\(route)",
                "http.status": "\(response.status.code)",
                "duration.ms": "\(String(format: "%.2f", milliseconds))",
                "request.bytes": "\(request.headers[.contentLength] ?? "-")",
                "response.bytes": "\(response.body.contentLength.map(String.init) ?? "-")",
            ]
        )
        return response
    }
}
