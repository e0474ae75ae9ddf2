import Synchronization

/// The regular expressions of `matches()`, `matchesFull()` and `replaceMatches()`, compiled once per
/// pattern: an invariant such as `value.matches('^urn:oid:…')` runs on every request, and
/// compiling its pattern each time cost more than the rest of the request's validation. At most
/// `capacity` patterns are kept (a pattern taken from the data itself must not grow it without
/// bound); past that, the cache starts again.
final class RegexCache: Sendable {
    static let shared = RegexCache()
    static let capacity = 256

    /// A compiled expression shared between threads. `Regex` is not declared `Sendable`, but a
    /// compiled one is immutable: its program is lowered once, atomically, and each match runs
    /// on a processor of its own.
    final class Compiled: @unchecked Sendable {
        let regex: Regex<AnyRegexOutput>
        init(_ regex: Regex<AnyRegexOutput>) { self.regex = regex }
    }

    private let compiled = Mutex<[String: Compiled]>([:])

    func regex(for pattern: String) -> Compiled? {
        compiled.withLock { $0[pattern] }
    }

    func keep(_ regex: Compiled, for pattern: String) {
        compiled.withLock { table in
            if table.count >= Self.capacity { table.removeAll(keepingCapacity: true) }
            table[pattern] = regex
        }
    }
}
