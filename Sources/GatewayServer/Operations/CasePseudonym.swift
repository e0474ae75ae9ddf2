import Crypto
import Foundation
import RiskModel

/// The case id the log shows: a keyed hash (HMAC-SHA-256) of the RiskAssessment's identifier,
/// truncated to 16 hex digits. Stable across restarts (the key is kept on disk), so ops can follow
/// one case through the log; without the key it cannot be linked back to a patient or study.
struct CasePseudonym: Sendable {
    let key: SymmetricKey

    func id(for identifier: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(identifier.utf8), using: key)
        return code.prefix(8).hexEncoded
    }

    /// Reads the key file, or creates it (32 random bytes in hex, mode 0600) when it is missing.
    static func load(path: String) throws(PseudonymKeyError) -> CasePseudonym {
        if !FileManager.default.fileExists(atPath: path) {
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty {
                try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            let key = SymmetricKey(size: .bits256)
            let text = key.withUnsafeBytes { $0.hexEncoded } + "\n"
            let created = FileManager.default.createFile(
                atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
            if !created {
                throw PseudonymKeyError(description: "logging.pseudonymKeyFile: cannot create \(path)")
            }
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PseudonymKeyError(description: "logging.pseudonymKeyFile: \(path) cannot be read")
        }
        let bytes = Data(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard bytes.count >= 32 else {
            throw PseudonymKeyError(description: "logging.pseudonymKeyFile: \(path) holds fewer than 32 characters; use a long random key")
        }
        return CasePseudonym(key: SymmetricKey(data: bytes))
    }
}

/// The pseudonym key (`logging.pseudonymKeyFile`) cannot be read, made or used.
struct PseudonymKeyError: Error, CustomStringConvertible {
    var description: String
}
