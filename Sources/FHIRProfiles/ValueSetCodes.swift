import FHIRCore

/// What a ValueSet holds, as far as the gateway can tell without a terminology server: the codes
/// it enumerates (`compose.include.concept`), whole code systems the package itself defines, and
/// the systems it takes whole but the gateway does not hold (their codes cannot be checked).
struct ValueSetCodes: Sendable {
    let url: String
    /// system → codes.
    private(set) var codes: [String: Set<String>] = [:]
    /// Systems included whole (or by filter) whose codes the package does not hold.
    private(set) var uncheckedSystems: Set<String> = []
    /// ValueSets it imports (`compose.include.valueSet`), resolved when the package is built.
    private(set) var imports: [String] = []

    /// The answer for one code.
    enum Membership: Equatable {
        case member
        case notMember
        /// Its system is included whole by a ValueSet the gateway cannot expand.
        case notChecked
    }

    init(valueSet: FHIRNode, codeSystems: [String: Set<String>]) {
        url = valueSet.value(of: "url") ?? ""
        for include in valueSet.child(named: "compose")?.children(named: "include") ?? [] {
            imports += include.children(named: "valueSet").compactMap(\.value)
            guard let system = include.value(of: "system") else { continue }
            let concepts = include.children(named: "concept").compactMap { $0.value(of: "code") }
            if !concepts.isEmpty, include.child(named: "filter") == nil {
                codes[system, default: []].formUnion(concepts)
            } else if include.child(named: "filter") == nil, let whole = codeSystems[system] {
                codes[system, default: []].formUnion(whole)
            } else {
                uncheckedSystems.insert(system)
            }
        }
        // An expansion, when the ValueSet carries one, lists its codes as well.
        for contains in valueSet.child(named: "expansion")?.children(named: "contains") ?? [] {
            if let system = contains.value(of: "system"), let code = contains.value(of: "code") { codes[system, default: []].insert(code) }
        }
        for exclude in valueSet.child(named: "compose")?.children(named: "exclude") ?? [] {
            guard let system = exclude.value(of: "system") else { continue }
            for code in exclude.children(named: "concept").compactMap({ $0.value(of: "code") }) { codes[system]?.remove(code) }
        }
    }

    /// Adds the codes of the ValueSets it imports (one level; the package is small).
    mutating func merge(_ other: ValueSetCodes) {
        for (system, set) in other.codes { codes[system, default: []].formUnion(set) }
        uncheckedSystems.formUnion(other.uncheckedSystems)
    }

    /// Whether `code` (in `system`; nil for a bare `code` element) belongs.
    func membership(system: String?, code: String) -> Membership {
        if let system {
            if codes[system]?.contains(code) == true { return .member }
            return uncheckedSystems.contains(system) ? .notChecked : .notMember
        }
        if codes.values.contains(where: { $0.contains(code) }) { return .member }
        return uncheckedSystems.isEmpty ? .notMember : .notChecked
    }
}
