import Hummingbird
import Logging
import NIOCore

/// What a request's context is made from: the connection, the logger, and the configuration the
/// request is served under.
struct GatewayRequestSource: RequestContextSource {
    let channel: any Channel
    let logger: Logger
    let settings: LiveSettings.Snapshot
}

/// The request context of the FHIR API: Hummingbird's core context, the connection (for the
/// client certificate of a mutual-TLS connection), and the one snapshot of the live settings
/// taken when the request arrived. Every handler, and the transaction it commits, reads the
/// configuration and the model from this snapshot only, so a reload during a request never
/// mixes two configurations in one answer.
struct GatewayRequestContext: RequestContext {
    typealias Source = GatewayRequestSource
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    let settings: LiveSettings.Snapshot

    init(source: GatewayRequestSource) {
        coreContext = .init(source: source)
        channel = source.channel
        settings = source.settings
    }
}
