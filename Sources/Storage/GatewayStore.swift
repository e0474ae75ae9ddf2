import Foundation

/// A stored FHIR resource as received (JSON, normalised by the gateway's writer).
public struct StoredResource: Sendable, Hashable {
    public var type: String
    public var id: String
    public var version: Int
    public var subject: String?
    public var json: [UInt8]
    /// When the gateway first received it (an update keeps the first arrival).
    public var receivedAt: Date

    public init(type: String, id: String, version: Int, subject: String?, json: [UInt8], receivedAt: Date) {
        self.type = type
        self.id = id
        self.version = version
        self.subject = subject
        self.json = json
        self.receivedAt = receivedAt
    }
}

/// A RiskAssessment the gateway made, with its version (it grows on every re-score).
public struct StoredAssessment: Sendable, Hashable {
    /// The business identifier's value (`urn:uuid:…`).
    public var identifier: String
    /// The logical id served at `/fhir/RiskAssessment/{id}`.
    public var id: String
    public var version: Int
    public var subject: String
    public var status: String
    public var json: [UInt8]
    public var updatedAt: Date
    /// The identity name of the case it was made for (nil for one stored before it was kept):
    /// how the next decision finds the assessment its case issued.
    public var caseKey: String?

    public init(
        identifier: String, id: String, version: Int, subject: String, status: String, json: [UInt8], updatedAt: Date, caseKey: String? = nil
    ) {
        self.identifier = identifier
        self.id = id
        self.version = version
        self.subject = subject
        self.status = status
        self.json = json
        self.updatedAt = updatedAt
        self.caseKey = caseKey
    }
}

/// A patient whose resources yield no assessment now, and why (for `GET /fhir/RiskAssessment`
/// and `outbox list`).
public struct HeldCase: Sendable, Hashable {
    /// The patient reference.
    public var subject: String
    /// Each reason, in words an integration engineer can act on.
    public var reasons: [String]
    public var updatedAt: Date

    public init(subject: String, reasons: [String], updatedAt: Date) {
        self.subject = subject
        self.reasons = reasons
        self.updatedAt = updatedAt
    }
}

/// The answer given to a request, kept so that a resend is answered the same way.
public struct StoredResponse: Sendable, Hashable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var location: String?

    public init(status: Int, contentType: String, body: [UInt8], location: String?) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.location = location
    }
}

/// One RiskAssessment version waiting to be delivered, delivered, or given up on.
public struct OutboxItem: Sendable, Hashable {
    public enum State: String, Sendable, Hashable, CaseIterable {
        case pending, delivered, dead
        /// A newer version of the same assessment was queued before this one went out.
        case superseded
    }

    public var sequence: Int64
    public var assessmentIdentifier: String
    public var assessmentVersion: Int
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Date
    /// Why the last attempt failed, or why it was given up (the upstream's answer).
    public var lastError: String?
    public var createdAt: Date
    /// When it was delivered; nil when it has not been (or went out before this was kept).
    public var deliveredAt: Date?

    public init(
        sequence: Int64,
        assessmentIdentifier: String,
        assessmentVersion: Int,
        state: State,
        attempts: Int,
        nextAttemptAt: Date,
        lastError: String?,
        createdAt: Date,
        deliveredAt: Date? = nil
    ) {
        self.sequence = sequence
        self.assessmentIdentifier = assessmentIdentifier
        self.assessmentVersion = assessmentVersion
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
    }
}

/// What one request's transaction may do. Everything done through it commits together, durably,
/// or not at all.
public protocol StoreTransaction {
    /// The answer already given to a request with this key (a resent message, Bundle or version).
    func response(forKey key: String) throws -> StoredResponse?
    func saveResponse(_ response: StoredResponse, forKey key: String) throws
    /// Stores a resource; returns its version (1 for a new one, +1 when its content changed; the
    /// same version when the content is unchanged).
    /// `now` is the time it is received (kept as its first arrival) and updated.
    func upsert(type: String, id: String, subject: String?, json: [UInt8], now: Date) throws -> Int
    /// The resources about a patient (their subject), for correlating a case.
    func resources(subject: String) throws -> [StoredResource]
    func assessment(identifier: String) throws -> StoredAssessment?
    /// The assessments issued for a patient (each at its latest version).
    func assessments(subject: String) throws -> [StoredAssessment]
    /// Stores a new version of an assessment and queues it for delivery.
    func saveAndEnqueue(_ assessment: StoredAssessment) throws
    /// Records why a patient's resources yield no assessment now; no reasons clears the record.
    func setHeld(subject: String, reasons: [String], now: Date) throws
}

extension StoreTransaction {
    /// Stores a resource received now.
    public func upsert(type: String, id: String, subject: String?, json: [UInt8]) throws -> Int {
        try upsert(type: type, id: id, subject: subject, json: json, now: Date())
    }
}

/// The gateway's durable store. One implementation per database; the request path never writes
/// SQL itself.
public protocol GatewayStore: Sendable {
    /// Creates or updates the schema; runs before the listener opens.
    func migrate() async throws

    /// Runs `body` atomically (all of it or none of it), committed to disk before it returns.
    /// Bodies that run at the same time may share one commit (group commit), each still all or
    /// nothing.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T

    func assessment(id: String) async throws -> StoredAssessment?
    func assessment(identifier: String) async throws -> StoredAssessment?
    func assessments(subject: String) async throws -> [StoredAssessment]
    /// Why a patient's resources are held out of scoring, if they are.
    func held(subject: String) async throws -> HeldCase?
    /// The held patients, most recently changed first.
    func heldCases(limit: Int) async throws -> [HeldCase]

    /// At most `limit` pending deliveries due at `now`, oldest due first, each with its
    /// assessment as stored now, leaving out the assessments in `excluding` (those in flight, so
    /// that two versions of one assessment never overtake each other); and when the next pending
    /// one outside `excluding` falls due. One read.
    func dueDeliveries(now: Date, limit: Int, excluding: Set<String>) async throws -> DueDeliveries
    func markDelivered(_ sequence: Int64, at date: Date) async throws
    func reschedule(_ sequence: Int64, attempts: Int, at date: Date, error: String) async throws
    func markDead(_ sequence: Int64, attempts: Int, error: String) async throws
    /// Puts a dead or delivered item back in the queue, due now.
    func requeue(_ sequence: Int64, now: Date) async throws -> Bool
    func outbox(state: OutboxItem.State?, since: Date?, limit: Int) async throws -> [OutboxItem]
    /// When the last delivery went out (nil: none yet, or none since they were kept).
    func lastDeliveredAt() async throws -> Date?
    /// How often, in seconds, the delivery worker looks for deliveries it was not woken for: those
    /// other gateways on the same database queued or left behind. Nil for a store no other
    /// gateway writes.
    var pollInterval: Double? { get }
    /// Whether the store lives in this process's own files. When such a store stops taking
    /// writes, a restart may mend it (a wedged writer), so the watchdog stops being fed; a
    /// database server's outage is not mended by restarting the gateway.
    var isLocal: Bool { get }

    /// Counts for the status line and the metrics.
    func statistics() async throws -> StoreStatistics
    /// Commits a small write to prove the store is writable (disk not full, file not read-only).
    func probeWritable(now: Date) async throws
    /// Moves the write-ahead log into the database file, off the writer. nil when this store has
    /// nothing to do (it checkpoints by itself).
    func checkpoint() async throws -> CheckpointCount?
    /// Deletes at most `limit` stored answers given before `answersBefore` (a resend after that
    /// is taken as new) and at most `limit` delivered or superseded outbox entries queued before
    /// `deliveriesBefore`. Resources, assessments, pending deliveries and dead letters stay.
    func prune(answersBefore: Date, deliveriesBefore: Date, limit: Int) async throws -> PruneCount
}

extension GatewayStore {
    public var pollInterval: Double? { nil }
    public var isLocal: Bool { true }
}

/// The store could not carry out an operation (disk full, an I/O error, the file read-only or
/// locked too long, the database server unreachable): nothing of a failed write was kept, and the
/// same request may succeed later.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// SQLite's extended result code; 0 for PostgreSQL (its SQLSTATE is in `reason`).
    public var code: Int
    /// The database's words for it, without any SQL or values (`SQLITE_FULL`, `disk I/O error`).
    public var reason: String

    /// Whether waiting may mend it (a database not reachable yet, or busy); false for what only
    /// the configuration or the database's administrator can mend (a refused password, a
    /// database or a privilege that does not exist).
    public var passes: Bool

    public init(code: Int, reason: String, passes: Bool = true) {
        self.code = code
        self.reason = reason
        self.passes = passes
    }

    public var description: String { "the store failed (\(reason), code \(code))" }
}

/// What one checkpoint did, in log frames (pages).
public struct CheckpointCount: Sendable, Equatable {
    /// Frames in the log when it finished (0 after a restart that copied everything).
    public var logFrames: Int
    /// Frames of the log now in the database file.
    public var copiedFrames: Int
    /// The log was started over.
    public var restarted: Bool

    public init(logFrames: Int, copiedFrames: Int, restarted: Bool) {
        self.logFrames = logFrames
        self.copiedFrames = copiedFrames
        self.restarted = restarted
    }
}

/// What the delivery worker can start now, and when to look again.
public struct DueDeliveries: Sendable {
    public struct Delivery: Sendable {
        public var item: OutboxItem
        /// Nil when the assessment is no longer in the store.
        public var assessment: StoredAssessment?

        public init(item: OutboxItem, assessment: StoredAssessment?) {
            self.item = item
            self.assessment = assessment
        }
    }

    public var due: [Delivery]
    /// When the first pending delivery not returned (and not excluded) falls due; nil when none is pending.
    public var nextDue: Date?

    public init(due: [Delivery], nextDue: Date?) {
        self.due = due
        self.nextDue = nextDue
    }
}

/// What one prune deleted.
public struct PruneCount: Sendable, Equatable {
    public var answers: Int
    public var deliveries: Int

    public init(answers: Int, deliveries: Int) {
        self.answers = answers
        self.deliveries = deliveries
    }
}

/// What the store holds, in counts.
public struct StoreStatistics: Sendable, Equatable {
    /// RiskAssessments made (one per case).
    public var assessments: Int
    /// Deliveries waiting.
    public var pending: Int
    /// When the oldest waiting delivery was queued.
    public var oldestPending: Date?
    public var dead: Int

    public init(assessments: Int, pending: Int, oldestPending: Date?, dead: Int) {
        self.assessments = assessments
        self.pending = pending
        self.oldestPending = oldestPending
        self.dead = dead
    }
}
