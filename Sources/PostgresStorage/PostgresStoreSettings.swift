import Foundation

/// Where the PostgreSQL store is and how to reach it: `storage.url`, `storage.passwordFile`,
/// `storage.tls`, `storage.caCertificate`, `storage.poolSize`.
public struct PostgresStoreSettings: Sendable, Equatable {
    /// How the connection is protected.
    public enum TLSMode: Sendable, Equatable {
        /// TLS, the server's certificate checked against `caCertificate` (the system's roots when
        /// nil) and its name against the host.
        case verifyFull(caCertificate: String?)
        /// No TLS: only for a database on the same host.
        case disable
    }

    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    /// Read from `storage.passwordFile`; never from the URL, which may end up in a log or a
    /// process listing.
    public var password: String?
    public var tls: TLSMode
    /// Connections to the database at most; as many writes run at once.
    public var poolSize: Int
    /// How long an operation waits for a connection (and a new connection for its handshake):
    /// with the database unreachable the pool would hold a request for about a minute; this
    /// answers it (503, Retry-After) instead. Tests on a crowded machine allow more.
    public var connectionWaitSeconds: Double

    public init(
        host: String, port: Int, user: String, database: String, password: String?, tls: TLSMode, poolSize: Int,
        connectionWaitSeconds: Double = 5
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.password = password
        self.tls = tls
        self.poolSize = poolSize
        self.connectionWaitSeconds = connectionWaitSeconds
    }

    /// The database's address as logs and messages name it (never with a password).
    public var address: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// Reads `postgres://user@host:port/database` (or `postgresql://`); says what is wrong with
    /// it otherwise. A password in the URL is refused: it belongs in `storage.passwordFile`.
    public static func parse(url text: String) -> Result<(host: String, port: Int, user: String, database: String), URLProblem> {
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            return .failure(URLProblem("is not a postgres:// URL (postgres://user@host:5432/database)"))
        }
        if components.password != nil {
            return .failure(URLProblem("carries a password: put it in storage.passwordFile instead (a URL ends up in logs and process listings)"))
        }
        guard let host = components.host, !host.isEmpty else { return .failure(URLProblem("names no host")) }
        guard let user = components.user, !user.isEmpty else { return .failure(URLProblem("names no user (postgres://user@host/database)")) }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { return .failure(URLProblem("names no database (postgres://user@host/database)")) }
        if let query = components.query, !query.isEmpty {
            return .failure(URLProblem("has parameters (\(query)): TLS is set by storage.tls and storage.caCertificate"))
        }
        return .success((host, components.port ?? 5432, user, database))
    }

    /// What is wrong with a `storage.url`.
    public struct URLProblem: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }
}
