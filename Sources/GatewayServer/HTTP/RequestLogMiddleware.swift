import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// One log line per request: its id, the method, the route *template* (`/fhir/Observation/:id`
/// — never the path's own identifiers, never the query string), the status, the duration, the
/// body sizes, the client certificate's common name and the peer address; for a refusal the
/// OperationOutcome's issue code and element path (a FHIRPath, never a value). Nothing from the
/// request's content is logged. The same facts feed the request metrics.
///
/// The id is the sender's `X-Request-ID` when it is well-formed, else one the gateway makes; it
/// is echoed in the answer's `X-Request-ID` and is on every line logged while the request runs.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let logger: Logger
    let metrics: GatewayMetrics

    static let requestIDField = HTTPField.Name("X-Request-ID")!

    /// `1.25` for 1,250 µs: milliseconds with two decimals, a number in JSON logs.
    static func milliseconds(_ duration: Duration) -> Double {
        let hundredths = duration.components.seconds * 100_000 + duration.components.attoseconds / 10_000_000_000_000
        return Double(hundredths) / 100
    }

    /// Methods named as they are; any other becomes `other` (a label must not grow without bound).
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// Request ids the gateway makes: 13 hex digits, a random prefix per run (20 bits) and a
    /// counter (32 bits), so unique within a run and unlikely to repeat across runs, without a
    /// `getrandom` call per request.
    static let runPrefix = UInt64.random(in: 0..<(1 << 20)) << 32
    static let requestCount = Atomic<UInt64>(0)

    static func nextID() -> String {
        let number = runPrefix | (requestCount.wrappingAdd(1, ordering: .relaxed).newValue & 0xFFFF_FFFF)
        let digits = String(number, radix: 16)
        return String(repeating: "0", count: max(0, 13 - digits.count)) + digits
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let trace = RequestTrace(id: RequestTrace.acceptedID(request.headers[Self.requestIDField]) ?? Self.nextID())
        metrics.requestStarted()
        defer { metrics.requestEnded() }
        var response = try await RequestTrace.$current.withValue(trace) {
            try await next(request, context)
        }
        response.headers[Self.requestIDField] = trace.id
        let elapsed = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        let method = Self.knownMethods.contains(request.method.rawValue) ? request.method.rawValue : "other"
        let status = Int(response.status.code)
        metrics.request(method: method, route: route, status: response.status.code, duration: elapsed)
        var metadata: Logger.Metadata = [
            "request.id": .string(trace.id),
            "http.method": .string(method),
            "http.route": .string(route),
            "http.status": .stringConvertible(status),
            "duration.ms": .stringConvertible(Self.milliseconds(elapsed)),
            "request.bytes": request.headers[.contentLength].flatMap(Int.init).map { .stringConvertible($0) } ?? "-",
            "response.bytes": response.body.contentLength.map { .stringConvertible($0) } ?? "-",
            "client": .string(ClientIdentity.commonName(of: context.channel) ?? "-"),
            "peer": .string(context.channel.remoteAddress.logText),
        ]
        if status >= 400, let refusal = trace.recorded {
            metadata["outcome.code"] = .string(refusal.code)
            if let path = refusal.path { metadata["outcome.path"] = .string(path) }
        }
        logger.info("request", metadata: metadata)
        return response
    }
}
