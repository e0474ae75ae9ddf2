import Foundation
import Yams

/// Every key the configuration file may hold. A key the gateway does not know is a problem, with
/// the known key it most resembles: a typo must never fall back to a default unseen.
enum ConfigurationKeys {
    static let known: Set<String> = [
        "server.host", "server.port", "server.maxConnections", "server.tlsHandshakeTimeoutSeconds", "server.requestHeaderTimeoutSeconds",
        "tls.certificate", "tls.privateKey", "tls.clientCA", "tls.allowedClientNames",
        "storage.path", "storage.retentionDays", "storage.kind", "storage.url", "storage.passwordFile", "storage.tls",
        "storage.caCertificate", "storage.poolSize",
        "upstream.baseURL", "upstream.caCertificate", "upstream.clientCertificate", "upstream.clientPrivateKey", "upstream.bearerTokenFile",
        "upstream.auth", "upstream.tokenURL", "upstream.clientID", "upstream.scope", "upstream.jwtSigningKey", "upstream.jwtKeyID",
        "metrics.host", "metrics.port", "metrics.maxConnections",
        "model.path", "profiles.path",
        "limits.maxBodyBytes", "limits.maxResourceBytes", "limits.maxBundleEntries",
        "delivery.maxAttempts", "delivery.initialBackoffSeconds", "delivery.maxBackoffSeconds", "delivery.timeoutSeconds",
        "delivery.drainSeconds", "delivery.concurrency",
        "cases.eligibility", "cases.requireBodySite", "cases.baseline", "cases.maxStudyAgeDays", "cases.scoreWithoutStudy",
        "logging.pseudonymKeyFile",
        "validation.profiles", "validation.coreProfiles",
        "shutdown.drainSeconds",
    ]

    /// The sections (`server`, `tls`, …), which may stand empty in the file.
    static let sections = Set(known.compactMap { $0.split(separator: ".").first.map(String.init) })

    /// One problem per key of the YAML text the gateway does not know.
    static func problems(yaml text: String) -> [String] {
        guard let document = try? Yams.load(yaml: text) else { return [] }  // the reader reports unreadable YAML
        var problems: [String] = []
        func walk(_ value: Any?, path: String) {
            if let mapping = value as? [String: Any?] {
                for key in mapping.keys.sorted() { walk(mapping[key] ?? nil, path: path.isEmpty ? key : "\(path).\(key)") }
                return
            }
            if let mapping = value as? [AnyHashable: Any] {
                for (key, inner) in mapping.sorted(by: { "\($0.key)" < "\($1.key)" }) {
                    walk(inner, path: path.isEmpty ? "\(key)" : "\(path).\(key)")
                }
                return
            }
            if known.contains(path) { return }
            if sections.contains(path), value == nil || value is NSNull { return }
            var problem = "\(path) is not a configuration key of this gateway"
            if let nearest = suggestion(for: path) { problem += " (did you mean \(nearest)?)" }
            problems.append(problem)
        }
        walk(document, path: "")
        return problems
    }

    /// The known key within three edits of `key`, if one is.
    static func suggestion(for key: String) -> String? {
        let candidates = known.map { ($0, distance(Array(key.lowercased()), Array($0.lowercased()))) }.filter { $0.1 <= 3 }
        return candidates.min { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }?.0
    }

    /// Levenshtein distance.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
