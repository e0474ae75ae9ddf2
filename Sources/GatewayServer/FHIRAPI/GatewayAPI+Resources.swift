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

/// Create and update of single resources.
extension GatewayAPI {

    func create(_ request: Request, type: String, settings: LiveSettings.Snapshot) async throws -> Response {
        let processor = settings.processor
        return try await respond(request) { format in
            let (bytes, resource) = try await readResource(request, type: type, limits: settings.configuration.limits)
            var assigned = resource
            let id = TimeOrderedID.make()
            assigned.setID(id)
            let incoming = assigned
            let item = CaseProcessor.Incoming(resource: incoming, path: type)
            try checkProfiles([item], settings: settings)
            return try await commit(request, bytes: bytes, format: format, processor: processor) { transaction, now in
                let outcome = try processor.ingest([item], in: transaction, now: now)
                let version = outcome.stored.first?.version ?? 1
                return Committed(
                    status: 201, resource: incoming, location: "\(type)/\(id)/_history/\(version)", scored: outcome.scored,
                    withheld: outcome.withheld,
                    json: outcome.stored.first?.json)
            }
        }
    }

    func update(_ request: Request, type: String, id: String, settings: LiveSettings.Snapshot) async throws -> Response {
        let processor = settings.processor
        return try await respond(request) { format in
            let (bytes, resource) = try await readResource(request, type: type, limits: settings.configuration.limits)
            guard resource.value(of: "id") == id else {
                throw FHIRRequestError(
                    .badRequest,
                    code: .invalid,
                    "The resource's id must equal the id in the URL (\(id)) for an update",
                    expression: "\(type).id"
                )
            }
            let item = CaseProcessor.Incoming(resource: resource, path: type)
            try checkProfiles([item], settings: settings)
            return try await commit(request, bytes: bytes, format: format, processor: processor) { transaction, now in
                let outcome = try processor.ingest([item], in: transaction, now: now)
                let version = outcome.stored.first?.version ?? 1
                return Committed(
                    status: version == 1 ? 201 : 200, resource: resource, location: "\(type)/\(id)/_history/\(version)", scored: outcome.scored,
                    withheld: outcome.withheld,
                    json: outcome.stored.first?.json)
            }
        }
    }
}
