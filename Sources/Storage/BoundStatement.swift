import Foundation
import GRDB
import GRDBSQLite

/// One of the writer's hot statements, bound and read through SQLite's C interface.
///
/// Every request runs a handful of small statements on the store's single writer, and GRDB's
/// general machinery around each (arguments boxed as `DatabaseValue`s, a `Row` object per result
/// row, `Data` copies of every blob) costs more than the statements themselves (BENCHMARKS.md,
/// "The store"). The statements stay GRDB's cached statements (prepared once per connection); only
/// binding, stepping and reading the columns go straight to SQLite.
struct BoundStatement: ~Copyable {
    private let statement: Statement
    private var handle: SQLiteStatement { statement.sqliteStatement }
    private var index: Int32 = 0

    /// Binds the arguments in order with the `bind` calls, then `step` or `rows`.
    init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    mutating func bind(_ value: String?) {
        index += 1
        guard let value else {
            sqlite3_bind_null(handle, index)
            return
        }
        var text = value
        text.withUTF8 { utf8 in
            _ = sqlite3_bind_text(
                handle, index, UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self), Int32(utf8.count), Self.transient)
        }
    }

    mutating func bind(_ value: Int) {
        index += 1
        sqlite3_bind_int64(handle, index, Int64(value))
    }

    mutating func bind(_ value: Double) {
        index += 1
        sqlite3_bind_double(handle, index, value)
    }

    mutating func bind(blob: [UInt8]) {
        index += 1
        blob.withUnsafeBytes { bytes in
            // A zero-length blob, not NULL, for an empty array.
            _ = sqlite3_bind_blob(handle, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), Self.transient)
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws {
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else { throw error(code) }
    }

    /// Runs a query; `read` gets each row's columns.
    func rows(_ read: (Columns) throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw error(code) }
            try read(Columns(handle: handle))
        }
    }

    private func error(_ code: Int32) -> DatabaseError {
        let connection = sqlite3_db_handle(handle)
        let message = sqlite3_errmsg(connection).map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)), message: message, sql: statement.sql)
    }

    /// The columns of the current row, read by position.
    struct Columns {
        let handle: SQLiteStatement

        func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

        func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }

        func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

        func text(_ column: Int32) -> String? {
            guard let start = sqlite3_column_text(handle, column) else { return nil }
            return String(decoding: UnsafeBufferPointer(start: start, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
        }

        func blob(_ column: Int32) -> [UInt8] {
            let count = Int(sqlite3_column_bytes(handle, column))
            guard count > 0, let start = sqlite3_column_blob(handle, column) else { return [] }
            return Array(UnsafeRawBufferPointer(start: start, count: count))
        }
    }
}
