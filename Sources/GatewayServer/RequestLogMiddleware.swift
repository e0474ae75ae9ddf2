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

    /// `1.25` for 1,250 µs: two decimals, without `String(format:)` (costly on every request).
    static func milliseconds(_ duration: Duration) -> String {
        let hundredths = duration.components.seconds * 100_000 + duration.components.attoseconds / 10_000_000_000_000
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// Methods named as they are; any other becomes `other` (a label must not grow without bound).
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let id = UUID().uuidString.prefix(13).lowercased()
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
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
                "duration.ms": "\(Self.milliseconds(elapsed))",
                "request.bytes": "\(request.headers[.contentLength] ?? "-")",
                "response.bytes": "\(response.body.contentLength.map(String.init) ?? "-")",
            ]
        )
        return response
    }
}
