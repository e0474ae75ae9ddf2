import Foundation
import Logging
import PostgresStorage
import Storage
import SystemdSupport

extension GatewayDaemon {
    /// What the daemon stands on, checked before any service starts: the TLS material, the
    /// pseudonym key, the FHIR API's socket, the store (locked and migrated). Each step that
    /// fails stops the start with its reason (exit 78 for what a restart cannot fix).
    struct Ground {
        var tls: ServerTLSMaterial
        var pseudonym: CasePseudonym
        var source: ListenerSource
        /// Passed by systemd (`LISTEN_FDS`) rather than bound here.
        var socketActivated: Bool
        /// Held for the process's life: one daemon per SQLite store (nil for PostgreSQL, which
        /// any number of gateways share).
        var storeLock: StoreLock?
        var store: any GatewayStore
        /// The SMART Backend Services key (`upstream.auth: smartBackend`).
        var signer: ClientAssertionSigner?

        static func prepare(
            _ configuration: GatewayConfiguration, sockets: ListenFileDescriptors?, notifier: SystemdNotifier, logger: Logger
        ) async throws(StartupError) -> Ground {
            // The checks check-config reports: what stops the start is refused with every reason;
            // the rest (a certificate expired or near its end) is logged and the daemon starts.
            let preflight = Preflight.local(configuration)
            let stopping = preflight.findings.filter(\.stopsServe)
            guard stopping.isEmpty, let tls = preflight.tls else {
                throw fail(stopping.map(\.description).joined(separator: "; "), exitCode: 78, notifier: notifier)
            }
            for finding in preflight.findings {
                logger.log(
                    level: finding.level == .error ? .error : .warning, "configuration check",
                    metadata: ["key": "\(finding.key)", "problem": "\(finding.problem)", "fix": "\(finding.fix)"])
            }
            let pseudonym: CasePseudonym
            do {
                pseudonym = try CasePseudonym.load(path: configuration.pseudonymKeyFile)
            } catch {
                throw fail("\(error)", exitCode: 78, notifier: notifier)
            }
            let source: ListenerSource
            if let sockets {
                guard let socket = sockets.preferred(named: "https"), ListenFileDescriptors.isListeningStreamSocket(socket.fd) else {
                    throw fail("the socket systemd passed (LISTEN_FDS) is not a listening stream socket", exitCode: 78, notifier: notifier)
                }
                source = .adopt(descriptor: socket.fd, name: socket.name)
            } else {
                source = .bind(host: configuration.server.host, port: configuration.server.port)
            }
            let (store, storeLock) = try await openStore(configuration, notifier: notifier, logger: logger)
            var signer: ClientAssertionSigner?
            if let smart = configuration.upstream?.smart {
                do {
                    signer = try await ClientAssertionSigner.load(path: smart.jwtSigningKey, keyID: smart.jwtKeyID)
                } catch {
                    throw fail(error.description, exitCode: 78, notifier: notifier)
                }
            }
            return Ground(
                tls: tls, pseudonym: pseudonym, source: source, socketActivated: sockets != nil, storeLock: storeLock, store: store,
                signer: signer)
        }
    }

    /// The store the configuration names, migrated: the SQLite file, locked for this daemon, or
    /// the PostgreSQL database, migrated under its advisory lock (its pool runs around the
    /// services).
    private static func openStore(
        _ configuration: GatewayConfiguration, notifier: SystemdNotifier, logger: Logger
    ) async throws(StartupError) -> (any GatewayStore, StoreLock?) {
        if let postgres = configuration.postgres {
            let where_ = "storage.url: \(postgres.address)"
            let store: PostgresStore
            do {
                store = try PostgresStore(settings: postgres, leaseSeconds: Self.leaseSeconds(configuration.delivery), logger: logger)
            } catch {
                throw fail("storage.caCertificate: \(error)", exitCode: 78, notifier: notifier)
            }
            // A database that cannot be reached yet is waited for (the unit's start limit would
            // otherwise give up on the gateway after a few restarts during a database outage);
            // one that refuses the gateway stops the start.
            var wait = 1.0
            while true {
                do {
                    try await store.migrate()
                    return (store, nil)
                } catch let mismatch as SchemaVersionError {
                    throw fail("\(where_): \(mismatch)", exitCode: 78, notifier: notifier)
                } catch let failure as StoreError where failure.passes {
                    logger.error(
                        "waiting for the database", metadata: ["reason": "\(failure.reason)", "retry.seconds": .stringConvertible(Int(wait))])
                    notifier.status("waiting for the database: \(failure.reason.prefix(150))")
                    notifier.notify("EXTEND_TIMEOUT_USEC=\(UInt64((wait + 20) * 1_000_000))")
                    try? await Task.sleep(for: .seconds(wait))
                    wait = min(wait * 2, 30)
                } catch {
                    throw fail("\(where_): the database refuses the gateway: \(error)", exitCode: 78, notifier: notifier)
                }
            }
        }
        // One daemon per SQLite store: a second one on the same file is refused before it touches it.
        let storeLock: StoreLock
        do {
            storeLock = try StoreLock(storePath: configuration.storagePath)
        } catch {
            throw fail(error.description, exitCode: 78, notifier: notifier)
        }
        do {
            let store = try SQLiteStore(path: configuration.storagePath, checkpointsInBackground: true)
            try await store.migrate()
            return (store, storeLock)
        } catch let mismatch as SchemaVersionError {
            throw fail("storage.path: \(configuration.storagePath): \(mismatch)", exitCode: 78, notifier: notifier)
        } catch {
            throw fail("the store \(configuration.storagePath) cannot be opened: \(error)", exitCode: 1, notifier: notifier)
        }
    }

    /// How long a claimed delivery stays this gateway's on a shared store: longer than an attempt
    /// can take (the connect timeout, the answer's timeout, a token request), so another gateway
    /// takes it over only from one that stopped.
    static func leaseSeconds(_ delivery: GatewayConfiguration.Delivery) -> Double {
        2 * delivery.timeoutSeconds + 30
    }
}
