import FHIRCore

/// The static check of an expression against the type of its focus: paths must name elements
/// the types have (`Patient.name.given1` and `Observation.valueQuantity` are semantic errors; the
/// choice element is `Observation.value`), an expression starting with a type name must start at
/// that type, and a few operators and functions must get types they take. Where the type is not
/// known (after `children()`, `resolve()`, a `Resource` element), anything goes.
struct TypeChecker {
    /// The possible types of a collection: FHIR type names and `System.X` names, or unknown.
    enum Types: Equatable {
        case unknown
        case types(Set<String>)

        static let boolean = Types.types(["System.Boolean"])
        static let string = Types.types(["System.String"])
        static let integer = Types.types(["System.Integer"])

        func union(_ other: Types) -> Types {
            guard case .types(let a) = self, case .types(let b) = other else { return .unknown }
            return .types(a.union(b))
        }
    }

    let text: String
    let definitions: R4Definitions

    private func error(_ message: String, at expression: Expression) -> FHIRPathError {
        FHIRPathError(.semantic, message, at: expression.offset, in: text)
    }

    /// The FHIR types whose elements are known (concrete types, not `Resource` or System types).
    private func concrete(_ names: Set<String>) -> [FHIRType]? {
        var types: [FHIRType] = []
        for name in names {
            guard !name.hasPrefix("System."), let type = definitions.type(name), type.kind != .abstractResource else { return nil }
            types.append(type)
        }
        return types
    }

    private static let stringLike: Set<String> = [
        "System.String", "string", "code", "id", "uri", "url", "canonical", "markdown", "oid", "uuid", "base64Binary", "xhtml",
    ]
    private static let booleanLike: Set<String> = ["System.Boolean", "boolean"]
    private static let temporal: Set<String> = ["System.Date", "System.DateTime", "System.Time", "date", "dateTime", "instant", "time"]
    private static let numeric: Set<String> = ["System.Integer", "System.Decimal", "integer", "decimal", "positiveInt", "unsignedInt"]

    /// The types of element `name` of the given types; a semantic error when none has it.
    private func element(_ name: String, of types: Types, at expression: Expression) throws(FHIRPathError) -> Types {
        guard case .types(let names) = types, let known = concrete(names), !known.isEmpty else { return .unknown }
        var result = Set<String>()
        for type in known {
            for element in type.elements where element.name == name {
                for typeName in element.typeNames {
                    // Backbone elements are typed by their path (`Observation.Component`).
                    result.insert(typeName)
                }
            }
        }
        if result.isEmpty {
            let list = known.map(\.name).sorted().joined(separator: ", ")
            var message = "\(list) has no element '\(name)'"
            if let choice = known.lazy.compactMap({ type in
                type.elements.first { $0.isChoice && name.hasPrefix($0.name) && name.count > $0.name.count }
            }).first {
                message += "; the choice element is '\(choice.name)' (use \(choice.name).ofType(\(name.dropFirst(choice.name.count))))"
            }
            throw error(message, at: expression)
        }
        if result.contains(where: { definitions.type($0) == nil || definitions.type($0)?.kind == .abstractResource }) { return .unknown }
        return .types(result)
    }

    private func isTypeName(_ name: String, of types: Types) -> Bool {
        guard case .types(let names) = types else { return false }
        for typeName in names {
            var current = definitions.type(typeName)
            var steps = 0
            while let t = current, steps < 16 {
                if t.name == name { return true }
                current = t.baseName.flatMap { definitions.type($0) }
                steps += 1
            }
        }
        return false
    }

    private func typeOf(_ specifier: TypeSpecifier) -> Types {
        if specifier.namespace != "System", definitions.type(specifier.name) != nil { return .types([specifier.name]) }
        if TypeSpecifier.systemTypes.contains(specifier.name) { return .types(["System." + specifier.name]) }
        return .unknown
    }

    mutating func check(_ expression: Expression, context: Types, this: Types) throws(FHIRPathError) -> Types {
        switch expression.kind {
        case .literal(let value, _):
            return value.systemTypeName.map { .types(["System." + $0]) } ?? .unknown
        case .empty, .variable, .total, .index:
            if case .index = expression.kind { return .integer }
            return .unknown
        case .this:
            return this
        case .identifier(let name):
            if let first = name.first, first.isUppercase {
                if isTypeName(name, of: context) { return context }
                if case .types(let names) = context, let known = concrete(names), !known.isEmpty, definitions.type(name) != nil {
                    throw error(
                        "The expression starts at \(name) but its context is \(known.map(\.name).sorted().joined(separator: ", "))", at: expression)
                }
            }
            return try element(name, of: context, at: expression)
        case .member(let base, let name):
            if case .function(_, let call) = base.kind, call.function == .type {
                _ = try check(base, context: context, this: this)
                return .string
            }
            return try element(name, of: try check(base, context: context, this: this), at: expression)
        case .indexer(let base, let index):
            _ = try check(index, context: context, this: this)
            return try check(base, context: context, this: this)
        case .negate(let operand):
            let type = try check(operand, context: context, this: this)
            if case .types(let names) = type, names.isSubset(of: Self.booleanLike.union(Self.stringLike)) {
                throw error("Unary minus does not apply to a \(names.sorted().joined(separator: " or "))", at: expression)
            }
            return type
        case .isType(let operand, _):
            _ = try check(operand, context: context, this: this)
            return .boolean
        case .asType(let operand, let type):
            _ = try check(operand, context: context, this: this)
            return typeOf(type)
        case .binary(let op, let lhs, let rhs):
            let a = try check(lhs, context: context, this: this)
            let b = try check(rhs, context: context, this: this)
            switch op {
            case .and, .or, .xor, .implies, .equal, .notEqual, .equivalent, .notEquivalent, .less, .lessOrEqual, .greater, .greaterOrEqual,
                .in, .contains:
                return .boolean
            case .union:
                return a.union(b)
            case .concatenate:
                return .string
            case .add, .subtract, .multiply, .divide, .div, .mod:
                if case .types(let x) = a, case .types(let y) = b, x.isSubset(of: Self.temporal), y.isSubset(of: Self.numeric) {
                    throw error("A date or time can only be moved by a quantity (7 days, 1 'h'), not by a number", at: expression)
                }
                if case .types(let x) = a, case .types(let y) = b, x.isSubset(of: Self.numeric), y.isSubset(of: Self.numeric) {
                    if op == .divide { return .types(["System.Decimal"]) }
                    return x.union(y).contains { $0.hasSuffix("ecimal") } ? .types(["System.Decimal"]) : .integer
                }
                return a == b ? a : .unknown
            }
        case .function(let base, let call):
            let input = try base.map { (b) throws(FHIRPathError) in try check(b, context: context, this: this) } ?? context
            // iif() with an invocant evaluates its arguments against that invocant.
            if base != nil, call.function == .iif { return try checkCall(call, input: input, context: input, this: input, at: expression) }
            return try checkCall(call, input: input, context: context, this: this, at: expression)
        }
    }

    private mutating func checkCall(_ call: FunctionCall, input: Types, context: Types, this: Types, at expression: Expression) throws(FHIRPathError)
        -> Types
    {
        let arguments = call.arguments
        var argumentTypes: [Types] = []
        if call.function.takesLambda {
            for argument in arguments {
                let inner: Expression = if case .negate(let e) = argument.kind, call.function == .sort { e } else { argument }
                argumentTypes.append(try check(inner, context: input, this: input))
            }
        } else if call.function == .iif {
            // iif's arguments see the input as their context when it has an invocant.
            for argument in arguments { argumentTypes.append(try check(argument, context: context, this: this)) }
            if case .types(let names) = argumentTypes[0], names.isDisjoint(with: Self.booleanLike) {
                throw error("iif() needs a boolean condition, not a \(names.sorted().joined(separator: " or "))", at: arguments[0])
            }
        } else if call.function == .trace {
            argumentTypes.append(try check(arguments[0], context: context, this: this))
            if arguments.count > 1 { _ = try check(arguments[1], context: input, this: input) }
        } else if call.type == nil {
            for argument in arguments { argumentTypes.append(try check(argument, context: context, this: this)) }
        }
        switch call.function {
        case .startsWith, .endsWith, .contains, .indexOf, .substring, .upper, .lower, .replace, .matches, .matchesFull, .replaceMatches,
            .length, .toChars, .trim, .split, .encode, .decode, .escape, .unescape:
            if case .types(let names) = input, names.isDisjoint(with: Self.stringLike) {
                throw error("\(call.function.rawValue)() applies to strings, not to \(names.sorted().joined(separator: " or "))", at: expression)
            }
        default:
            break
        }
        switch call.function {
        case .where, .first, .last, .tail, .skip, .take, .single, .distinct, .trace, .exclude, .intersect, .aggregate, .sort:
            return call.function == .aggregate ? .unknown : input
        case .select:
            return argumentTypes.first ?? .unknown
        case .union, .combine:
            return input.union(argumentTypes.first ?? .unknown)
        case .iif:
            return argumentTypes.count > 2 ? argumentTypes[1].union(argumentTypes[2]) : argumentTypes[1]
        case .ofType, .as:
            return call.type.map(typeOf) ?? .unknown
        case .extension:
            return .types(["Extension"])
        case .empty, .exists, .all, .allTrue, .anyTrue, .allFalse, .anyFalse, .subsetOf, .supersetOf, .isDistinct, .not, .is, .hasValue,
            .startsWith, .endsWith, .contains, .matches, .matchesFull, .conformsTo, .memberOf, .comparable:
            return .boolean
        case .count, .length, .indexOf, .precision:
            return .integer
        case .toString, .upper, .lower, .replace, .replaceMatches, .substring, .trim, .join, .toChars, .split, .encode, .decode, .escape, .unescape:
            return .string
        default:
            return .unknown
        }
    }
}
