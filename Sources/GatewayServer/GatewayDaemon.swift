import AsyncHTTPClient
import FHIRCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import RiskModel
import ServiceLifecycle
import Storage
import SystemdSupport
import UnixSignals

/// The daemon: migrations, then the FHIR API over TLS, the operations listener and the delivery
/// worker in one ServiceGroup; SIGTERM and SIGINT drain in-flight work.
public enum GatewayDaemon {
    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
    }

    /// - Parameter environment: the process environment, for `NOTIFY_SOCKET` and `WATCHDOG_*`.
    public static func run(
        configuration: GatewayConfiguration,
        codes: FeatureCodes,
        parameters: ModelParameters,
        environment: [String: String],
        logger: Logger
    ) async throws {
        let notifier = SystemdNotifier(environment: environment)
        let store = try SQLiteStore(path: configuration.storagePath)
        try await store.migrate()

        let processor = CaseProcessor(codes: codes, parameters: parameters, scoreWithoutStudy: configuration.scoreWithoutStudy)
        let api = GatewayAPI(store: store, processor: processor, limits: configuration.limits)
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: logger))
        if !configuration.tls.allowedClientNames.isEmpty {
            router.add(middleware: ClientNameMiddleware(allowed: Set(configuration.tls.allowedClientNames)))
        }
        api.register(on: router)

        let tls = try serverTLS(configuration.tls)
        let apiApp = Application(
            router: router,
            server: try .tls(.http1(), configuration: tls),
            configuration: .init(address: .hostname(configuration.server.host, port: configuration.server.port), serverName: nil),
            onServerRunning: { channel in
                logger.notice("listening", metadata: ["address": "\(channel.localAddress?.description ?? "")"])
                // The configuration is valid, the TLS material loaded, the store migrated and the
                // listener bound: ready.
                notifier.ready(status: "serving FHIR on \(configuration.server.host):\(configuration.server.port)")
            },
            logger: logger
        )

        let operations = Router()
        operations.get("/livez") { _, _ in "ok\n" }
        operations.get("/readyz") { _, _ in
            _ = try await store.nextDueDate()
            return "ready\n"
        }
        let operationsApp = Application(
            router: operations,
            configuration: .init(address: .hostname(configuration.metrics.host, port: configuration.metrics.port)),
            logger: logger
        )

        var services: [any Service] = [operationsApp, apiApp]
        var client: HTTPClient?
        if let upstream = configuration.upstream {
            var clientConfiguration = HTTPClient.Configuration(tlsConfiguration: try DeliveryService.tlsConfiguration(upstream))
            clientConfiguration.timeout = .init(connect: .seconds(10), read: .seconds(Int64(configuration.delivery.timeoutSeconds)))
            let created = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
            client = created
            services.append(DeliveryService(store: store, upstream: upstream, policy: configuration.delivery, client: created, logger: logger))
        }
        services.append(
            SystemdService(notifier: notifier, watchdog: WatchdogSettings(environment: environment)) {
                // Healthy while the store answers.
                do {
                    _ = try await store.nextDueDate()
                    return true
                } catch {
                    return false
                }
            }
        )
        let group = ServiceGroup(
            configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        do {
            try await group.run()
        } catch {
            try? await client?.shutdown()
            throw error
        }
        try await client?.shutdown()
    }

    /// TLS 1.2 and 1.3 only; mutual TLS when a client CA is configured: a client without a
    /// certificate, or with one from another CA, is refused at the handshake.
    static func serverTLS(_ configuration: GatewayConfiguration.TLS) throws -> TLSChannelConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(configuration.certificate).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: configuration.privateKey, format: .pem)
        var tls: TLSConfiguration
        if let clientCA = configuration.clientCA {
            tls = TLSConfiguration.makeServerConfigurationWithMTLS(
                certificateChain: chain,
                privateKey: .privateKey(key),
                trustRoots: .certificates(try NIOSSLCertificate.fromPEMFile(clientCA))
            )
        } else {
            tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        }
        tls.minimumTLSVersion = .tlsv12
        tls.maximumTLSVersion = .tlsv13
        return TLSChannelConfiguration(tlsConfiguration: tls)
    }
}
