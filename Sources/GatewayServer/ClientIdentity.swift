import NIOCore
import NIOSSL
import SwiftASN1
import Synchronization
import X509

/// The subject common name of a connection's client certificate (mutual TLS), read once per
/// certificate: the names of the last certificates seen are kept, so a request costs a look-up
/// rather than a DER parse.
enum ClientIdentity {
    private static let names = Mutex<[NIOSSLCertificate: String]>([:])
    private static let kept = 256

    /// nil without a client certificate, or when its subject has no common name.
    static func commonName(of channel: any Channel) async -> String? {
        guard let certificate = try? await channel.nioSSL_peerCertificate().get() else { return nil }
        return commonName(certificate)
    }

    /// The subject's common name of a certificate, from the names kept when it was seen before.
    static func commonName(_ certificate: NIOSSLCertificate) -> String? {
        if let known = names.withLock({ $0[certificate] }) { return known }
        guard let name = parsedCommonName(certificate) else { return nil }
        names.withLock { names in
            if names.count >= kept { names.removeAll(keepingCapacity: true) }
            names[certificate] = name
        }
        return name
    }

    static func parsedCommonName(_ certificate: NIOSSLCertificate) -> String? {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return nil }
        for relativeName in parsed.subject {
            for attribute in relativeName where attribute.type == .RDNAttributeType.commonName {
                return attribute.value.description
            }
        }
        return nil
    }
}
