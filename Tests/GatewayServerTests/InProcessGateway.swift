import FHIRCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import RiskModel
import Storage
import TestSupport

@testable import GatewayServer

/// The FHIR API in this process: the daemon's router and middleware over a real SQLite store in a
/// temporary folder, the shipped model and Profiles, and a configuration read from a real file.
/// A request goes to the router as the HTTP channel hands it over, without TLS or sockets (the
/// end-to-end tests cover those with the real binary).
final class InProcessGateway: Sendable {
    struct Answer {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: [UInt8]

        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
        /// The first issue's `expression` and `diagnostics`, of an OperationOutcome.
        var firstIssue: (expression: [String]?, diagnostics: String?) {
            let issue = (json?["issue"] as? [[String: Any]])?.first
            return (issue?["expression"] as? [String], issue?["diagnostics"] as? String)
        }
    }

    let folder: URL
    let store: SQLiteStore
    let snapshot: LiveSettings.Snapshot
    let metrics: GatewayMetrics
    private let responder: Router<GatewayRequestContext>.Responder
    private let logger = Logger(label: "in-process-gateway")

    /// - Parameter settings: more lines of the configuration file (`validation: {profiles: warn}`).
    init(settings: String = "") async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("in-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let root = Fixtures.packageRoot.path
        let certificates = folder.appendingPathComponent("tls").path
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/bin/bash")
        script.arguments = ["\(root)/scripts/dev-certificates.sh", certificates]
        script.standardOutput = FileHandle.nullDevice
        script.standardError = FileHandle.nullDevice
        try script.run()
        script.waitUntilExit()
        let yaml = """
            tls: {certificate: \(certificates)/server.crt, privateKey: \(certificates)/server.key}
            storage: {path: \(folder.path)/gateway.sqlite}
            model: {path: \(root)/Config/models/sheng2022.yaml}
            profiles: {path: \(root)/Profiles}
            \(settings)
            """
        let path = folder.appendingPathComponent("gateway.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try await GatewayConfiguration.load(path: path, environment: [:])
        let profiles = try ProfilesFolder(path: configuration.profilesPath)
        let parameters = try ModelParameters(yaml: String(contentsOfFile: configuration.modelPath, encoding: .utf8))
        let loaded = GatewayDaemon.Loaded(
            configuration: configuration, codes: try profiles.codes(), parameters: parameters, conformance: try profiles.conformance())
        snapshot = LiveSettings.Snapshot(
            configuration: configuration, processor: GatewayDaemon.processor(loaded), conformance: loaded.conformance,
            tls: try ServerTLSMaterial.load(configuration.tls))
        store = try SQLiteStore(path: configuration.storagePath)
        try await store.migrate()
        metrics = GatewayMetrics(assessmentProfiles: GatewayMetrics.assessmentProfiles(in: loaded.conformance))
        let events = GatewayEvents(
            logger: logger, metrics: metrics, pseudonym: try CasePseudonym.load(path: folder.appendingPathComponent("pseudonym.key").path))
        responder = GatewayDaemon.apiRouter(store: store, events: events, metrics: metrics, outbox: OutboxSignal(), logger: logger).buildResponder()
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)
    }

    func request(_ method: HTTPRequest.Method, _ path: String, body: [UInt8]? = nil, headers: HTTPFields = [:]) async throws -> Answer {
        var fields = headers
        if body != nil, fields[.contentType] == nil { fields[.contentType] = "application/fhir+json" }
        let head = HTTPRequest(method: method, scheme: "https", authority: "127.0.0.1:8443", path: path, headerFields: fields)
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: body ?? [])))
        let context = GatewayRequestContext(source: GatewayRequestSource(channel: EmbeddedChannel(), logger: logger, settings: snapshot))
        let response = try await responder.respond(to: request, context: context)
        let collected = CollectedBody()
        try await response.body.write(BodyCollector(collected: collected))
        return Answer(status: response.status, headers: response.headers, body: collected.bytes)
    }

    func request(_ method: HTTPRequest.Method, _ path: String, json: String, headers: HTTPFields = [:]) async throws -> Answer {
        try await request(method, path, body: Array(json.utf8), headers: headers)
    }

    /// The RiskAssessments of a patient, as `GET /fhir/RiskAssessment?subject=` lists them.
    func assessments(patient: String) async throws -> [[String: Any]] {
        let entries = try await request(.get, "/fhir/RiskAssessment?subject=Patient/\(patient)").json?["entry"] as? [[String: Any]] ?? []
        return entries.compactMap { $0["resource"] as? [String: Any] }.filter { $0["resourceType"] as? String == "RiskAssessment" }
    }
}

private final class CollectedBody: @unchecked Sendable {
    var bytes: [UInt8] = []
}

private struct BodyCollector: ResponseBodyWriter {
    let collected: CollectedBody

    mutating func write(_ buffer: ByteBuffer) async throws {
        collected.bytes += buffer.readableBytesView
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
