import CaseProcessing
import AsyncHTTPClient
import FHIRCore
import FHIRModels
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Prometheus
import ServiceLifecycle
import Storage

/// Posts every queued RiskAssessment to the upstream FHIR server as a conditional update on its
/// business identifier (`PUT [base]/RiskAssessment?identifier=system|value`), so retries and
/// re-scores never duplicate. Network errors, 5xx, 408 and 429 are retried with exponential
/// backoff and full jitter (honouring `Retry-After`) up to a limit; any other 4xx is a dead letter
/// with the upstream's answer. One failing case never blocks the others.
///
/// On shutdown it goes on delivering what is due for at most `delivery.drainSeconds`, so a case
/// scored just before a stop is not left waiting for the next start.
struct DeliveryService: Service {
    let store: any GatewayStore
    let upstream: GatewayConfiguration.Upstream
    /// The retry policy of the current configuration (a reload may change it).
    let policy: @Sendable () -> GatewayConfiguration.Delivery
    let client: HTTPClient
    let logger: Logger
    let metrics: GatewayMetrics
    /// The case's pseudonym on every delivery line (`case=`), as on its `case scored` line.
    let pseudonym: CasePseudonym

    /// What became of one attempt.
    enum Attempt: Equatable {
        case delivered(status: Int)
        /// `status` is nil when the upstream gave no answer.
        case retry(after: Double?, status: Int?, reason: String)
        case dead(status: Int?, reason: String)
    }

    func run() async throws {
        var drainUntil: Date?
        while !Task.isCancelled {
            if Task.isShuttingDownGracefully {
                let deadline = drainUntil ?? Date().addingTimeInterval(policy().drainSeconds)
                drainUntil = deadline
                if Date() >= deadline { break }
            }
            do {
                if let item = try await store.nextDue(now: Date()) {
                    try await deliver(item)
                    continue
                }
            } catch {
                logger.error("delivery loop error", metadata: ["error.type": "\(type(of: error))"])
            }
            // Nothing due now: when stopping, that is the end of the drain.
            if drainUntil != nil { break }
            // Otherwise wait until the next item is due, at most a second (new work arrives).
            let next = (try? await store.nextDueDate())?.timeIntervalSinceNow ?? 1
            try? await Task.sleep(for: .milliseconds(Int(max(0.02, min(1, next)) * 1000)))
        }
        if let drainUntil {
            let left = (try? await store.statistics().pending) ?? 0
            logger.notice("delivery stopped", metadata: ["outbox.pending": .stringConvertible(left), "drain.deadline.reached": .stringConvertible(Date() >= drainUntil)])
        }
    }

    func deliver(_ item: OutboxItem) async throws {
        guard let assessment = try await store.assessment(identifier: item.assessmentIdentifier) else {
            try await store.markDead(item.sequence, attempts: item.attempts, error: "the assessment is no longer in the store")
            return
        }
        let policy = self.policy()
        let attempt = await send(assessment, timeoutSeconds: policy.timeoutSeconds)
        let attempts = item.attempts + 1
        var metadata: Logger.Metadata = [
            "case": "\(pseudonym.id(for: assessment.identifier))", "outbox.id": .stringConvertible(item.sequence), "delivery.attempt": .stringConvertible(attempts),
            "assessment.version": .stringConvertible(assessment.version),
        ]
        switch attempt {
        case .delivered(let status):
            let now = Date()
            try await store.markDelivered(item.sequence, at: now)
            metrics.deliveries("delivered").increment()
            metrics.delivered(at: now)
            metadata["upstream.status"] = .stringConvertible(status)
            logger.info("delivered", metadata: metadata)
        case .dead(let status, let reason):
            try await store.markDead(item.sequence, attempts: attempts, error: reason)
            metrics.deliveries("dead").increment()
            if let status { metadata["upstream.status"] = .stringConvertible(status) }
            // The reason (the upstream's answer) may name the patient: it goes to the store, for
            // `outbox dead-letters`, never to the log.
            logger.warning("dead letter: refused by the upstream", metadata: metadata)
        case .retry(let after, let status, let reason):
            if let status { metadata["upstream.status"] = .stringConvertible(status) }
            if attempts >= policy.maxAttempts {
                try await store.markDead(item.sequence, attempts: attempts, error: "gave up after \(attempts) attempts: \(reason)")
                metrics.deliveries("dead").increment()
                logger.warning("dead letter: too many attempts", metadata: metadata)
                return
            }
            // Retry-After is honoured up to the longest backoff (an upstream's huge or non-finite
            // value must not park a delivery for ever).
            let retryAfter = after.map { $0.isFinite ? min(max(0, $0), policy.maxBackoffSeconds) : policy.maxBackoffSeconds } ?? 0
            let delay = max(retryAfter, Self.backoff(attempt: attempts, initial: policy.initialBackoffSeconds, maximum: policy.maxBackoffSeconds))
            let next = Date().addingTimeInterval(delay)
            try await store.reschedule(item.sequence, attempts: attempts, at: next, error: reason)
            metrics.deliveries("retry").increment()
            metadata["next.attempt"] = "\(FHIRInstant.text(next))"
            metadata["reason"] = "\(reason)"
            logger.notice("delivery failed, will retry", metadata: metadata)
        }
    }

    /// Exponential backoff with full jitter: uniform in [0, min(maximum, initial·2^attempt)].
    static func backoff(attempt: Int, initial: Double, maximum: Double) -> Double {
        let ceiling = min(maximum, initial * pow(2, Double(min(attempt, 30))))
        return Double.random(in: 0...ceiling)
    }

    func send(_ assessment: StoredAssessment, timeoutSeconds: Double) async -> Attempt {
        // Read the stored assessment once: for the identifier's system and for the body sent.
        guard var node = FHIRReader().read(assessment.json, format: .json, validate: false).resource,
            let system = node.child(named: "identifier")?.value(of: "system")
        else { return .dead(status: nil, reason: "the assessment has no identifier") }
        let query =
            "\(system)|\(assessment.identifier)".addingPercentEncoding(
                withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "|&=+"))) ?? ""
        var request = HTTPClientRequest(url: "\(upstream.baseURL)/RiskAssessment?identifier=\(query)")
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: "application/fhir+json")
        request.headers.add(name: "Accept", value: "application/fhir+json")
        switch Self.bearerToken(upstream) {
        case .none: break
        case .token(let token): request.headers.add(name: "Authorization", value: "Bearer \(token)")
        case .unreadable(let reason): return .retry(after: nil, status: nil, reason: reason)
        }
        Self.stripLocalIdentity(&node)
        request.body = .bytes(ByteBuffer(bytes: FHIRJSONWriter().write(node)))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
            switch response.status.code {
            case 200..<300:
                // Whatever the upstream answers with a 2xx, however large, the delivery is done.
                for try await _ in response.body {}
                return .delivered(status: Int(response.status.code))
            case 408, 429, 500..<600:
                for try await _ in response.body {}
                let retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init)
                return .retry(after: retryAfter, status: Int(response.status.code), reason: "HTTP \(response.status.code) from the upstream")
            default:
                // The refusal's reason is kept for the dead letter (its first MiB).
                let text = String(buffer: try await response.body.collect(upTo: 1_048_576))
                return .dead(status: Int(response.status.code), reason: "HTTP \(response.status.code) from the upstream: \(Self.summary(text))")
            }
        } catch {
            return .retry(after: nil, status: nil, reason: DeliveryFailure.describe(error, baseURL: upstream.baseURL, timeoutSeconds: timeoutSeconds))
        }
    }

    /// The assessment as the upstream gets it: without the gateway's own id and version (the
    /// upstream finds it by identifier and keeps its own).
    static func stripLocalIdentity(_ node: inout FHIRNode) {
        node.children.removeAll { $0.name == "id" }
        if let index = node.children.firstIndex(where: { $0.name == "meta" }) {
            node.children[index].children.removeAll { $0.name == "versionId" || $0.name == "lastUpdated" }
            if node.children[index].children.isEmpty { node.children.remove(at: index) }
        }
    }

    /// The diagnostics of an OperationOutcome answer, or the start of the text.
    static func summary(_ text: String) -> String {
        if let outcome = FHIRReader().read(Array(text.utf8), validate: false).resource, outcome.type.name == "OperationOutcome" {
            let diagnostics = outcome.children(named: "issue").compactMap { $0.value(of: "diagnostics") }
            if !diagnostics.isEmpty { return diagnostics.joined(separator: "; ") }
        }
        return String(text.prefix(500))
    }

    /// The `Authorization` the upstream gets: none, a token from `upstream.bearerTokenFile`
    /// (read at each use, so a rotated token is picked up), or why it cannot be read.
    enum BearerToken {
        case none
        case token(String)
        case unreadable(String)
    }

    static func bearerToken(_ upstream: GatewayConfiguration.Upstream) -> BearerToken {
        guard let tokenFile = upstream.bearerTokenFile else { return .none }
        guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty
        else { return .unreadable("the bearer token file \(tokenFile) (upstream.bearerTokenFile) cannot be read or is empty") }
        return .token(token)
    }

    /// The HTTP client's configuration: the upstream's TLS, a 10 s connect timeout and
    /// `timeoutSeconds` to read an answer.
    static func clientConfiguration(_ upstream: GatewayConfiguration.Upstream, timeoutSeconds: Double) throws -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(tlsConfiguration: try tlsConfiguration(upstream))
        configuration.timeout = .init(connect: .seconds(10), read: .milliseconds(Int64(timeoutSeconds * 1000)))
        return configuration
    }

    /// The client's TLS: the upstream's CA and, when configured, the gateway's client certificate.
    static func tlsConfiguration(_ upstream: GatewayConfiguration.Upstream) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let ca = upstream.caCertificate {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        }
        if let certificate = upstream.clientCertificate, let key = upstream.clientPrivateKey {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return tls
    }
}
