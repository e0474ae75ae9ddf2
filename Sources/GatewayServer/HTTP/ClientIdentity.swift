import NIOCore
import NIOSSL
import Synchronization
import SwiftASN1
import X509

/// The subject common name of each open connection's client certificate (mutual TLS), read
/// once when its handshake completes and forgotten when it closes, so a request costs a look-up,
/// not a certificate parse nor a hop to the connection's event loop.
enum ClientIdentity {
    private static let names = Mutex<[ObjectIdentifier: String]>([:])

    /// Called on the connection's event loop when its handshake has completed.
    static func handshakeCompleted(_ context: ChannelHandlerContext) {
        guard let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
            let certificate = handler.peerCertificate, let name = commonName(certificate)
        else { return }
        let channel = context.channel
        let key = ObjectIdentifier(channel)
        names.withLock { $0[key] = name }
        channel.closeFuture.whenComplete { _ in _ = names.withLock { $0.removeValue(forKey: key) } }
    }

    /// nil without a client certificate, or when its subject has no common name.
    static func commonName(of channel: any Channel) -> String? {
        names.withLock { $0[ObjectIdentifier(channel)] }
    }

    /// The subject's common name of a certificate.
    static func commonName(_ certificate: NIOSSLCertificate) -> String? {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return nil }
        for relativeName in parsed.subject {
            for attribute in relativeName where attribute.type == .RDNAttributeType.commonName {
                return attribute.value.description
            }
        }
        return nil
    }
}
