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
/// A commit that queues a delivery rings `signal`, so it goes out at once; timers serve only the
/// retries' backoff. Up to `delivery.concurrency` deliveries wait for the upstream's answer at
/// once; their outcomes are committed beside the next exchanges. Never are two versions of one
/// assessment in flight (a newer one waits until the older one's outcome is recorded, so it cannot
/// be overtaken). On
/// shutdown it goes on delivering what is due for at most `delivery.drainSeconds`, so a case
/// scored just before a stop is not left waiting for the next start; what is still in flight then
/// is cancelled and stays pending. `DeliveryMachine` holds the states.
struct DeliveryService: Service {
    let store: any GatewayStore
    let upstream: GatewayConfiguration.Upstream
    let authorization: UpstreamAuthorization
    /// Rung by commits; carries the worker's other events too.
    let signal: OutboxSignal
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
        /// No access token until `until` (the authorization server refused or was unreachable):
        /// the delivery waits without spending an attempt.
        case awaitingAuthorization(until: Date, reason: String)
    }

    func run() async {
        var machine = DeliveryMachine(concurrency: policy().concurrency)
        var timer: (at: Date, task: Task<Void, Never>)?
        var events = signal.events.makeAsyncIterator()
        var cancelled = 0
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while true {
                    signal.looking()
                    let now = Date()
                    var nextDue: Date?
                    let free = machine.freeSlots(now: now)
                    if let blocked = await authorization.blockedUntil(now: now) {
                        // No access token before then: every delivery would only wait again.
                        nextDue = blocked
                    } else if free > 0 {
                        do {
                            let found = try await store.dueDeliveries(now: now, limit: free, excluding: machine.inFlight)
                            for delivery in found.due {
                                let assessment = delivery.item.assessmentIdentifier
                                machine.started(assessment)
                                group.addTask {
                                    await deliver(delivery) { signal.send(.answered) }
                                    signal.send(.finished(assessment: assessment))
                                }
                            }
                            nextDue = found.nextDue
                            // On a shared store, what other gateways queue (or leave behind) rings
                            // no bell here: look again within the store's poll interval.
                            if let poll = store.pollInterval {
                                nextDue = min(nextDue ?? .distantFuture, now.addingTimeInterval(poll))
                            }
                        } catch {
                            // The store failed (the log says why): look again in a second.
                            logger.error("delivery could not read the outbox", metadata: ["error.type": "\(type(of: error))"])
                            nextDue = now.addingTimeInterval(1)
                        }
                    }
                    // The time of the store's look: what it did not return as due falls due after it.
                    let wait = machine.looked(nextDue: nextDue, now: now)
                    if wait == .stop { break }
                    // One timer, moved only when the time to wake changes.
                    if case .until(let date) = wait {
                        if timer?.at != date {
                            timer?.task.cancel()
                            let signal = self.signal
                            timer = (date, Task {
                                // Rounded up: a timer that fires early finds nothing due yet.
                                try? await Task.sleep(for: .milliseconds(max(0, Int((date.timeIntervalSinceNow * 1000).rounded(.up)) + 1)))
                                if !Task.isCancelled { signal.send(.timer) }
                            })
                        }
                    } else {
                        timer?.task.cancel()
                        timer = nil
                    }
                    guard let event = await events.next() else { break }
                    switch event {
                    case .answered: machine.answered()
                    case .finished(let assessment): machine.finished(assessment)
                    case .shutdown: machine.shutdown(now: Date(), drainSeconds: policy().drainSeconds)
                    case .timer: timer = nil
                    case .queued: break
                    }
                }
                timer?.task.cancel()
                // Past the drain's deadline: what is still in flight stays pending for the next start.
                cancelled = machine.inFlight.count
                group.cancelAll()
            }
        } onGracefulShutdown: {
            signal.send(.shutdown)
        }
        let left = (try? await store.statistics().pending) ?? 0
        logger.notice("delivery stopped", metadata: ["outbox.pending": .stringConvertible(left), "deliveries.cancelled": .stringConvertible(cancelled)])
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
        // A connection closed with a delivery still waiting for its answer (at the drain's end)
        // waits this long for the upstream's close_notify, not NIOSSL's default five seconds.
        tls.shutdownTimeout = .seconds(1)
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
