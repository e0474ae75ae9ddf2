import Foundation
import Testing

@testable import GatewayServer

/// The delivery worker's states: idle until a commit, delivering up to its concurrency, backing
/// off until a retry falls due, draining until the deadline on shutdown.
@Suite struct DeliveryMachineTests {
    let now = Date(timeIntervalSince1970: 1_000_000)

    @Test func idleWithNothingPendingWaitsForAnEventOnly() {
        var machine = DeliveryMachine(concurrency: 4)
        #expect(machine.looked(nextDue: nil, now: now) == .event)
        #expect(machine.state == .idle)
    }

    @Test func aRetryDueLaterIsABackoffWithItsTimer() {
        var machine = DeliveryMachine(concurrency: 4)
        let later = now.addingTimeInterval(3)
        #expect(machine.looked(nextDue: later, now: now) == .until(later))
        #expect(machine.state == .backingOff(until: later))
    }

    @Test func deliveriesInFlightFillTheSlotsAndAFullWorkerWaitsForOneToFinish() {
        var machine = DeliveryMachine(concurrency: 2)
        machine.started("a")
        #expect(machine.freeSlots(now: now) == 1)
        #expect(machine.looked(nextDue: now.addingTimeInterval(5), now: now) == .until(now.addingTimeInterval(5)))
        machine.started("b")
        #expect(machine.freeSlots(now: now) == 0)
        #expect(machine.looked(nextDue: now, now: now) == .event, "full: a finished delivery wakes it")
        #expect(machine.state == .delivering)
        #expect(machine.inFlight == ["a", "b"])
        machine.answered()
        machine.finished("a")
        #expect(machine.inFlight == ["b"])
        #expect(machine.freeSlots(now: now) == 1)
    }

    @Test func anAnsweredDeliveryFreesItsSlotButKeepsItsAssessmentInFlightUntilRecorded() {
        var machine = DeliveryMachine(concurrency: 1)
        machine.started("a")
        #expect(machine.freeSlots(now: now) == 0)
        machine.answered()
        // The outcome is being committed: another exchange may start, but not of "a".
        #expect(machine.freeSlots(now: now) == 1)
        #expect(machine.inFlight == ["a"])
        #expect(machine.looked(nextDue: now, now: now) == .until(now))
        machine.finished("a")
        #expect(machine.inFlight.isEmpty)
        #expect(machine.looked(nextDue: nil, now: now) == .event)
        #expect(machine.state == .idle)
    }

    @Test func drainingWaitsForAnAnsweredDeliveryToBeRecorded() {
        var machine = DeliveryMachine(concurrency: 4)
        machine.started("a")
        machine.answered()
        machine.shutdown(now: now, drainSeconds: 10)
        #expect(machine.looked(nextDue: nil, now: now) == .until(now.addingTimeInterval(10)))
        machine.finished("a")
        #expect(machine.looked(nextDue: nil, now: now) == .stop)
    }

    @Test func drainingDeliversWhatIsDueUntilTheDeadlineThenStops() {
        var machine = DeliveryMachine(concurrency: 4)
        machine.started("a")
        machine.shutdown(now: now, drainSeconds: 10)
        let deadline = now.addingTimeInterval(10)
        #expect(machine.state == .draining(deadline: deadline))
        // In flight: wait for it, at most until the deadline.
        #expect(machine.looked(nextDue: nil, now: now) == .until(deadline))
        machine.answered()
        machine.finished("a")
        // Something due now: deliver it; nothing due now: stop (a retry due later waits for the next start).
        #expect(machine.looked(nextDue: now, now: now) == .until(deadline))
        #expect(machine.looked(nextDue: now.addingTimeInterval(1), now: now) == .stop)
        // Past the deadline nothing starts and the worker stops, in flight or not.
        machine.started("b")
        #expect(machine.freeSlots(now: deadline) == 0)
        #expect(machine.looked(nextDue: nil, now: deadline) == .stop)
    }
}
