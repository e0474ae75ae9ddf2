import Foundation
import GRDB
import Storage
import Testing

/// A store is used only at this binary's schema: a newer version's store is refused (a rollback
/// must restore the backup), and the command line never migrates one.
struct SchemaVersionTests {
    @Test func aStoreMigratedByANewerVersionIsRefusedNamingWhatItDoesNotKnow() async throws {
        let (store, path) = try await GroupCommitTests.store()
        _ = store
        // What a newer version leaves: one more applied migration.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')") }
        try queue.close()
        let again = try SQLiteStore(path: path)
        await #expect {
            try await again.migrate()
        } throws: { error in
            "\(error)".contains("migrated by a newer version of the gateway (v99-from-the-future)")
        }
        await #expect(throws: SchemaVersionError.self) { try await again.checkSchema() }
    }

    @Test func theSchemaCheckRefusesAStoreNotYetMigratedAndLeavesItAsItIs() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("schema-\(UUID().uuidString)/gateway.sqlite").path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: path)
        await #expect {
            try await store.checkSchema()
        } throws: { error in
            "\(error)".contains("has not been migrated to this version yet (v1,")
        }
        try await store.migrate()
        try await store.checkSchema()
    }
}
