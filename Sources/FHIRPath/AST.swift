import Foundation

/// A parsed expression: a tree of value types, built once and evaluated many times.
struct Expression: Sendable {
    indirect enum Kind: Sendable {
        /// A literal; `scale` is the number of decimals written, for `lowBoundary()` and
        /// `precision()` (a Decimal does not keep trailing zeros).
        case literal(FHIRPathValue, scale: Int)
        /// `{}`
        case empty
        /// A name at the start of a path: an element of the input, or its type (`Patient`).
        case identifier(String)
        /// `base.name`
        case member(Expression, String)
        /// `base.function(arguments)`, or `function(arguments)` on the input when there is no base.
        case function(Expression?, FunctionCall)
        case this, index, total
        /// `%name`
        case variable(String)
        /// `base[index]`
        case indexer(Expression, Expression)
        /// Unary minus (unary plus is dropped while parsing).
        case negate(Expression)
        case binary(BinaryOperator, Expression, Expression)
        /// `value is Type`
        case isType(Expression, TypeSpecifier)
        /// `value as Type`
        case asType(Expression, TypeSpecifier)
    }

    let kind: Kind
    /// UTF-8 offset of the expression's first token, for messages.
    let offset: Int
    /// The height of the tree below and including this node, which bounds the recursion of
    /// evaluation (`1 + 1 + … + 1` builds a deep tree without any parenthesis).
    let depth: Int

    init(kind: Kind, offset: Int) {
        self.kind = kind
        self.offset = offset
        var below = 0
        switch kind {
        case .literal, .empty, .identifier, .this, .index, .total, .variable: below = 0
        case .member(let base, _), .negate(let base), .isType(let base, _), .asType(let base, _): below = base.depth
        case .function(let base, let call): below = max(base?.depth ?? 0, call.arguments.map(\.depth).max() ?? 0)
        case .indexer(let a, let b), .binary(_, let a, let b): below = max(a.depth, b.depth)
        }
        self.depth = below + 1
    }
}

enum BinaryOperator: String, Sendable {
    case multiply = "*"
    case divide = "/"
    case div, mod
    case add = "+"
    case subtract = "-"
    case concatenate = "&"
    case union = "|"
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    case equal = "="
    case equivalent = "~"
    case notEqual = "!="
    case notEquivalent = "!~"
    case `in`, contains
    case and, or, xor, implies
}

/// A type named in `is`, `as` and `ofType()`: `Patient`, `FHIR.Patient`, `System.Integer`.
struct TypeSpecifier: Sendable, Hashable, CustomStringConvertible {
    /// `FHIR`, `System`, or nil when not qualified.
    let namespace: String?
    let name: String

    var description: String { namespace.map { "\($0).\(name)" } ?? name }

    static let systemTypes: Set<String> = ["Boolean", "String", "Integer", "Decimal", "Date", "DateTime", "Time", "Quantity"]
}

struct FunctionCall: Sendable {
    let function: Function
    let arguments: [Expression]
    /// The type argument of `is()`, `as()` and `ofType()`.
    let type: TypeSpecifier?
}

/// Every function the engine knows, with its number of arguments. Names are resolved while parsing,
/// so an unknown function or a wrong count is a semantic error before anything is evaluated.
enum Function: String, Sendable, CaseIterable {
    // Existence
    case empty, exists, all, allTrue, anyTrue, allFalse, anyFalse, subsetOf, supersetOf, count, distinct, isDistinct
    // Filtering and projection
    case `where`, select, `repeat`, ofType
    // Subsetting
    case single, first, last, tail, skip, take, intersect, exclude
    // Combining
    case union, combine
    // Conversion
    case iif, toBoolean, convertsToBoolean, toInteger, convertsToInteger, toDecimal, convertsToDecimal
    case toString, convertsToString, toDate, convertsToDate, toDateTime, convertsToDateTime, toTime, convertsToTime
    case toQuantity, convertsToQuantity
    // Strings
    case indexOf, substring, startsWith, endsWith, contains, upper, lower, replace, matches, matchesFull, replaceMatches
    case length, toChars, trim, split, join, encode, decode, escape, unescape
    // Math
    case abs, ceiling, exp, floor, ln, log, power, round, sqrt, truncate
    // Tree navigation
    case children, descendants
    // Utility
    case trace, now, today, timeOfDay, sort, aggregate
    // Boolean
    case not
    // Types
    case `is`, `as`, type
    // FHIR
    case `extension`, hasValue, resolve, conformsTo, memberOf, getValue
    // Precision
    case lowBoundary, highBoundary, precision, comparable

    /// The allowed numbers of arguments.
    var arity: ClosedRange<Int> {
        switch self {
        case .empty, .allTrue, .anyTrue, .allFalse, .anyFalse, .count, .distinct, .isDistinct, .single, .first, .last, .tail,
            .toBoolean, .convertsToBoolean, .toInteger, .convertsToInteger, .toDecimal, .convertsToDecimal, .toString,
            .convertsToString, .toDate, .convertsToDate, .toDateTime, .convertsToDateTime, .toTime, .convertsToTime, .upper,
            .lower, .length, .toChars, .trim, .abs, .ceiling, .exp, .floor, .ln, .sqrt, .truncate, .children, .descendants,
            .now, .today, .timeOfDay, .not, .type, .hasValue, .resolve, .getValue:
            0...0
        case .exists: 0...1
        case .all, .subsetOf, .supersetOf, .where, .select, .repeat, .ofType, .skip, .take, .intersect, .exclude, .union,
            .combine, .indexOf, .startsWith, .endsWith, .contains, .matches, .matchesFull, .split, .encode, .decode, .escape,
            .unescape, .log, .power, .is, .as, .extension, .conformsTo, .memberOf, .comparable:
            1...1
        case .iif: 2...3
        case .toQuantity, .convertsToQuantity, .join, .round, .lowBoundary, .highBoundary, .precision: 0...1
        case .substring, .trace, .aggregate: 1...2
        case .replace, .replaceMatches: 2...2
        case .sort: 0...8
        }
    }

    /// Arguments evaluated once per input item with `$this` bound to it, rather than once.
    var takesLambda: Bool {
        switch self {
        case .exists, .all, .where, .select, .repeat, .aggregate, .sort: true
        default: false
        }
    }
}
