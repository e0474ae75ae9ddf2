/// The gateway could not get an access token for the upstream: the authorization server refused
/// it, or could not be reached or understood. Deliveries wait (they are not dead letters) and are
/// tried again after a backoff. The description names the cause and the fix, never a token, an
/// assertion or key material.
struct UpstreamAuthError: Error, Hashable, CustomStringConvertible {
    struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidClient = "invalid_client"
            case invalidScope = "invalid_scope"
            case refused
            case unreachable
            case badAnswer = "bad_answer"
            case discovery
        }

        private let base: Base

        /// The client id, its key or the assertion was not accepted (also: a clock too far off).
        static let invalidClient = Code(base: .invalidClient)
        /// The scope asked for is not granted to this client.
        static let invalidScope = Code(base: .invalidScope)
        /// Another OAuth error (`invalid_request`, `unauthorized_client`, …).
        static let refused = Code(base: .refused)
        /// No answer from the token endpoint.
        static let unreachable = Code(base: .unreachable)
        /// An answer that is no token response.
        static let badAnswer = Code(base: .badAnswer)
        /// `[baseURL]/.well-known/smart-configuration` gave no token endpoint.
        static let discovery = Code(base: .discovery)

        /// The metric label and log field (`auth.error`).
        var description: String { base.rawValue }
    }

    let code: Code
    let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    var description: String { message }
}
