import AsyncHTTPClient
import FHIRCore
import FHIRModels
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import Storage

/// One delivery: the attempt, and what the outbox keeps of it.
extension DeliveryService {
    /// Sends the delivery and records its outcome; `answered` is called once, when the exchange
    /// with the upstream is over and before the outcome is committed.
    func deliver(_ delivery: DueDeliveries.Delivery, answered: () -> Void) async {
        let item = delivery.item
        guard let assessment = delivery.assessment else {
            answered()
            await recording(item) { try await store.markDead(item.sequence, attempts: item.attempts, error: "the assessment is no longer in the store") }
            return
        }
        let policy = self.policy()
        let attempt = await send(assessment, timeoutSeconds: policy.timeoutSeconds)
        answered()
        // Cancelled at the end of a drain: the item stays as it is, pending, for the next start.
        if Task.isCancelled { return }
        await recording(item) { try await record(attempt, of: item, assessment: assessment, policy: policy) }
    }

    /// Runs a write of the item's outcome; when the store fails the item stays pending and is
    /// tried again.
    private func recording(_ item: OutboxItem, _ write: () async throws -> Void) async {
        do {
            try await write()
        } catch {
            logger.error("delivery could not record its outcome", metadata: ["outbox.id": .stringConvertible(item.sequence), "error.type": "\(type(of: error))"])
        }
    }

    private func record(_ attempt: Attempt, of item: OutboxItem, assessment: StoredAssessment, policy: GatewayConfiguration.Delivery) async throws {
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
        case .awaitingAuthorization(let until, let reason):
            // Not an attempt: the upstream was not asked. The refusal itself is logged once, by
            // the authorization.
            try await store.reschedule(item.sequence, attempts: item.attempts, at: until, error: reason)
            metadata["delivery.attempt"] = .stringConvertible(item.attempts)
            metadata["next.attempt"] = "\(FHIRInstant.text(until))"
            logger.info("delivery waits for an access token", metadata: metadata)
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

    /// PUTs the assessment upstream. With SMART, a 401 drops the access token and the PUT is
    /// sent once more with a fresh one.
    func send(_ assessment: StoredAssessment, timeoutSeconds: Double) async -> Attempt {
        // Read the stored assessment once: for the identifier's system and for the body sent.
        guard var node = FHIRReader().read(assessment.json, format: .json, validate: false).resource,
            let system = node.child(named: "identifier")?.value(of: "system")
        else { return .dead(status: nil, reason: "the assessment has no identifier") }
        let query =
            "\(system)|\(assessment.identifier)".addingPercentEncoding(
                withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "|&=+"))) ?? ""
        Self.stripLocalIdentity(&node)
        let body = ByteBuffer(bytes: FHIRJSONWriter().write(node))
        var request = HTTPClientRequest(url: "\(upstream.baseURL)/RiskAssessment?identifier=\(query)")
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: "application/fhir+json")
        request.headers.add(name: "Accept", value: "application/fhir+json")
        request.body = .bytes(body)
        var freshTokenTried = false
        while true {
            var attempt = request
            let credential: UpstreamAuthorization.Credential
            switch await authorization.credential() {
            case .found(let found): credential = found
            case .wait(let until, let reason): return .awaitingAuthorization(until: until, reason: reason)
            case .unusable(let reason): return .retry(after: nil, status: nil, reason: reason)
            }
            if let header = credential.header { attempt.headers.replaceOrAdd(name: "Authorization", value: header) }
            let result = await exchange(attempt, timeoutSeconds: timeoutSeconds)
            if case .retry(_, 401?, _) = result, authorization.renewsAfterRefusal, !freshTokenTried {
                await authorization.refused(credential)
                freshTokenTried = true
                continue
            }
            return result
        }
    }

    private func exchange(_ request: HTTPClientRequest, timeoutSeconds: Double) async -> Attempt {
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeoutSeconds * 1000)))
            switch response.status.code {
            case 200..<300:
                // Whatever the upstream answers with a 2xx, however large, the delivery is done.
                for try await _ in response.body {}
                return .delivered(status: Int(response.status.code))
            case 401, 408, 429, 500..<600:
                // 401: the credentials were refused; a renewed token or token file may pass.
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
}
