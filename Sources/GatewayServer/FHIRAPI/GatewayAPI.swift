import CaseProcessing
import Crypto
import FHIRCore
import FHIRModels
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RiskModel
import Storage

/// The FHIR endpoints of the gateway (base `/fhir`).
struct GatewayAPI: Sendable {
    /// The resource types the gateway takes in (create and update only).
    static let inputTypes = CaseProcessor.inputTypes

    let store: any GatewayStore
    let events: GatewayEvents
    /// Rung after a commit that queued a delivery.
    let outbox: OutboxSignal
    let reader = FHIRReader()

    func register(on router: Router<GatewayRequestContext>) {
        router.get("/fhir/metadata") { request, context in
            try await respond(request) { format in
                FHIRHTTP.response(.ok, resource: CapabilityStatementBuilder.statement(profiles: context.settings.conformance).node, format: format)
            }
        }
        for type in Self.inputTypes {
            router.post("/fhir/\(type)") { request, context in try await create(request, type: type, settings: context.settings) }
            router.put("/fhir/\(type)/:id") { request, context in
                try await update(request, type: type, id: context.parameters.get("id") ?? "", settings: context.settings)
            }
        }
        router.post("/fhir") { request, context in try await bundle(request, messageOnly: false, settings: context.settings) }
        router.post("/fhir/$process-message") { request, context in try await bundle(request, messageOnly: true, settings: context.settings) }
        // Anything else under /fhir is an OperationOutcome: 405 for a method the gateway does not
        // offer on its own resource types, 404 for any other path.
        let notAllowed: @Sendable (Request, GatewayRequestContext) async throws -> Response = { request, _ in
            try await respond(request) { _ in
                throw FHIRRequestError(
                    .methodNotAllowed,
                    code: .notSupported,
                    "\(request.method.rawValue) \(request.uri.path) is not supported: see /fhir/metadata"
                )
            }
        }
        for type in Self.inputTypes {
            for method in [HTTPRequest.Method.get, .delete, .patch] { router.on("/fhir/\(type)/:id", method: method, use: notAllowed) }
            for method in [HTTPRequest.Method.get, .put, .delete, .patch] { router.on("/fhir/\(type)", method: method, use: notAllowed) }
        }
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch] {
            router.on("/fhir/**", method: method) { request, _ in
                try await respond(request) { _ in
                    throw FHIRRequestError(.notFound, code: .notFound, "\(request.uri.path) is not an endpoint of this gateway: see /fhir/metadata")
                }
            }
        }
        router.get("/fhir/RiskAssessment/:id") { request, context in
            try await respond(request) { format in
                guard let stored = try await store.assessment(id: context.parameters.get("id") ?? "") else {
                    throw FHIRRequestError(.notFound, code: .notFound, "No RiskAssessment with this id")
                }
                return FHIRHTTP.response(.ok, resource: try node(stored.json), format: format)
            }
        }
        router.get("/fhir/RiskAssessment") { request, _ in
            try await respond(request) { format in
                guard let subject = request.uri.queryParameters.get("subject") else {
                    throw FHIRRequestError(.badRequest, code: .required, "Search RiskAssessment by subject: ?subject=Patient/{id}")
                }
                let found = try await store.assessments(subject: subject)
                let base = Self.baseURL(request)
                var bundle = Bundle(type: "searchset", total: FHIRPrimitive(Int32(found.count)))
                for stored in found {
                    guard case .riskAssessment(let assessment)? = try? AnyResource(node: try node(stored.json)) else { continue }
                    bundle.entry.append(
                        Bundle.Entry(
                            fullUrl: FHIRPrimitive("\(base)/RiskAssessment/\(stored.id)"),
                            resource: .riskAssessment(assessment),
                            search: Bundle.Search(mode: "match")
                        )
                    )
                }
                // A patient whose resources are held out of scoring: the reasons, as the
                // searchset's outcome entry (search.mode outcome), so the sender sees why no
                // (or no further) assessment was made.
                if let held = try await store.held(subject: subject),
                    case .operationOutcome(let outcome)? = try? AnyResource(
                        node: .operationOutcome(held.reasons.map { FHIRIssue(severity: .information, code: .businessRule, diagnostics: $0) }))
                {
                    bundle.entry.append(Bundle.Entry(resource: .operationOutcome(outcome), search: Bundle.Search(mode: "outcome")))
                }
                return FHIRHTTP.response(.ok, resource: bundle.node, format: format)
            }
        }
    }
}
