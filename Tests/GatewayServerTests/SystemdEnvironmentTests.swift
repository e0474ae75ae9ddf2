import Foundation
import SystemdSupport
import Testing

/// What the daemon reads from the environment systemd gives it.
struct SystemdEnvironmentTests {
    @Test func listenFileDescriptorsAreOursOnlyWhenListenPIDIsOurs() {
        let environment = ["LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "metrics:https"]
        #expect(ListenFileDescriptors(environment: environment, pid: 4243) == nil)
        let sockets = ListenFileDescriptors(environment: environment, pid: 4242)
        #expect(sockets?.descriptors.map(\.fd) == [3, 4])
        #expect(sockets?.preferred(named: "https")?.fd == 4)
        #expect(sockets?.preferred(named: "absent")?.fd == 3)
    }

    @Test func listenFileDescriptorsWithoutNamesOrCountAreUnknownOrAbsent() {
        #expect(ListenFileDescriptors(environment: ["LISTEN_PID": "7", "LISTEN_FDS": "1"], pid: 7)?.descriptors.first?.name == "unknown")
        #expect(ListenFileDescriptors(environment: ["LISTEN_PID": "7", "LISTEN_FDS": "0"], pid: 7) == nil)
        #expect(ListenFileDescriptors(environment: ["LISTEN_PID": "7"], pid: 7) == nil)
        #expect(ListenFileDescriptors(environment: [:], pid: 7) == nil)
    }

    @Test func aDescriptorThatIsNotAListeningSocketIsRecognised() {
        // Standard input is no listening socket; a bound, listening one is.
        #expect(!ListenFileDescriptors.isListeningStreamSocket(0))
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(!ListenFileDescriptors.isListeningStreamSocket(fd))
        listen(fd, 1)
        #expect(ListenFileDescriptors.isListeningStreamSocket(fd))
    }

    @Test func theWatchdogIntervalIsHalfTheTimeoutAndOnlyForTheNamedProcess() {
        #expect(WatchdogSettings(environment: ["WATCHDOG_USEC": "30000000"], pid: 10)?.intervalMicroseconds == 15_000_000)
        #expect(WatchdogSettings(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "11"], pid: 10) == nil)
        #expect(WatchdogSettings(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "10"], pid: 10) != nil)
        #expect(WatchdogSettings(environment: ["WATCHDOG_USEC": "0"], pid: 10) == nil)
    }
}
