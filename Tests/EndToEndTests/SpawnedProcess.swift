import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// What the harness needs of a child process to stop it by its pid.
protocol ChildProcess: AnyObject {
    var processIdentifier: Int32 { get }
    var isRunning: Bool { get }
    var terminationStatus: Int32 { get }
    func waitUntilExit()
}

extension Process: ChildProcess {}

/// A child started with posix_spawn and reaped with waitpid. The gateway is started this way, not
/// with Foundation's Process: Process learns of a child's exit when a socket it passes to the
/// child closes, and a launcher that closes inherited descriptors before exec
/// (`systemd-socket-activate`) makes it reap a live process and wedge every later Process. The
/// child inherits no descriptor beyond 0–2 (`SpawnActions`): a gateway started while another
/// thread's curl writes into a pipe must not hold that pipe open.
final class SpawnedProcess: ChildProcess {
    let processIdentifier: Int32
    private var status: Int32?

    /// Starts `arguments[0]` (an absolute path) with `environment`, stdout and stderr appended to
    /// `output`.
    init(_ arguments: [String], environment: [String: String], output: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        SpawnActions.closeInheritedDescriptors(&actions)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        // The test runner's threads block most signals, and a spawned child inherits the mask:
        // start it with none blocked and every signal at its default action.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EINVAL) }
        processIdentifier = pid
    }

    private func reap(blocking: Bool) {
        guard status == nil else { return }
        var raw: Int32 = 0
        if waitpid(processIdentifier, &raw, blocking ? 0 : WNOHANG) == processIdentifier {
            // Exited: its code; killed: the signal's number (as Foundation's Process reports it).
            status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
        }
    }

    var isRunning: Bool {
        reap(blocking: false)
        return status == nil
    }

    var terminationStatus: Int32 {
        reap(blocking: false)
        return status ?? -1
    }

    func waitUntilExit() { reap(blocking: true) }
}
