import CaseProcessing
import FHIRProfiles
import Foundation
import NIOConcurrencyHelpers
import RiskModel
import Storage

/// What a reload (SIGHUP) can change, swapped as one piece: requests and deliveries read the
/// current snapshot when they start, and keep it to the end.
final class LiveSettings: Sendable {
    /// A class: every request reads the snapshot, and copying the struct retained every string
    /// of the configuration and the model each time.
    final class Snapshot: Sendable {
        let configuration: GatewayConfiguration
        let processor: CaseProcessor
        /// The profiles incoming resources are validated against.
        let conformance: ConformancePackage
        let tls: ServerTLSMaterial

        init(configuration: GatewayConfiguration, processor: CaseProcessor, conformance: ConformancePackage, tls: ServerTLSMaterial) {
            self.configuration = configuration
            self.processor = processor
            self.conformance = conformance
            self.tls = tls
        }
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
