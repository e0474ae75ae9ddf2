import Foundation
import Logging
import PostgresStorage
import Storage
import Testing
import TestSupport

/// `storage.tls: verify-full`: the PostgreSQL store reaches a server whose certificate its CA
/// issued for the host in `storage.url`, and refuses one issued by another CA or a server that
/// offers no TLS at all (never falling back to a plain connection).
@Suite(.serialized) struct PostgresTLSTests {
    /// Development certificates (`scripts/dev-certificates.sh`: a CA, and a server certificate for
    /// localhost and 127.0.0.1), the key readable by the server's user only.
    struct Certificates {
        let folder: URL
        var ca: String { folder.appendingPathComponent("ca.crt").path }
        var certificate: String { folder.appendingPathComponent("server.crt").path }
        var key: String { folder.appendingPathComponent("server.key").path }

        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("pg-tls-\(UUID().uuidString)")
            let script = Process()
            script.executableURL = Fixtures.packageRoot.appendingPathComponent("scripts/dev-certificates.sh")
            script.arguments = [folder.path]
            script.standardOutput = FileHandle.nullDevice
            try script.run()
            script.waitUntilExit()
            try #require(script.terminationStatus == 0)
            // The server runs as nobody (the harness's choice when the tests run as root) and
            // refuses a key others may read.
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
            if geteuid() == 0 {
                try FileManager.default.setAttributes([.ownerAccountName: "nobody"], ofItemAtPath: key)
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
        }

        func remove() { try? FileManager.default.removeItem(at: folder) }
    }

    static func store(_ server: PostgresServer, ca: String) throws -> PostgresStore {
        try PostgresStore(
            settings: PostgresStoreSettings(
                host: server.host, port: server.port, user: server.user, database: server.database, password: nil,
                tls: .verifyFull(caCertificate: ca), poolSize: 2, connectionWaitSeconds: 60),
            leaseSeconds: 60, logger: Logger(label: "postgres-tls-tests", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    @Test func verifyFullReachesAServerWhoseCertificateItsCAIssuedAndRefusesAnyOther() async throws {
        let issued = try Certificates()
        let other = try Certificates()
        defer {
            issued.remove()
            other.remove()
        }
        let options = PostgresServer.Options(settings: ["ssl": "on", "ssl_cert_file": issued.certificate, "ssl_key_file": issued.key])
        try await withPostgres(options) { server in
            let store = try Self.store(server, ca: issued.ca)
            try await store.migrate()
            let (version, encrypted) = try await store.withRunning {
                let version = try await store.write {
                    try $0.upsert(type: "Observation", id: "tls-1", subject: "Patient/tls", json: Array("{}".utf8))
                }
                // The store's pooled connection, still open, is encrypted (psql's own is left out).
                let encrypted = try server.psql(
                    """
                    SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                    WHERE s.ssl AND a.backend_type = 'client backend' AND a.application_name <> 'psql'
                    """)
                return (version, encrypted)
            }
            #expect(version == 1)
            #expect((Int(encrypted) ?? 0) >= 1, "\(encrypted)")

            await #expect(throws: StoreError.self, "a certificate another CA issued is refused") {
                try await Self.store(server, ca: other.ca).migrate()
            }
        }
    }

    @Test func verifyFullRefusesAServerWithoutTLS() async throws {
        let issued = try Certificates()
        defer { issued.remove() }
        try await withPostgres { server in
            await #expect(throws: StoreError.self, "no plain connection instead") {
                try await Self.store(server, ca: issued.ca).migrate()
            }
        }
    }
}
