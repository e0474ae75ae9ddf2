import FHIRCore
import Foundation
import Synchronization

/// What an evaluation may read besides its focus: the resources behind `%resource` and
/// `%rootResource`, caller variables (`%name`), the clock, and the terminology and profile checks
/// the engine cannot do itself.
public struct FHIRPathEnvironment: Sendable {
    /// `%resource`: the resource that holds the focus; the focus itself when nil.
    public var resource: FHIRNode?
    /// `%rootResource`: the outermost resource (a Bundle, for an entry); `resource` when nil.
    public var rootResource: FHIRNode?
    /// `%name` for each name, each a collection.
    public var variables: [String: [FHIRPathValue]]
    /// The clock for `now()`, `today()` and `timeOfDay()`; the system clock when nil.
    public var now: Date?
    /// `memberOf(valueSet)`: whether the coding is in the value set, nil when unknown. Without it,
    /// `memberOf()` is an execution error.
    public var memberOf: (@Sendable (_ coding: (system: String?, code: String), _ valueSet: String) -> Bool?)?
    /// `conformsTo(profile)` for profiles other than the R4 base types; nil when unknown.
    public var conformsTo: (@Sendable (_ node: FHIRNode, _ profile: String) -> Bool?)?
    /// Whether `as()` on more than one item is an error, as the FHIRPath specification says.
    /// False by default: R4's own invariants break that rule (dom-3 applies `as(canonical)` to
    /// `descendants()`), so `as()` then keeps the items of the type, like `ofType()`, as the HL7
    /// validator does for R4 content.
    public var asRequiresSingleton: Bool

    public init(
        resource: FHIRNode? = nil,
        rootResource: FHIRNode? = nil,
        variables: [String: [FHIRPathValue]] = [:],
        now: Date? = nil,
        memberOf: (@Sendable (_ coding: (system: String?, code: String), _ valueSet: String) -> Bool?)? = nil,
        conformsTo: (@Sendable (_ node: FHIRNode, _ profile: String) -> Bool?)? = nil,
        asRequiresSingleton: Bool = false
    ) {
        self.resource = resource
        self.rootResource = rootResource
        self.variables = variables
        self.now = now
        self.memberOf = memberOf
        self.conformsTo = conformsTo
        self.asRequiresSingleton = asRequiresSingleton
    }
}

/// A FHIRPath expression, parsed once and evaluated many times (from any thread).
///
/// ```swift
/// let obs6 = try FHIRPathExpression("dataAbsentReason.empty() or value.empty()")
/// let verdict = try obs6.isSatisfied(by: observation)   // true, false, or nil for no result
/// ```
public struct FHIRPathExpression: Sendable {
    public let text: String
    let root: Expression
    /// The outcome of the static check against each focus type seen so far: an expression is
    /// checked once per type (`Observation.valueQuantity` is a semantic error on any Observation).
    private let checks: Checks

    final class Checks: Sendable {
        let verdicts = Mutex<[ObjectIdentifier: FHIRPathError?]>([:])
        /// Types that passed, read without the lock: a small direct-mapped table of type
        /// addresses (an invariant such as ele-1 meets many types, each many times).
        let passed = InlineArray<32, Atomic<UInt>> { _ in Atomic<UInt>(0) }

        func slot(_ bits: UInt) -> Int { Int((bits >> 4) & 31) }
    }

    /// Parses the expression; throws a `syntax` error for malformed text (or more than 4 KB, or
    /// nesting deeper than 128) and a `semantic` error for an unknown function or a wrong number
    /// of arguments.
    public init(_ text: String) throws(FHIRPathError) {
        var parser = try Parser(text)
        self.text = text
        self.root = try parser.parse()
        self.checks = Checks()
    }

    /// Evaluates the expression with `focus` as its context (`%context`, and `$this` at the top).
    /// Throws a `semantic` error when the expression cannot fit the focus's type (an element the
    /// type does not have) and an `execution` error when evaluation fails on this input.
    public func evaluate(_ focus: FHIRNode, environment: FHIRPathEnvironment = FHIRPathEnvironment()) throws(FHIRPathError) -> [FHIRPathValue] {
        try check(against: focus.type)
        return try withEvaluator(focus, environment) { (evaluator) throws(FHIRPathError) in
            let input = [FHIRPathValue.node(focus)]
            return try evaluator.evaluate(root, input: input, scope: Scope(this: input))
        }
    }

    /// Runs `body` with an evaluator that borrows the focus and the environment.
    private func withEvaluator<Result>(
        _ focus: FHIRNode, _ environment: FHIRPathEnvironment, _ body: (Evaluator) throws(FHIRPathError) -> Result
    ) throws(FHIRPathError) -> Result {
        try withUnsafePointer(to: focus) { (focusPointer) throws(FHIRPathError) in
            try withUnsafePointer(to: environment) { (environmentPointer) throws(FHIRPathError) in
                try body(Evaluator(text: text, focus: focusPointer, environment: environmentPointer))
            }
        }
    }

    /// An invariant's verdict: true/false, nil for an empty result; an error for a non-boolean result.
    public func isSatisfied(by focus: FHIRNode, environment: FHIRPathEnvironment = FHIRPathEnvironment()) throws(FHIRPathError) -> Bool? {
        if Evaluator.givesBoolean(root) {
            try check(against: focus.type)
            return try withEvaluator(focus, environment) { (evaluator) throws(FHIRPathError) in
                let input = [FHIRPathValue.node(focus)]
                return try evaluator.booleanValue(root, input: input, scope: Scope(this: input))
            }
        }
        let result = try evaluate(focus, environment: environment)
        guard let first = result.first else { return nil }
        guard result.count == 1 else {
            throw FHIRPathError(.execution, "The expression gives \(result.count) items where an invariant needs one boolean")
        }
        switch first.systemValue {
        case .boolean(let value): return value
        default:
            throw FHIRPathError(.execution, "The expression gives a \(first.suiteType) where an invariant needs a boolean")
        }
    }

    private func check(against type: FHIRType) throws(FHIRPathError) {
        let key = ObjectIdentifier(type)
        let bits = UInt(bitPattern: key)
        if checks.passed[checks.slot(bits)].load(ordering: .relaxed) == bits { return }
        if let known = checks.verdicts.withLock({ $0[key] }) {
            if let error = known { throw error }
            checks.passed[checks.slot(bits)].store(bits, ordering: .relaxed)
            return
        }
        var verdict: FHIRPathError?
        do {
            var checker = TypeChecker(text: text, definitions: .r4)
            _ = try checker.check(root, context: .types([type.name]), this: .types([type.name]))
        } catch {
            verdict = error
        }
        checks.verdicts.withLock { $0[key] = verdict }
        if let verdict { throw verdict }
        checks.passed[checks.slot(bits)].store(bits, ordering: .relaxed)
    }
}
