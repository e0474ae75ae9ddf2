import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOTLS

/// The FHIR API's connections: TLS with whatever context is current when the connection arrives
/// (so a reload's new certificate applies to new connections at once), a deadline for the
/// handshake, an observer that reports failed handshakes, then Hummingbird's HTTP/1.1 with the
/// edges it leaves open answered by `HTTPEdgesHandler`.
struct GatewayTLSChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let context: @Sendable () -> NIOSSLContext
    /// A connection whose handshake has not completed by then is closed.
    let handshakeTimeout: TimeAmount
    let handshakeFailed: @Sendable (_ peer: SocketAddress?, _ failure: TLSHandshakeFailure) -> Void
    /// The largest request body any endpoint takes, for `HTTPEdgesHandler`.
    let maxBodyBytes: @Sendable () -> Int
    /// How long an idle connection may take to send a whole request head.
    let requestHeaderTimeout: TimeAmount
    /// A request answered before it reaches the router (see `HTTPEdgesHandler`).
    let refusedAtTheEdge: @Sendable (_ status: Int, _ reason: String, _ peer: SocketAddress?, _ client: String?) -> Void

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context()))
            let report = handshakeFailed
            try channel.pipeline.syncOperations.addHandler(
                HandshakeTimeoutHandler(timeout: handshakeTimeout) { peer in report(peer, TLSHandshakeFailure(timeout: ())) })
            try channel.pipeline.syncOperations.addHandler(TLSHandshakeObserver(report: handshakeFailed))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }.flatMapThrowing { value in
            // Right after the HTTP decoder, before Hummingbird's conversion to HTTP types (which
            // drops the HTTP version).
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(HTTPEdgesHandler(maxBodyBytes: maxBodyBytes, headerTimeout: requestHeaderTimeout, refused: refusedAtTheEdge), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Why a TLS handshake failed, in a few fixed categories (a metric label) plus BoringSSL's own
/// reason (for the log line). Neither carries anything the client sent.
struct TLSHandshakeFailure: Sendable, Equatable {
    enum Category: String, Sendable, CaseIterable {
        /// The client offered no certificate, or one the client CA did not issue.
        case clientCertificate = "client_certificate"
        /// No common protocol version or cipher.
        case protocolMismatch = "protocol"
        /// Not TLS at all (plain HTTP to the HTTPS port, a port scanner).
        case notTLS = "not_tls"
        /// The connection closed before the handshake finished.
        case closed
        /// The handshake did not finish within `server.tlsHandshakeTimeoutSeconds`.
        case timeout
        /// The client refused the gateway's own certificate because it has expired (or is not yet
        /// valid): the client said so, or the certificate is outside its dates right now.
        case serverCertificateExpired = "server_certificate_expired"
        /// The client refused the gateway's own certificate: it does not trust its issuer, or the
        /// name does not match what it dialled.
        case serverCertificateUntrusted = "server_certificate_untrusted"
        case other
    }

    var category: Category
    var reason: String

    /// A failure while the gateway's own certificate is outside its dates: whatever the client
    /// said (many close without a readable alert), the certificate is the cause ops must fix.
    func underServerCertificate(valid: Bool) -> TLSHandshakeFailure {
        guard !valid, category == .other || category == .closed || category == .serverCertificateUntrusted else { return self }
        var failure = self
        failure.category = .serverCertificateExpired
        return failure
    }

    /// The handshake's deadline passed.
    init(timeout: Void) {
        category = .timeout
        reason = "handshake timeout"
    }

    /// Classifies an error raised before the handshake completed.
    init(_ error: any Error) {
        let text = String(describing: error)
        if let range = text.range(of: "OPENSSL_internal:") {
            reason = String(text[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" })
        } else if let ssl = error as? NIOSSLError {
            reason = String(String(describing: ssl).prefix { $0.isLetter || $0.isNumber })
        } else {
            reason = String(String(describing: type(of: error)).prefix(60))
        }
        switch reason {
        // The gateway's own verdict on the client's certificate.
        case "CERTIFICATE_VERIFY_FAILED", "PEER_DID_NOT_RETURN_A_CERTIFICATE", "TLSV1_CERTIFICATE_REQUIRED":
            category = .clientCertificate
        // Alerts the client sent: it refuses the gateway's certificate.
        case "SSLV3_ALERT_CERTIFICATE_EXPIRED":
            category = .serverCertificateExpired
        // BAD_PACKET_LENGTH: a TLS 1.3 client built on OpenSSL (curl, Python, most engines) that
        // refuses the gateway's certificate sends its alert before it encrypts anything, and
        // BoringSSL, expecting an encrypted record, reports this.
        case "TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE", "SSLV3_ALERT_CERTIFICATE_UNKNOWN", "BAD_PACKET_LENGTH":
            category = .serverCertificateUntrusted
        case "UNSUPPORTED_PROTOCOL", "NO_SHARED_CIPHER", "TLSV1_ALERT_PROTOCOL_VERSION", "NO_COMMON_SIGNATURE_ALGORITHMS":
            category = .protocolMismatch
        case "HTTP_REQUEST", "HTTPS_PROXY_REQUEST", "WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG":
            category = .notTLS
        case "uncleanShutdown", "closedDuringHandshake", "ioError":
            category = .closed
        default:
            category = .other
        }
    }
}

/// Sits behind the TLS handler until the handshake completes, and reports the first error raised
/// before that; then takes itself out of the pipeline.
final class TLSHandshakeObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    let report: @Sendable (SocketAddress?, TLSHandshakeFailure) -> Void
    private var reported = false

    init(report: @escaping @Sendable (SocketAddress?, TLSHandshakeFailure) -> Void) {
        self.report = report
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            ClientIdentity.handshakeCompleted(context)
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !reported {
            reported = true
            report(context.channel.remoteAddress, TLSHandshakeFailure(error))
        }
        context.fireErrorCaught(error)
    }
}
