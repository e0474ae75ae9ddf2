import Foundation

/// How a delivery authorizes itself to the upstream (`upstream.auth`): nothing (mutual TLS alone
/// or an open server), the token in `upstream.bearerTokenFile` (read at each use, so a rotated
/// token is picked up), or an access token from SMART Backend Services.
enum UpstreamAuthorization: Sendable {
    case none
    case bearerTokenFile(String)
    case smart(SMARTBackendAuth)

    struct Credential: Sendable {
        /// The `Authorization` header's value, if any.
        var header: String?
        fileprivate var token: String?
    }

    enum Lookup: Sendable {
        case found(Credential)
        /// No access token until `until` (the authorization server refused or could not be
        /// reached): the delivery waits without spending an attempt.
        case wait(until: Date, reason: String)
        /// The operator's to fix (an unreadable token file): the attempt counts, and the outbox
        /// shows why.
        case unusable(reason: String)
    }

    init(_ upstream: GatewayConfiguration.Upstream, smart: SMARTBackendAuth?) {
        switch (upstream.auth, upstream.bearerTokenFile, smart) {
        case (.bearerTokenFile, let path?, _): self = .bearerTokenFile(path)
        case (.smartBackend, _, let smart?): self = .smart(smart)
        default: self = .none
        }
    }

    func credential(now: Date = Date()) async -> Lookup {
        switch self {
        case .none:
            return .found(Credential(header: nil))
        case .bearerTokenFile(let path):
            guard let token = SmallFile.text(path)?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty
            else { return .unusable(reason: "the bearer token file \(path) (upstream.bearerTokenFile) cannot be read, is empty or is over 64 KiB") }
            return .found(Credential(header: "Bearer \(token)", token: token))
        case .smart(let auth):
            do {
                let token = try await auth.token(now: now)
                return .found(Credential(header: "Bearer \(token)", token: token))
            } catch {
                let until = await auth.retryTime(now: now) ?? now.addingTimeInterval(1)
                return .wait(until: until, reason: error.description)
            }
        }
    }

    /// Until when no credential can be had (the authorization server refused, and its backoff
    /// runs): the worker starts no delivery before then. Nil when one can be asked for now.
    func blockedUntil(now: Date = Date()) async -> Date? {
        if case .smart(let auth) = self { return await auth.retryTime(now: now) }
        return nil
    }

    /// Whether a 401 can be answered with a new credential (a new SMART access token).
    var renewsAfterRefusal: Bool {
        if case .smart = self { return true }
        return false
    }

    /// The upstream answered 401 to this credential: a SMART token is dropped.
    func refused(_ credential: Credential) async {
        if case .smart(let auth) = self, let token = credential.token { await auth.invalidate(token) }
    }
}
