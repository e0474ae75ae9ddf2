import Foundation
import TestSupport
import Testing

/// The tests' own PostgreSQL (TestSupport's PostgresServer): a real server from Debian's package,
/// reached over TCP on loopback, taken down and brought back on the same port with its data, and
/// gone with its folder at the end.
@Suite struct PostgresServerTests {
    @Test func acceptsConnectionsOverTCPStopsStartsAgainAndIsGoneAtTheEnd() throws {
        let (server, lastPID) = try withPostgres { server in
            #expect(server.url == "postgres://gateway_test@127.0.0.1:\(server.port)/gateway_test")
            #expect(try server.psql("SELECT 1") == "1")
            // Over TCP on 127.0.0.1 (inet_server_addr is null on the Unix socket), durable commits.
            let session = try server.psql(
                "SELECT current_database(), current_user, inet_server_addr(), current_setting('fsync'), current_setting('synchronous_commit'), current_setting('server_encoding')"
            )
            #expect(session == "gateway_test|gateway_test|127.0.0.1|on|on|UTF8")
            _ = try server.psql("CREATE TABLE kept (id bigint PRIMARY KEY); INSERT INTO kept VALUES (1)")

            let firstPID = try #require(server.postmasterPID)
            try server.stopServer()
            #expect(!server.isPostmasterAlive(firstPID))
            #expect(server.postmasterPID == nil)
            #expect(throws: PostgresServer.Failure.self) { try server.psql("SELECT 1") }

            try server.startServer()
            let secondPID = try #require(server.postmasterPID)
            #expect(secondPID != firstPID)
            #expect(try server.psql("SELECT 1") == "1")
            // A commit the server acknowledged survives the immediate stop (recovered from the WAL).
            #expect(try server.psql("SELECT count(*) FROM kept") == "1")
            return (server, secondPID)
        }
        #expect(!server.isPostmasterAlive(lastPID))
        #expect(server.postmasterPID == nil)
        #expect(!FileManager.default.fileExists(atPath: server.directory.path))
    }
}
