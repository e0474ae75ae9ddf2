import Foundation
import NIOSSL
import SwiftASN1
import X509

/// The server's TLS material, loaded and checked once: the context every new connection gets,
/// and the validity of the server certificate (for `/readyz` and the expiry metric). A reload
/// builds a new one and swaps it in; connections already open keep the one they started with.
struct ServerTLSMaterial: Sendable {
    let context: NIOSSLContext
    let notBefore: Date
    let notAfter: Date
    /// Mutual TLS: clients must present a certificate from the configured CA.
    let requiresClientCertificate: Bool

    /// TLS 1.2 and 1.3 only; mutual TLS when a client CA is configured: a client without a
    /// certificate, or with one from another CA, is refused at the handshake.
    static func load(_ configuration: GatewayConfiguration.TLS) throws(TLSMaterialError) -> ServerTLSMaterial {
        let chain = try step("tls.certificate", configuration.certificate, "a PEM certificate (chain)") {
            try NIOSSLCertificate.fromPEMFile(configuration.certificate)
        }
        guard let leaf = chain.first else {
            throw TLSMaterialError(key: "tls.certificate", message: "\(configuration.certificate) holds no certificate")
        }
        let key = try step("tls.privateKey", configuration.privateKey, "a PEM private key") {
            try NIOSSLPrivateKey(file: configuration.privateKey, format: .pem)
        }
        try checkKeyMatches(certificate: leaf, keyFile: configuration.privateKey, configuration: configuration)
        var tls: TLSConfiguration
        if let clientCA = configuration.clientCA {
            let roots = try step("tls.clientCA", clientCA, "PEM CA certificates") { try NIOSSLCertificate.fromPEMFile(clientCA) }
            guard !roots.isEmpty else {
                throw TLSMaterialError(key: "tls.clientCA", message: "\(clientCA) holds no certificate: no client could connect")
            }
            tls = TLSConfiguration.makeServerConfigurationWithMTLS(
                certificateChain: chain.map { .certificate($0) },
                privateKey: .privateKey(key),
                trustRoots: .certificates(roots)
            )
        } else {
            tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        }
        tls.minimumTLSVersion = .tlsv12
        tls.maximumTLSVersion = .tlsv13
        let context = try step("tls", configuration.certificate, "a certificate and key BoringSSL accepts") { try NIOSSLContext(configuration: tls) }
        return ServerTLSMaterial(
            context: context,
            notBefore: Date(timeIntervalSince1970: TimeInterval(leaf.notValidBefore)),
            notAfter: Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter)),
            requiresClientCertificate: configuration.clientCA != nil
        )
    }

    /// One file read, its failure named by its key and file.
    private static func step<T>(_ key: String, _ file: String, _ expected: String, _ body: () throws -> T) throws(TLSMaterialError) -> T {
        do {
            return try body()
        } catch {
            throw TLSMaterialError(key: key, message: "\(file) cannot be used: it does not hold \(expected) (\(error))")
        }
    }

    /// A key that does not belong to the certificate would only fail at the first handshake;
    /// refuse it at start-up (or reload) instead.
    static func checkKeyMatches(certificate: NIOSSLCertificate, keyFile: String, configuration: GatewayConfiguration.TLS) throws(TLSMaterialError) {
        guard let pem = try? String(contentsOfFile: keyFile, encoding: .utf8),
            let key = try? Certificate.PrivateKey(pemEncoded: pem),
            let parsed = try? Certificate(derEncoded: certificate.toDERBytes())
        else { return }  // a key type swift-certificates does not read: BoringSSL still checks it
        if key.publicKey != parsed.publicKey {
            throw TLSMaterialError(
                key: "tls.privateKey",
                message: "the key in \(configuration.privateKey) does not belong to the certificate in \(configuration.certificate)")
        }
    }

    /// Valid at `date`: not before its start, not after its end.
    func isValid(at date: Date) -> Bool { date >= notBefore && date <= notAfter }
}

/// A TLS file that cannot be used: what is wrong, and the key of the file it is about.
struct TLSMaterialError: Error, CustomStringConvertible {
    var key: String
    var message: String
    var description: String { "\(key): \(message)" }
}
