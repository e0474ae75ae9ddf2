import Foundation
import NIOConcurrencyHelpers
import RiskModel
import Storage

/// What a reload (SIGHUP) can change, swapped as one piece: requests and deliveries read the
/// current snapshot when they start, and keep it to the end.
final class LiveSettings: Sendable {
    struct Snapshot: Sendable {
        var configuration: GatewayConfiguration
        var processor: CaseProcessor
        var tls: ServerTLSMaterial
    }

    private let box: NIOLockedValueBox<Snapshot>

    init(_ snapshot: Snapshot) {
        box = NIOLockedValueBox(snapshot)
    }

    var current: Snapshot { box.withLockedValue { $0 } }

    func replace(_ snapshot: Snapshot) {
        box.withLockedValue { $0 = snapshot }
    }
}

/// The daemon's health, kept by the health monitor and read by `/readyz`, the watchdog and the
/// status line.
final class HealthState: Sendable {
    struct Health: Sendable {
        var draining = false
        var storeWritable = true
        var eventLoopsResponsive = true
        /// From the last successful look at the store.
        var statistics: StoreStatistics?
    }

    private let box = NIOLockedValueBox(Health())

    var current: Health { box.withLockedValue { $0 } }

    func update(_ change: (inout Health) -> Void) {
        box.withLockedValue { change(&$0) }
    }
}
