import FHIRCore
import Foundation

extension Evaluator {
    /// Calls a function on `target` (its invocant's result, or the input when it has none).
    /// Arguments that are lambdas are evaluated per item of `target`; others once, in the scope the
    /// call appears in.
    func invoke(_ call: FunctionCall, on target: [FHIRPathValue], hasInvocant: Bool, input: [FHIRPathValue], scope: Scope, at expression: Expression)
        throws(FHIRPathError) -> [FHIRPathValue]
    {
        let arguments = call.arguments
        /// A non-lambda argument's value.
        func argument(_ i: Int) throws(FHIRPathError) -> [FHIRPathValue] {
            guard i < arguments.count else { return [] }
            return try evaluate(arguments[i], input: input, scope: scope)
        }
        /// A lambda argument for one item of the target.
        func lambda(_ i: Int, item: FHIRPathValue, index: Int, total: [FHIRPathValue]? = nil) throws(FHIRPathError) -> [FHIRPathValue] {
            try evaluate(arguments[i], input: [item], scope: Scope(this: [item], index: index, total: total))
        }

        switch call.function {
        // MARK: Existence
        case .empty:
            return [.boolean(target.isEmpty)]
        case .exists:
            if arguments.isEmpty { return [.boolean(!target.isEmpty)] }
            for (i, item) in target.enumerated() where try boolean(try lambda(0, item: item, index: i), at: arguments[0]) == true {
                return [.boolean(true)]
            }
            return [.boolean(false)]
        case .all:
            for (i, item) in target.enumerated() where try boolean(try lambda(0, item: item, index: i), at: arguments[0]) != true {
                return [.boolean(false)]
            }
            return [.boolean(true)]
        case .allTrue, .anyTrue, .allFalse, .anyFalse:
            var flags: [Bool] = []
            for item in target {
                guard case .boolean(let flag) = item.systemValue ?? item else {
                    throw error("\(call.function.rawValue)() needs booleans but found a \(item.suiteType)", at: expression)
                }
                flags.append(flag)
            }
            switch call.function {
            case .allTrue: return [.boolean(flags.allSatisfy { $0 })]
            case .anyTrue: return [.boolean(flags.contains(true))]
            case .allFalse: return [.boolean(flags.allSatisfy { !$0 })]
            default: return [.boolean(flags.contains(false))]
            }
        case .subsetOf, .supersetOf:
            let other = try argument(0)
            let (small, large) = call.function == .subsetOf ? (target, other) : (other, target)
            return [.boolean(small.allSatisfy { item in large.contains { Self.equals($0, item) == true } })]
        case .count:
            return [.integer(target.count)]
        case .distinct:
            return distinct(target)
        case .isDistinct:
            return [.boolean(distinct(target).count == target.count)]

        // MARK: Filtering and projection
        case .where:
            var out: [FHIRPathValue] = []
            for (i, item) in target.enumerated() where try boolean(try lambda(0, item: item, index: i), at: arguments[0]) == true {
                out.append(item)
            }
            return out
        case .select:
            var out: [FHIRPathValue] = []
            for (i, item) in target.enumerated() { out.append(contentsOf: try lambda(0, item: item, index: i)) }
            return out
        case .repeat:
            var out: [FHIRPathValue] = []
            var systemValues = 0
            var pending = target
            while !pending.isEmpty {
                var next: [FHIRPathValue] = []
                for (i, item) in pending.enumerated() {
                    for produced in try lambda(0, item: item, index: i) {
                        // Nodes of a tree cannot repeat, and a tree is finite; System values can
                        // repeat (`repeat('a')`) or go on forever (`repeat($this + 1)`).
                        if !produced.isNode {
                            if out.contains(where: { Self.equals($0, produced) == true }) { continue }
                            systemValues += 1
                        }
                        out.append(produced)
                        next.append(produced)
                    }
                }
                guard systemValues <= Self.maxRepeatValues, out.count <= Self.maxItems else {
                    throw error(
                        "repeat() produced more than \(systemValues > Self.maxRepeatValues ? Self.maxRepeatValues : Self.maxItems) items",
                        at: expression)
                }
                pending = next
            }
            return out
        case .ofType:
            guard let type = call.type else { return [] }
            var out: [FHIRPathValue] = []
            for item in target where try item.matches(type, exact: true, evaluator: self, at: expression) { out.append(item) }
            return out

        // MARK: Subsetting
        case .single:
            return try singleton(target, at: expression).map { [$0] } ?? []
        case .first:
            return target.first.map { [$0] } ?? []
        case .last:
            return target.last.map { [$0] } ?? []
        case .tail:
            return Array(target.dropFirst())
        case .skip, .take:
            guard let n = try integerArgument(try argument(0), at: arguments[0]) else { return [] }
            if call.function == .skip { return Array(target.dropFirst(max(0, n))) }
            return Array(target.prefix(max(0, n)))
        case .intersect:
            let other = try argument(0)
            return distinct(target.filter { item in other.contains { Self.equals($0, item) == true } })
        case .exclude:
            let other = try argument(0)
            return target.filter { item in !other.contains { Self.equals($0, item) == true } }

        // MARK: Combining
        case .union:
            return distinct(target + (try argument(0)))
        case .combine:
            return target + (try argument(0))

        // MARK: Utility
        case .iif:
            // With an invocant, iif() runs on its one item (or on nothing); without, in place.
            guard !hasInvocant || target.count <= 1 else {
                throw error("iif() applies to at most one item, not \(target.count)", at: expression)
            }
            let item = hasInvocant ? target.first : nil
            let scope = item.map { Scope(this: [$0]) } ?? scope
            let source = item.map { [$0] } ?? input
            let condition = try boolean(try evaluate(arguments[0], input: source, scope: scope), at: arguments[0])
            if condition == true { return try evaluate(arguments[1], input: source, scope: scope) }
            return arguments.count > 2 ? try evaluate(arguments[2], input: source, scope: scope) : []
        case .trace:
            return target
        case .now, .today, .timeOfDay:
            return [clock(call.function)]
        case .not:
            guard let value = try boolean(target, at: expression) else { return [] }
            return [.boolean(!value)]
        case .aggregate:
            var total = arguments.count > 1 ? try argument(1) : []
            for (i, item) in target.enumerated() { total = try lambda(0, item: item, index: i, total: total) }
            return total
        case .sort:
            return try sort(target, call: call, at: expression)
        case .type:
            return target.map { .string($0.qualifiedTypeName) }
        case .is:
            guard let item = try singleton(target, at: expression), let type = call.type else { return [] }
            return [.boolean(try item.matches(type, exact: false, evaluator: self, at: expression))]
        case .as:
            guard let type = call.type else { return [] }
            if environment.pointee.asRequiresSingleton { _ = try singleton(target, at: expression) }
            var out: [FHIRPathValue] = []
            for item in target where try item.matches(type, exact: true, evaluator: self, at: expression) { out.append(item) }
            return out

        // MARK: Tree
        case .children:
            var out: [FHIRPathValue] = []
            for case .node(let node) in target { out.append(contentsOf: node.children.lazy.map { .node($0) }) }
            return out
        case .descendants:
            // Depth first, in document order, with an explicit stack (no recursion on deep trees).
            var out: [FHIRPathValue] = []
            var pending: [FHIRNode] = []
            for case .node(let node) in target.reversed() { pending.append(contentsOf: node.children.reversed()) }
            while let node = pending.popLast() {
                out.append(.node(node))
                guard out.count <= Self.maxItems else { throw error("descendants() produced more than \(Self.maxItems) items", at: expression) }
                pending.append(contentsOf: node.children.reversed())
            }
            return out

        // MARK: FHIR
        case .extension:
            guard let url = try stringArgument(try argument(0), at: arguments[0]) else { return [] }
            var out: [FHIRPathValue] = []
            for case .node(let node) in target {
                for child in node.children where child.name == "extension" && child.value(of: "url") == url { out.append(.node(child)) }
            }
            return out
        case .hasValue:
            guard target.count == 1, let item = target.first else { return [.boolean(false)] }
            if case .node(let node) = item { return [.boolean(node.type.isPrimitive && node.value != nil)] }
            return [.boolean(true)]
        case .getValue:
            guard target.count == 1, let item = target.first, item.isNode, let value = item.systemValue else { return [] }
            return [value]
        case .resolve:
            return resolve(target)
        case .memberOf:
            return try memberOf(target, valueSet: try stringArgument(try argument(0), at: arguments[0]), at: expression)
        case .conformsTo:
            guard let profile = try stringArgument(try argument(0), at: arguments[0]) else { return [] }
            return try target.map { (item) throws(FHIRPathError) in try conformsTo(item, profile, at: expression) }

        default:
            return try invokeOther(call, on: target, argument: argument, at: expression)
        }
    }

    /// Dispatches the functions not handled in `invoke`.
    func invokeOther(
        _ call: FunctionCall, on target: [FHIRPathValue], argument: (Int) throws(FHIRPathError) -> [FHIRPathValue], at expression: Expression
    ) throws(FHIRPathError) -> [FHIRPathValue] {
        switch call.function {
        case .indexOf, .substring, .startsWith, .endsWith, .contains, .upper, .lower, .replace, .matches, .matchesFull, .replaceMatches,
            .length, .toChars, .trim, .split, .join, .encode, .decode, .escape, .unescape:
            return try invokeString(call, on: target, argument: argument, at: expression)
        case .abs, .ceiling, .exp, .floor, .ln, .log, .power, .round, .sqrt, .truncate:
            return try invokeMath(call, on: target, argument: argument, at: expression)
        case .toBoolean, .convertsToBoolean, .toInteger, .convertsToInteger, .toDecimal, .convertsToDecimal, .toString, .convertsToString,
            .toDate, .convertsToDate, .toDateTime, .convertsToDateTime, .toTime, .convertsToTime, .toQuantity, .convertsToQuantity:
            return try invokeConversion(call, on: target, argument: argument, at: expression)
        case .lowBoundary, .highBoundary, .precision, .comparable:
            return try invokeBoundary(call, on: target, argument: argument, at: expression)
        default:
            throw error("\(call.function.rawValue)() is not available here", at: expression)
        }
    }

    func integerArgument(_ values: [FHIRPathValue], at expression: Expression) throws(FHIRPathError) -> Int? {
        guard let item = try singleton(values, at: expression) else { return nil }
        guard case .integer(let n) = item.systemValue ?? item else {
            throw error("Expected an integer argument, not a \(item.suiteType)", at: expression)
        }
        return n
    }

    func stringArgument(_ values: [FHIRPathValue], at expression: Expression) throws(FHIRPathError) -> String? {
        guard let item = try singleton(values, at: expression) else { return nil }
        guard case .string(let s) = item.systemValue ?? item else {
            throw error("Expected a string argument, not a \(item.suiteType)", at: expression)
        }
        return s
    }

    private func clock(_ function: Function) -> FHIRPathValue {
        let date = environment.pointee.now ?? Date()
        var value = FHIRPathTemporal(kind: .dateTime, precision: .millisecond)
        value.setLocalMilliseconds(Int((date.timeIntervalSince1970 * 1000).rounded(.down)))
        value.timeZoneOffset = 0
        switch function {
        case .today:
            value.kind = .date
            value.precision = .day
            value.timeZoneOffset = nil
            return .date(value)
        case .timeOfDay:
            value.kind = .time
            value.timeZoneOffset = nil
            return .time(value)
        default:
            return .dateTime(value)
        }
    }

    private func sort(_ target: [FHIRPathValue], call: FunctionCall, at expression: Expression) throws(FHIRPathError) -> [FHIRPathValue] {
        // Each key is an argument; a leading minus sorts that key descending.
        let keys: [(Expression, Bool)] = call.arguments.map { argument in
            if case .negate(let inner) = argument.kind { return (inner, true) }
            return (argument, false)
        }
        var rows: [(item: FHIRPathValue, keys: [FHIRPathValue?])] = []
        for (i, item) in target.enumerated() {
            var values: [FHIRPathValue?] = []
            if keys.isEmpty { values.append(item) }
            for (key, _) in keys {
                values.append(try singleton(try evaluate(key, input: [item], scope: Scope(this: [item], index: i)), at: key))
            }
            rows.append((item, values))
        }
        var failure: FHIRPathError?
        let sorted = rows.enumerated().sorted { lhs, rhs in
            for k in 0..<max(1, keys.count) {
                let descending = keys.isEmpty ? false : keys[k].1
                let a = lhs.element.keys[k]
                let b = rhs.element.keys[k]
                var order: Int
                switch (a, b) {
                // An empty key sorts after every value (and so first when descending).
                case (nil, nil): order = 0
                case (nil, _): order = 1
                case (_, nil): order = -1
                case (let a?, let b?):
                    do throws(FHIRPathError) {
                        order = try compare(a, b, at: expression) ?? 0
                    } catch {
                        failure = error
                        order = 0
                    }
                }
                if descending { order = -order }
                if order != 0 { return order < 0 }
            }
            return lhs.offset < rhs.offset
        }
        if let failure { throw failure }
        return sorted.map { $0.element.item }
    }

    // MARK: References and terminology

    /// The resources that references point to within `%resource` (`#id` for contained resources)
    /// or `%rootResource` when it is a Bundle (by `fullUrl`, or by `Type/id`).
    private func resolve(_ target: [FHIRPathValue]) -> [FHIRPathValue] {
        var out: [FHIRPathValue] = []
        for item in target {
            let reference: String?
            switch item {
            case .node(let node) where node.type.name == "Reference": reference = node.value(of: "reference")
            case .node(let node) where node.type.isPrimitive: reference = node.value
            case .string(let text): reference = text
            default: reference = nil
            }
            guard let reference else { continue }
            if reference.hasPrefix("#") {
                let id = reference.dropFirst()
                if id.isEmpty {
                    out.append(.node(resource))
                    continue
                }
                if let found = resource.children.first(where: { $0.name == "contained" && $0.value(of: "id") == String(id) }) {
                    out.append(.node(found))
                }
                continue
            }
            guard rootResource.type.name == "Bundle" else { continue }
            for entry in rootResource.children where entry.name == "entry" {
                guard let found = entry.child(named: "resource") else { continue }
                let fullUrl = entry.value(of: "fullUrl")
                let local = found.type.name + "/" + (found.value(of: "id") ?? "")
                if fullUrl == reference || reference == local || reference.hasSuffix("/" + local) || (fullUrl?.hasSuffix("/" + reference) ?? false) {
                    out.append(.node(found))
                    break
                }
            }
        }
        return out
    }

    private func memberOf(_ target: [FHIRPathValue], valueSet: String?, at expression: Expression) throws(FHIRPathError) -> [FHIRPathValue] {
        guard let valueSet, let item = try singleton(target, at: expression) else { return [] }
        guard let check = environment.pointee.memberOf else {
            throw error("memberOf() needs a terminology check: give FHIRPathEnvironment.memberOf", at: expression)
        }
        var codings: [(system: String?, code: String)] = []
        switch item {
        case .node(let node) where node.type.name == "Coding":
            if let code = node.value(of: "code") { codings.append((node.value(of: "system"), code)) }
        case .node(let node) where node.type.name == "CodeableConcept":
            for coding in node.children where coding.name == "coding" {
                if let code = coding.value(of: "code") { codings.append((coding.value(of: "system"), code)) }
            }
        default:
            if case .string(let code) = item.systemValue ?? item { codings.append((nil, code)) }
        }
        var unknown = false
        for coding in codings {
            switch check(coding, valueSet) {
            case true?: return [.boolean(true)]
            case nil: unknown = true
            case false?: break
            }
        }
        return unknown ? [] : [.boolean(false)]
    }

    private func conformsTo(_ item: FHIRPathValue, _ profile: String, at expression: Expression) throws(FHIRPathError) -> FHIRPathValue {
        guard case .node(let node) = item else { return .boolean(false) }
        let base = "http://hl7.org/fhir/StructureDefinition/"
        if profile.hasPrefix(base), definitions.type(String(profile.dropFirst(base.count))) != nil {
            return .boolean(isType(node.type, named: String(profile.dropFirst(base.count))))
        }
        if let check = environment.pointee.conformsTo, let verdict = check(node, profile) { return .boolean(verdict) }
        throw error("conformsTo() does not know the profile \(profile): give FHIRPathEnvironment.conformsTo", at: expression)
    }
}
