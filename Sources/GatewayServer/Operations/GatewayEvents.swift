import Foundation
import CaseProcessing
import Logging
import NIOCore
import Prometheus
import RiskModel
import Storage

/// The events ops see: one log line each, with the matching metric. What they carry is chosen
/// so that no line can identify a patient: cases appear under a keyed pseudonym, never with an
/// identifier, a name, a date of birth or a resource body.
struct GatewayEvents: Sendable {
    let logger: Logger
    let metrics: GatewayMetrics
    let pseudonym: CasePseudonym

    /// - Parameter model: the name of the model the request was scored with.
    func caseScored(_ scored: CaseProcessor.ScoredCase, model: String) {
        switch scored.change {
        case .assessed(let stratum, let risk):
            metrics.caseScored(stratum: Self.name(stratum))
            logger.info(
                "case scored",
                metadata: [
                    "case": "\(pseudonym.id(for: scored.assessment.identifier))",
                    "model": "\(model)",
                    "stratum": "\(Self.name(stratum))",
                    "risk": "\(risk.rawValue)",
                    "assessment.status": "\(scored.assessment.status)",
                    "assessment.version": .stringConvertible(scored.assessment.version),
                ]
            )
        case .withdrawn:
            metrics.caseWithdrawn()
            logger.notice(
                "case withdrawn",
                metadata: [
                    "case": "\(pseudonym.id(for: scored.assessment.identifier))",
                    "model": "\(model)",
                    "assessment.status": "\(scored.assessment.status)",
                    "assessment.version": .stringConvertible(scored.assessment.version),
                ]
            )
        }
    }

    /// A RiskAssessment made but not stored or sent, since it does not conform to its profile: a
    /// defect of the gateway, said at error level with the case's pseudonym and the element.
    func assessmentWithheld(_ withheld: CaseProcessor.Withheld) {
        metrics.assessmentWithheld(profile: withheld.profile)
        logger.error(
            "assessment withheld: it does not conform to its profile (a defect of the gateway); the case is held",
            metadata: [
                "case": "\(pseudonym.id(for: withheld.identifier))",
                "profile": "\(withheld.profile)",
                "outcome.path": "\(withheld.path)",
            ]
        )
    }

    func tlsHandshakeFailed(peer: SocketAddress?, failure: TLSHandshakeFailure) {
        metrics.tlsFailures(failure.category).increment()
        // A connection closed before it said anything (a load balancer's TCP check) is not news.
        let level: Logger.Level = failure.category == .closed ? .info : .warning
        logger.log(
            level: level,
            "tls handshake failed",
            metadata: [
                "peer": "\(peer.logText)",
                "reason": "\(failure.reason)",
                "category": "\(failure.category.rawValue)",
            ]
        )
    }

    /// A request answered before routing (unreadable HTTP, header fields too large, CONNECT):
    /// a line of its own, with a request id as the request lines have.
    func refusedAtTheEdge(status: Int, reason: String, peer: SocketAddress?, client: String?) {
        logger.notice(
            "request refused before routing",
            metadata: [
                "request.id": "\(RequestLogMiddleware.nextID())",
                "http.status": .stringConvertible(status),
                "reason": "\(reason)",
                "client": "\(client ?? "-")",
                "peer": "\(peer.logText)",
            ]
        )
    }

    /// A connection closed as soon as it was accepted: the listener is at its cap. Counted each
    /// time; logged at most once every 10 s, with the count since the last line.
    func connectionRefused(listener: String, limit: Int, sinceLastReport: Int?) {
        metrics.connectionsRefused(listener: listener)
        guard let count = sinceLastReport else { return }
        logger.warning(
            "connections refused at the cap",
            metadata: ["listener": "\(listener)", "limit": .stringConvertible(limit), "refused": .stringConvertible(count)]
        )
    }

    static func name(_ stratum: ADCScore.Stratum) -> String {
        switch stratum {
        case .high: "high"
        case .lower: "lower"
        }
    }
}
