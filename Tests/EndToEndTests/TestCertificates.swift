import Crypto
import Foundation
import SwiftASN1
import X509

/// Certificates with chosen dates, for the checks of expired and expiring certificates: a CA of
/// its own and a server certificate for 127.0.0.1 and localhost, written as PEM files into a
/// folder laid out as `scripts/dev-certificates.sh` lays out its own (ca.crt, server.crt,
/// server.key).
enum TestCertificates {
    static func writeServerFolder(_ folder: String, notBefore: Date, notAfter: Date) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("fhir-risk-gateway test CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey), notValidBefore: notBefore.addingTimeInterval(-86_400),
            notValidAfter: Date().addingTimeInterval(365 * 86_400), issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(caKey))
        let serverKey = P256.Signing.PrivateKey()
        let server = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(serverKey.publicKey), notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: caName, subject: try DistinguishedName { CommonName("localhost") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
                try ExtendedKeyUsage([.serverAuth])
            },
            issuerPrivateKey: .init(caKey))
        try ca.serializeAsPEM().pemString.write(toFile: "\(folder)/ca.crt", atomically: true, encoding: .utf8)
        try server.serializeAsPEM().pemString.write(toFile: "\(folder)/server.crt", atomically: true, encoding: .utf8)
        try serverKey.pemRepresentation.write(toFile: "\(folder)/server.key", atomically: true, encoding: .utf8)
    }
}
