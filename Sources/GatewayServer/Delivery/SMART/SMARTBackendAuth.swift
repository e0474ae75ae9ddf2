import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// SMART Backend Services for the upstream: finds the token endpoint (configured, or from
/// `[baseURL]/.well-known/smart-configuration`), asks it for an access token with a signed client
/// assertion (OAuth 2.0 client credentials, RFC 7523 `private_key_jwt`), and keeps the token until
/// shortly before it expires. Concurrent deliveries share one token request. After a refusal it
/// asks again only once its backoff has passed, so a rejected registration costs one request per
/// backoff step, not one per pending delivery.
actor SMARTBackendAuth {
    enum State {
        case noToken
        case fetching(Task<Token, any Error>)
        case valid(Token)
        /// Refused (or unreachable) until this time; then the next request asks again.
        case backingOff(until: Date, UpstreamAuthError)
    }

    struct Token: Sendable {
        var value: String
        var expires: Date
        var scope: String?
    }

    private let settings: GatewayConfiguration.Upstream.SMARTBackend
    private let baseURL: String
    private let signer: ClientAssertionSigner
    private let client: HTTPClient
    private let timeout: TimeAmount
    private let logger: Logger
    /// The first wait after a refusal, doubled at each further one up to `maxBackoff`.
    private let initialBackoff: Double
    private let maxBackoff: Double
    private let refused: @Sendable (UpstreamAuthError) -> Void
    private var state: State = .noToken
    private var discoveredTokenURL: String?
    private var refusals = 0

    init(
        settings: GatewayConfiguration.Upstream.SMARTBackend, baseURL: String, signer: ClientAssertionSigner, client: HTTPClient,
        timeoutSeconds: Double, backoff: (initial: Double, maximum: Double), logger: Logger,
        refused: @escaping @Sendable (UpstreamAuthError) -> Void
    ) {
        self.settings = settings
        self.baseURL = baseURL
        self.signer = signer
        self.client = client
        self.timeout = .milliseconds(Int64(timeoutSeconds * 1000))
        self.initialBackoff = backoff.initial
        self.maxBackoff = backoff.maximum
        self.logger = logger
        self.refused = refused
    }

    /// A valid access token, or why there is none (with the time to ask again).
    func token(now: Date = Date()) async throws(UpstreamAuthError) -> String {
        switch state {
        case .valid(let token) where token.expires > now:
            return token.value
        case .backingOff(let until, let error) where until > now:
            throw error
        case .fetching(let task):
            return try await result(of: task)
        default:
            let task = Task { try await self.requestToken() }
            state = .fetching(task)
            return try await result(of: task)
        }
    }

    /// The time a token may be asked for again after a refusal; nil when one may be asked for now.
    func retryTime(now: Date = Date()) -> Date? {
        if case .backingOff(let until, _) = state, until > now { return until }
        return nil
    }

    /// Forgets `token` (the upstream answered 401 with it): the next delivery asks for a new one.
    func invalidate(_ token: String) {
        if case .valid(let current) = state, current.value == token { state = .noToken }
    }

    private func result(of task: Task<Token, any Error>) async throws(UpstreamAuthError) -> String {
        do {
            let token = try await task.value
            if case .fetching = state { state = .valid(token) }
            if refusals > 0 {
                logger.notice("the authorization server issued a token again", metadata: ["auth.scope": "\(token.scope ?? settings.scope)"])
            }
            refusals = 0
            return token.value
        } catch {
            let failure = error as? UpstreamAuthError ?? UpstreamAuthError(.badAnswer, "the token request failed: \(type(of: error))")
            if case .fetching = state {
                refusals += 1
                let wait = min(maxBackoff, initialBackoff * pow(2, Double(min(refusals - 1, 30))))
                state = .backingOff(until: Date().addingTimeInterval(wait), failure)
                refused(failure)
            }
            throw failure
        }
    }

    private func requestToken() async throws -> Token {
        let tokenURL = try await self.tokenURL()
        let now = Date()
        let assertion = try await signer.assertion(clientID: settings.clientID, tokenURL: tokenURL, now: now)
        var request = HTTPClientRequest(url: tokenURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        let form = [
            ("grant_type", "client_credentials"), ("scope", settings.scope),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", assertion),
        ]
        request.body = .bytes(ByteBuffer(string: form.map { "\($0)=\(Self.formEncoded($1))" }.joined(separator: "&")))
        let (status, body) = try await fetch(request, what: "the token endpoint \(tokenURL)")
        let answer = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        guard (200..<300).contains(status) else {
            let error = answer?["error"] as? String
            let detail = (answer?["error_description"] as? String).map { ": \(String($0.prefix(300)))" } ?? ""
            let code: UpstreamAuthError.Code =
                switch error {
                case "invalid_client": .invalidClient
                case "invalid_scope": .invalidScope
                default: .refused
                }
            throw UpstreamAuthError(
                code,
                "the authorization server refused the token request (HTTP \(status), \(error ?? "no OAuth error")\(detail)): "
                    + Self.advice(code, clientID: settings.clientID, keyID: signer.keyID, scope: settings.scope))
        }
        guard let value = answer?["access_token"] as? String, !value.isEmpty,
            (answer?["token_type"] as? String)?.lowercased() == "bearer"
        else {
            throw UpstreamAuthError(.badAnswer, "the token endpoint \(tokenURL) answered \(status) without a bearer access_token")
        }
        // Kept until shortly before it expires: a tenth of its life, at most 30 s, early.
        let lifetime = (answer?["expires_in"] as? NSNumber)?.doubleValue ?? 300
        let expires = now.addingTimeInterval(max(0, lifetime - min(30, lifetime / 10)))
        let granted = answer?["scope"] as? String
        logger.info("access token issued", metadata: ["auth.scope": "\(granted ?? settings.scope)", "auth.expires.seconds": .stringConvertible(Int(lifetime))])
        return Token(value: value, expires: expires, scope: granted)
    }

    /// `upstream.tokenURL`, or the `token_endpoint` the FHIR server's SMART configuration names.
    private func tokenURL() async throws -> String {
        if let configured = settings.tokenURL { return configured }
        if let discoveredTokenURL { return discoveredTokenURL }
        let url = "\(baseURL)/.well-known/smart-configuration"
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let (status, body) = try await fetch(request, what: url)
        guard (200..<300).contains(status), let document = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let endpoint = document["token_endpoint"] as? String, URL(string: endpoint)?.scheme?.hasPrefix("http") == true
        else {
            throw UpstreamAuthError(
                .discovery, "\(url) answered \(status) without a token_endpoint: set upstream.tokenURL to the EHR's token endpoint")
        }
        discoveredTokenURL = endpoint
        logger.notice("token endpoint discovered", metadata: ["auth.token.url": "\(endpoint)"])
        return endpoint
    }

    private func fetch(_ request: HTTPClientRequest, what: String) async throws(UpstreamAuthError) -> (Int, [UInt8]) {
        do {
            let response = try await client.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 1_048_576)
            return (Int(response.status.code), Array(body.readableBytesView))
        } catch {
            throw UpstreamAuthError(.unreachable, "\(what) could not be reached: \(DeliveryFailure.reason(error, timeoutSeconds: Double(timeout.nanoseconds) / 1e9))")
        }
    }

    static func advice(_ code: UpstreamAuthError.Code, clientID: String, keyID: String, scope: String) -> String {
        switch code {
        case .invalidClient:
            "check that client id \(clientID) is registered with the public key of kid \(keyID) (fhir-risk-gateway jwks) and that this machine's clock is right"
        case .invalidScope:
            "the client \(clientID) is not granted \(scope): ask the EHR to grant it, or set upstream.scope to what it grants"
        default:
            "see the authorization server's answer"
        }
    }

    /// `application/x-www-form-urlencoded`: unreserved characters as they are, the rest percent-encoded.
    static func formEncoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? ""
    }
}
