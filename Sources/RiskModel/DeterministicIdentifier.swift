import Crypto
import Foundation

/// Name-based UUIDs (RFC 4122 version 5): the same name always gives the same UUID, so the same
/// case always gives the same RiskAssessment identity and a retry never creates a second one.
public enum DeterministicIdentifier {
    /// The namespace of fhir-risk-gateway's identifiers (a fixed, random UUID).
    static let namespace: [UInt8] = [
        0x6f, 0x1c, 0x2b, 0x7e, 0x94, 0x3d, 0x4a, 0x51, 0x8e, 0x0b, 0x52, 0xd4, 0x1a, 0x96, 0xc3, 0x27,
    ]

    /// `urn:uuid:…` for `name`.
    public static func urn(for name: String) -> String {
        var digest = Array(Insecure.SHA1.hash(data: namespace + Array(name.utf8)).prefix(16))
        digest[6] = (digest[6] & 0x0F) | 0x50  // version 5
        digest[8] = (digest[8] & 0x3F) | 0x80  // RFC 4122 variant
        let hex = digest.hexEncoded
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return "urn:uuid:" + parts.joined(separator: "-")
    }
}
