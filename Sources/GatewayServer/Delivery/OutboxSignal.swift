import Synchronization

/// What wakes the delivery worker: a commit that queued a delivery, an upstream's answer, a
/// delivery whose outcome is recorded, its timer, or shutdown. One stream, read by the worker's
/// one loop.
enum DeliveryEvent: Sendable, Equatable {
    case queued
    case answered
    case finished(assessment: String)
    case timer
    case shutdown
}

/// The delivery worker's doorbell. A commit rings it (`queued()`) at once, so a new
/// RiskAssessment goes out without waiting for a poll; rings in a burst of commits coalesce into
/// one until the worker has looked at the store.
final class OutboxSignal: Sendable {
    let events: AsyncStream<DeliveryEvent>
    private let input: AsyncStream<DeliveryEvent>.Continuation
    private let wakePending = Atomic<Bool>(false)

    init() {
        (events, input) = AsyncStream.makeStream(of: DeliveryEvent.self)
    }

    /// A commit queued at least one delivery.
    func queued() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) { input.yield(.queued) }
    }

    /// The worker is about to look at the store: a commit from now on rings again.
    func looking() {
        wakePending.store(false, ordering: .releasing)
    }

    func send(_ event: DeliveryEvent) {
        input.yield(event)
    }
}
