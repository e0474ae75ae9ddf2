import Foundation
import GRDB
import Testing

@testable import Storage

/// Every statement that looks rows up by something other than their key runs on the index it
/// needs, so that writing does not cost more as the tables grow (the outbox behind an upstream
/// outage above all).
struct QueryPlanTests {
    struct Planned: CustomTestStringConvertible, Sendable {
        var sql: String
        var lookup: String
        var testDescription: String { sql }
    }

    static let statements = SQLiteStatements.planned.map { Planned(sql: $0.sql, lookup: $0.lookup) }

    @Test(arguments: statements)
    func theStatementLooksItsRowsUpOnItsIndex(_ statement: Planned) async throws {
        let (store, _) = try await GroupCommitTests.store()
        let parameters = statement.sql.filter { $0 == "?" }.count
        let plan = try await store.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + statement.sql, arguments: StatementArguments(Array(repeating: "x", count: parameters)))
                .map { $0["detail"] as String? ?? "" }
        }
        let shown = plan.joined(separator: "\n")
        #expect(plan.contains { $0.contains(statement.lookup) }, "\(statement.sql):\n\(shown)")
        // SQLite says "SCAN table" when it reads a whole table. (A sort after a lookup by patient
        // sorts that patient's few rows.)
        #expect(!plan.contains { $0.hasPrefix("SCAN ") && !$0.contains("USING") }, "\(statement.sql):\n\(shown)")
    }
}
