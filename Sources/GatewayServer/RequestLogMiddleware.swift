import Foundation
import Hummingbird
import Logging
import Synchronization

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

    /// Request ids: 13 hex digits, a random prefix per run (20 bits) and a counter (32 bits), so
    /// unique within a run and unlikely to repeat across runs. A random UUID per request cost a
    /// `getrandom` call and its formatting (2 % of a request's time under load, perf).
    static let runPrefix = UInt64.random(in: 0..<(1 << 20)) << 32
    static let requestCount = Atomic<UInt64>(0)

    static func nextID() -> String {
        let number = runPrefix | (requestCount.wrappingAdd(1, ordering: .relaxed).newValue & 0xFFFF_FFFF)
        let digits = String(number, radix: 16)
        return String(repeating: "0", count: max(0, 13 - digits.count)) + digits
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let id = Self.nextID()
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
