import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The group-commit writer is the store's one serial path: every request waits for it, and under
/// load it shares two cores with the event loops and the request tasks, and while it waits for a
/// core every request waits with it (BENCHMARKS.md, "The store", has the measurement). While it commits
/// groups its thread runs at a higher priority (nice −5), and goes back to the priority it had
/// when the queue is empty.
///
/// Raising a priority needs `CAP_SYS_NICE` or an `RLIMIT_NICE` that allows it (the systemd unit
/// sets `LimitNICE=-5`). Without either the writer simply runs at the priority it has.
enum WriterPriority {
    static let nice: Int32 = -5
    static let permitted = Atomic<Bool>(true)

    /// Raises the calling thread's priority to `nice`; returns the nice value to go back to, or
    /// nil when nothing changed (not permitted, or already as high).
    static func raise() -> Int32? {
        #if os(Linux)
            // Refused once (no CAP_SYS_NICE, no LimitNICE=), refused for good: no two system calls
            // per commit run that can only fail.
            guard permitted.load(ordering: .relaxed) else { return nil }
            // On Linux the nice value is per thread, and `who` 0 is the calling thread.
            errno = 0
            let before = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            guard errno == 0, before > nice else { return nil }
            guard setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) == 0 else {
                if errno == EPERM || errno == EACCES { permitted.store(false, ordering: .relaxed) }
                return nil
            }
            return before
        #else
            return nil
        #endif
    }

    /// Gives the calling thread back the nice value `raise()` returned (lowering a priority is
    /// always permitted).
    static func restore(_ before: Int32?) {
        #if os(Linux)
            if let before { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, before) }
        #endif
    }
}
