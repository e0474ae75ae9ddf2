import FHIRCore
import NIOCore
import NIOHTTP1

/// The HTTP/1.1 edges the FHIR API answers itself, between the HTTP decoder and Hummingbird
/// (RFC 9110, RFC 9112):
/// - `CONNECT` (no tunnels here) gets 405 at once; the decoder would otherwise wait for a tunnel
///   (SwiftNIO's encoder sends a response to CONNECT without its body);
/// - a request that does not keep the connection alive (HTTP/1.0 without `keep-alive`) has its
///   connection closed after the answer;
/// - a request whose `Content-Length` is over the largest body the gateway takes has its
///   connection closed after the 413, instead of reading the rest of the body first;
/// - a request the decoder cannot read gets an OperationOutcome: 431 for headers over the limit,
///   400 otherwise, and the connection is closed;
/// - a connection that has not sent a whole request head within the request-header timeout of
///   becoming idle (its start, or the end of the last answer) is closed: a client sending its
///   headers a byte at a time holds a connection for no longer than that.
final class HTTPEdgesHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The largest request body any endpoint takes (`limits.maxBodyBytes`, read per request).
    let maxBodyBytes: @Sendable () -> Int
    let headerTimeout: TimeAmount
    /// Told of every answer given here (its status and reason, the peer and the client
    /// certificate's name), for the log: these requests never reach the request log.
    let refused: @Sendable (_ status: Int, _ reason: String, _ peer: SocketAddress?, _ client: String?) -> Void
    /// After answering here, the rest of what the client sends is dropped until the close.
    private var answered = false
    /// Since when the connection waits for a request head; nil while a request is under way.
    private var idleSince: NIODeadline?
    /// Looks at `idleSince` a few times per timeout: a timer per connection rather than one
    /// scheduled and cancelled for every request.
    private var watch: RepeatedTask?

    init(
        maxBodyBytes: @escaping @Sendable () -> Int, headerTimeout: TimeAmount,
        refused: @escaping @Sendable (_ status: Int, _ reason: String, _ peer: SocketAddress?, _ client: String?) -> Void
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.headerTimeout = headerTimeout
        self.refused = refused
    }

    func handlerAdded(context: ChannelHandlerContext) {
        idleSince = .now()
        let channel = context.channel
        let timeout = headerTimeout
        let interval = TimeAmount.nanoseconds(max(timeout.nanoseconds / 4, 100_000_000))
        // Runs on the connection's event loop, as every call of this handler does; cancelled when
        // the connection closes.
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        watch = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            if let since = handler.value.idleSince, NIODeadline.now() - since >= timeout { channel.close(promise: nil) }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopWatching()
    }

    private func stopWatching() {
        watch?.cancel()
        watch = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { idleSince = .now() }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopWatching()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if answered { return }
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        idleSince = nil
        if head.method == .CONNECT {
            answer(context, status: .methodNotAllowed, code: .notSupported, "CONNECT is not supported: this is a FHIR server, not a proxy")
            return
        }
        let length = head.headers.first(name: "content-length").flatMap(Int.init)
        if !head.isKeepAlive || (length ?? 0) > maxBodyBytes() {
            // Hummingbird closes the connection after answering a request that says close.
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.fireChannelRead(wrapInboundOut(.head(head)))
            return
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parse = error as? HTTPParserError, !answered else {
            context.fireErrorCaught(error)
            return
        }
        switch parse {
        case .headerOverflow:
            answer(context, status: .requestHeaderFieldsTooLarge, code: .tooLong, "The request's header fields are larger than the gateway takes")
        default:
            answer(context, status: .badRequest, code: .structure, "The request is not valid HTTP/1.1 (\(parse))")
        }
    }

    /// Writes an OperationOutcome answer and closes the connection.
    private func answer(_ context: ChannelHandlerContext, status: HTTPResponseStatus, code: FHIRIssue.Code, _ diagnostics: String) {
        answered = true
        refused(Int(status.code), diagnostics, context.channel.remoteAddress, ClientIdentity.commonName(of: context.channel))
        let body = FHIRJSONWriter().write(.operationOutcome([FHIRIssue(severity: .error, code: code, diagnostics: diagnostics)]))
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: FHIRFormat.json.mediaType)
        headers.add(name: "content-length", value: String(body.count))
        headers.add(name: "connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
