import Foundation

/// The outbox worker's state, pure (no I/O, no clock): what it is doing, which assessments are in
/// flight, and what to wait for next. `DeliveryService`'s one loop drives it with what the store
/// says is due and with the events it receives (a commit queued a delivery, one finished, a
/// timer, shutdown).
struct DeliveryMachine: Equatable {
    enum State: Equatable {
        /// Nothing pending: waits for a commit to queue a delivery.
        case idle
        /// Deliveries in flight.
        case delivering
        /// Nothing in flight and nothing due yet: the next falls due then (a retry's backoff).
        case backingOff(until: Date)
        /// Shutting down: goes on delivering what is due until the deadline, then stops; what is
        /// still in flight then is cancelled and stays pending for the next start.
        case draining(deadline: Date)
    }

    /// What the loop waits for before it looks at the store again.
    enum Wait: Equatable {
        /// An event only (a commit, a delivery finished, shutdown).
        case event
        /// An event, or this time, whichever comes first.
        case until(Date)
        /// Nothing more to do: the worker ends.
        case stop
    }

    /// How many exchanges with the upstream may be under way at once (`delivery.concurrency`).
    let concurrency: Int
    private(set) var state: State = .idle
    /// The assessments being delivered, from the start of the exchange until its outcome is
    /// recorded: a newer version of one of them waits until then, so it cannot overtake.
    private(set) var inFlight: Set<String> = []
    /// How many of them are still waiting for the upstream's answer. Each holds a slot; one whose
    /// answer came and whose outcome is being committed holds none, so the commit's wait for the
    /// disk does not hold back the next exchange.
    private(set) var exchanging = 0

    init(concurrency: Int) {
        self.concurrency = max(1, concurrency)
    }

    /// How many deliveries may start now.
    func freeSlots(now: Date) -> Int {
        if case .draining(let deadline) = state, now >= deadline { return 0 }
        return max(0, concurrency - exchanging)
    }

    mutating func started(_ assessment: String) {
        inFlight.insert(assessment)
        exchanging += 1
        if case .draining = state { return }
        state = .delivering
    }

    /// The upstream answered (or the exchange ended without an answer): its slot is free; the
    /// assessment stays in flight until its outcome is recorded.
    mutating func answered() {
        exchanging = max(0, exchanging - 1)
    }

    /// The delivery's outcome is recorded.
    mutating func finished(_ assessment: String) {
        inFlight.remove(assessment)
    }

    /// Shutdown began: deliveries go on until `now + drainSeconds`.
    mutating func shutdown(now: Date, drainSeconds: Double) {
        if case .draining = state { return }
        state = .draining(deadline: now.addingTimeInterval(drainSeconds))
    }

    /// After a look at the store, whose first pending delivery not started falls due at
    /// `nextDue` (nil: none is pending): the state, and what to wait for.
    mutating func looked(nextDue: Date?, now: Date) -> Wait {
        if case .draining(let deadline) = state {
            if now >= deadline { return .stop }
            let moreDueNow = nextDue.map { $0 <= now } ?? false
            if inFlight.isEmpty && !moreDueNow { return .stop }
            return .until(deadline)
        }
        if !inFlight.isEmpty {
            state = .delivering
            // A delivery due later (a retry) may start beside those in flight when its time comes.
            guard let nextDue, freeSlots(now: now) > 0 else { return .event }
            return .until(nextDue)
        }
        guard let nextDue else {
            state = .idle
            return .event
        }
        state = nextDue > now ? .backingOff(until: nextDue) : .delivering
        return .until(nextDue)
    }
}
