import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Storage

/// The operations listener (`metrics.host:metrics.port`, plain HTTP, meant for loopback):
/// `/livez` (the process answers), `/readyz` (it should get traffic) and `/metrics` (Prometheus).
struct OperationsEndpoints: Sendable {
    let store: any GatewayStore
    let settings: LiveSettings
    let health: HealthState
    let metrics: GatewayMetrics
    /// The public key of SMART Backend Services, as the JWK Set an EHR registers (or fetches).
    let jwks: [UInt8]?

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/livez") { _, _ in "ok\n" }
        if let jwks {
            router.get("/.well-known/jwks.json") { _, _ -> Response in
                Response(
                    status: .ok, headers: [.contentType: "application/json", .cacheControl: "max-age=300"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: jwks)))
            }
        }
        router.get("/readyz") { _, _ -> Response in
            let reasons = notReadyReasons(now: Date())
            if reasons.isEmpty { return Self.text("ready\n") }
            return Self.text("not ready: \(reasons.joined(separator: "; "))\n", status: .serviceUnavailable)
        }
        router.get("/metrics") { _, _ -> Response in
            let now = health.current
            let statistics = try? await store.statistics()
            metrics.refresh(
                store: statistics, storeWritable: now.storeWritable, certificateNotAfter: settings.current.tls.notAfter,
                draining: now.draining, now: Date())
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render()))
            )
        }
        return router
    }

    /// Why the gateway should not get traffic now; empty when it should.
    func notReadyReasons(now date: Date) -> [String] {
        let now = health.current
        var reasons: [String] = []
        if now.draining { reasons.append("draining") }
        if !now.storeWritable { reasons.append("the store does not take writes") }
        let tls = settings.current.tls
        if !tls.isValid(at: date) {
            reasons.append(date > tls.notAfter ? "the server certificate has expired" : "the server certificate is not valid yet")
        }
        return reasons
    }

    static func text(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
