/// The SQL of the SQLite store's statements that look rows up by something other than their
/// key, in one place, so that a test can hold each one's query plan to an index: a write must
/// not cost more as the tables (the outbox behind an upstream outage above all) grow.
enum SQLiteStatements {
    static let resourcesBySubject =
        "SELECT type, id, version, json, COALESCE(received_at, updated_at) FROM resource WHERE subject = ? ORDER BY updated_at, type, id"
    /// Its columns in the order `Transaction.assessments(subject:)` reads them.
    static let assessmentsBySubject =
        "SELECT identifier, id, version, status, json, updated_at, case_key FROM assessment WHERE subject = ? ORDER BY updated_at"
    static let assessmentByID = "SELECT * FROM assessment WHERE id = ?"
    static let clearHeld = "DELETE FROM held_case WHERE subject = ?"
    /// Written only when the reasons change: a patient's every resend does not rewrite the row.
    static let setHeld = """
        INSERT INTO held_case (subject, reasons, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(subject) DO UPDATE SET reasons = excluded.reasons, updated_at = excluded.updated_at
        WHERE held_case.reasons != excluded.reasons
        """
    /// Older undelivered versions of an assessment, superseded by a new one.
    static let supersedePending = "UPDATE outbox SET state = 'superseded' WHERE assessment_identifier = ? AND state = 'pending'"
    /// The pending deliveries in the order they fall due, each with its assessment (the two
    /// tables share no column name). Read with a cursor that stops once enough are found.
    static let pendingDeliveries = """
        SELECT * FROM outbox LEFT JOIN assessment ON assessment.identifier = outbox.assessment_identifier
        WHERE outbox.state = 'pending' ORDER BY outbox.next_attempt_at, outbox.sequence
        """
    static let outboxByState = "SELECT * FROM outbox WHERE state = ? AND created_at >= ? ORDER BY sequence DESC LIMIT ?"
    static let lastDeliveredAt = "SELECT MAX(delivered_at) FROM outbox WHERE state = 'delivered'"
    static let outboxSince = "SELECT * FROM outbox WHERE created_at >= ? ORDER BY sequence DESC LIMIT ?"
    static let heldCases = "SELECT * FROM held_case ORDER BY updated_at DESC LIMIT ?"
    static let pruneAnswers = "DELETE FROM response WHERE rowid IN (SELECT rowid FROM response WHERE created_at < ? LIMIT ?)"
    static let pruneDeliveries = """
        DELETE FROM outbox WHERE sequence IN (SELECT sequence FROM outbox
            WHERE state IN ('delivered', 'superseded') AND created_at < ? LIMIT ?)
        """

    /// The statements of the request, delivery and retention paths, each with the index lookup
    /// its plan must make (`EXPLAIN QUERY PLAN`), for the test of their plans. (`outboxByState`
    /// serves `outbox list` alone, and sorts what it finds.)
    static let planned: [(sql: String, lookup: String)] = [
        (resourcesBySubject, "USING INDEX resource_subject (subject=?)"),
        (assessmentsBySubject, "USING INDEX assessment_subject (subject=?)"),
        (assessmentByID, "(id=?)"),
        (supersedePending, "USING INDEX outbox_assessment (assessment_identifier=? AND state=?)"),
        (pendingDeliveries, "USING INDEX outbox_due (state=?)"),
        (heldCases, "SCAN held_case USING INDEX held_case_updated"),
        (pruneAnswers, "USING COVERING INDEX response_created (created_at<?)"),
        (pruneDeliveries, "USING INDEX outbox_due (state=?)"),
    ]
}
