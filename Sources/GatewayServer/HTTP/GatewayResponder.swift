import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Turns the router into the HTTP channel's responder, as Hummingbird's Application does: a
/// request context per request (with the live settings' snapshot of that moment), a 500 for an
/// error nothing else handled, and a `Date` header.
enum GatewayResponder {
    /// - Parameter makeContext: the request's context, made when the request arrives.
    static func make<Responder: HTTPResponder>(
        _ responder: Responder, logger: Logger, context makeContext: @escaping @Sendable (any Channel) -> Responder.Context
    ) -> HTTPChannelHandler.Responder {
        let date = HTTPDateCache()
        return { request, writer, channel in
            let context = makeContext(channel)
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch let error as HTTPParserError {
                throw error
            } catch {
                logger.error("unhandled error", metadata: ["error.type": "\(type(of: error))"])
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = date.now()
            try await writer.write(response: response.head, body: response.body)
        }
    }
}

/// The `Date` header's text (RFC 9110 IMF-fixdate), formatted at most once a second.
final class HTTPDateCache: Sendable {
    private let cached = NIOLockedValueBox<(second: Int, text: String)>((-1, ""))

    func now() -> String {
        let second = Int(Date().timeIntervalSince1970)
        return cached.withLockedValue { cache in
            if cache.second != second {
                cache = (second, Self.format(second))
            }
            return cache.text
        }
    }

    static func format(_ second: Int) -> String {
        var time = time_t(second)
        var parts = tm()
        gmtime_r(&time, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
