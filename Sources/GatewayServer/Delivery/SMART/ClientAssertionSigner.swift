import Crypto
import Foundation
import JWTKit

/// The gateway's SMART Backend Services key (`upstream.jwtSigningKey`, `upstream.jwtKeyID`): it
/// signs the client assertions (RFC 7523, `private_key_jwt`) and gives its public half as the
/// JWK Set an EHR registers. An RSA key (2048 bits or more) signs RS384, an EC P-384 key ES384:
/// the two algorithms the SMART specification requires clients to support.
struct ClientAssertionSigner: Sendable {
    enum Algorithm: String, Sendable {
        case rs384 = "RS384"
        case es384 = "ES384"
    }

    let keyID: String
    let algorithm: Algorithm
    /// The public key as a JWK Set (`{"keys":[…]}`), without any private member.
    let publicJWKS: [UInt8]
    private let keys: JWTKeyCollection

    /// The claims of a client assertion (SMART App Launch 2, Backend Services).
    struct Claims: JWTPayload {
        var iss: IssuerClaim
        var sub: SubjectClaim
        var aud: AudienceClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim
        var jti: IDClaim

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// The public JWK as SMART registers it: `kty`, `kid`, `alg`, `use`, and `n`/`e` or `crv`/`x`/`y`.
    struct PublicJWK: Encodable {
        var kty: String
        var kid: String
        var alg: String
        var use = "sig"
        var n: String?
        var e: String?
        var crv: String?
        var x: String?
        var y: String?
    }

    /// Reads the PEM key at `path` (PKCS#8, PKCS#1 RSA or SEC1 EC).
    static func load(path: String, keyID: String) async throws(SigningKeyError) -> ClientAssertionSigner {
        guard let pem = SmallFile.text(path) else {
            throw SigningKeyError(path: path, reason: "it cannot be read, or is over 64 KiB (a PEM key is a few KiB)")
        }
        // Integer NumericDates (`exp`, `iat`), as RFC 7519 and SMART ask.
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .integerSecondsSince1970
        let serializer = DefaultJWTSerializer(jsonEncoder: encoder)
        let keys = JWTKeyCollection(defaultJWTSerializer: serializer)
        let kid = JWKIdentifier(string: keyID)
        let jwk: PublicJWK
        let algorithm: Algorithm
        if let rsa = try? Insecure.RSA.PrivateKey(pem: pem) {
            guard let primitives = try? rsa.publicKey.getKeyPrimitives() else {
                throw SigningKeyError(path: path, reason: "its RSA public key cannot be read")
            }
            await keys.add(rsa: rsa, digestAlgorithm: .sha384, kid: kid, serializer: serializer)
            algorithm = .rs384
            jwk = PublicJWK(
                kty: "RSA", kid: keyID, alg: algorithm.rawValue, n: Self.base64URL(primitives.modulus), e: Self.base64URL(primitives.publicExponent))
        } else if let ec = try? ES384PrivateKey(pem: pem), let parameters = ec.parameters {
            await keys.add(ecdsa: ec, kid: kid, serializer: serializer)
            algorithm = .es384
            jwk = PublicJWK(kty: "EC", kid: keyID, alg: algorithm.rawValue, crv: "P-384", x: parameters.x, y: parameters.y)
        } else {
            throw SigningKeyError(
                path: path, reason: "it holds no RSA private key of 2048 bits or more (RS384) and no EC P-384 private key (ES384) in PEM")
        }
        let jwks: [UInt8]
        do {
            let writer = JSONEncoder()
            writer.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            jwks = Array(try writer.encode(["keys": [jwk]]))
        } catch {
            throw SigningKeyError(path: path, reason: "its public key cannot be written as a JWK (\(error))")
        }
        return ClientAssertionSigner(keyID: keyID, algorithm: algorithm, publicJWKS: jwks, keys: keys)
    }

    /// A client assertion for one token request: `iss` = `sub` = the client id, `aud` = the
    /// token URL, a fresh `jti`, and `exp` four minutes ahead (SMART allows five at most; the
    /// minute left over absorbs a little clock skew).
    func assertion(clientID: String, tokenURL: String, now: Date) async throws -> String {
        let claims = Claims(
            iss: .init(value: clientID), sub: .init(value: clientID), aud: .init(value: [tokenURL]),
            exp: .init(value: now.addingTimeInterval(240)), iat: .init(value: now), jti: .init(value: UUID().uuidString))
        return try await keys.sign(claims, kid: JWKIdentifier(string: keyID), header: ["typ": "JWT"])
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// `upstream.jwtSigningKey` cannot be used; the reason names no key material.
public struct SigningKeyError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "upstream.jwtSigningKey: \(path): \(reason)" }
}

/// The public JWK Set of a SMART Backend Services key, for `fhir-risk-gateway jwks`.
public enum SMARTKeySet {
    public static func publicJWKS(keyPath: String, keyID: String) async throws(SigningKeyError) -> [UInt8] {
        try await ClientAssertionSigner.load(path: keyPath, keyID: keyID).publicJWKS
    }
}
