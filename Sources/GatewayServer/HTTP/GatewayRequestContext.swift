import Hummingbird
import NIOCore

/// The request context of the FHIR API: Hummingbird's core context plus the connection, from
/// which the client certificate of a mutual-TLS connection is read.
struct GatewayRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
