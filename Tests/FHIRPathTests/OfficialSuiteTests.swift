import FHIRCore
import Foundation
import TestSupport
import Testing

@testable import FHIRPath

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The official FHIRPath suite for R4 (`Tests/Fixtures/fhirpath-tests/tests-fhir-r4.xml`, 937
/// cases), run as it is. A case passes when:
/// - `invalid="syntax|semantic|execution"`: parsing or evaluation throws (a different kind of
///   error is counted and printed separately, but passes);
/// - otherwise, the result (as a boolean, `!isEmpty`, when `predicate="true"`) has the outputs in
///   order (in any order with `ordered="false"`), each of the output's type when one is given and
///   of its value: decimals (and a quantity's value) by numeric value, since a Decimal does not
///   keep trailing zeros (`1.58650000`); everything else by `suiteValue` text.
///
/// The file has 937 `<test>` elements; two sit inside an XML comment (the disabled
/// `testDollarResource` group), so 935 cases run. 933 pass. The two that do not, with the reason:
/// - testDollar (4/5): `testDollarOrderNotAllowed` (`Patient.children().skip(1)`, with
///   `checkOrderedFunctions="true"`) wants a semantic error for `skip()` after the unordered
///   `children()`; the engine does not track whether a collection is ordered.
/// - miscEngineTests (1/2): `testPrimitiveExtensions` reads `patient-name-extensions.json`, whose
///   `_given` array has one item against two in `given`; R4 JSON requires them to match one for
///   one, so the project's strict reader refuses both arrays and the expression sees no `given`.
/// Two cases are refused with another kind of error than the suite names (they pass):
/// `@T14:34:28Z.is(Time)` and `@T14:34:28+10:00.is(Time)` are syntax errors here (a time literal
/// has no time zone in the grammar), where the suite says execution.
@Suite struct OfficialSuiteTests {
    struct Case {
        var group: String
        var name: String
        var inputFile: String?
        var expression: String
        var invalid: String?
        var predicate: Bool
        var ordered: Bool
        var outputs: [(type: String?, value: String)]
    }

    static func cases() throws -> [Case] {
        let url = Fixtures.fhirpathTests.appendingPathComponent("tests-fhir-r4.xml")
        let document = try XMLDocument(contentsOf: url, options: [])
        var cases: [Case] = []
        for group in document.rootElement()?.elements(forName: "group") ?? [] {
            let groupName = group.attribute(forName: "name")?.stringValue ?? "?"
            for test in group.elements(forName: "test") {
                guard let expression = test.elements(forName: "expression").first else { continue }
                cases.append(
                    Case(
                        group: groupName,
                        name: test.attribute(forName: "name")?.stringValue ?? "?",
                        inputFile: test.attribute(forName: "inputfile")?.stringValue,
                        expression: expression.stringValue ?? "",
                        invalid: expression.attribute(forName: "invalid")?.stringValue,
                        predicate: test.attribute(forName: "predicate")?.stringValue == "true",
                        ordered: test.attribute(forName: "ordered")?.stringValue != "false",
                        outputs: test.elements(forName: "output").map { ($0.attribute(forName: "type")?.stringValue, $0.stringValue ?? "") }
                    )
                )
            }
        }
        return cases
    }

    /// Each input read once.
    static func inputs(_ cases: [Case]) throws -> [String: FHIRNode] {
        var nodes: [String: FHIRNode] = [:]
        for name in Set(cases.compactMap(\.inputFile)) {
            let bytes = try Fixtures.bytes(name, in: Fixtures.fhirpathTests.appendingPathComponent("input"))
            let result = FHIRReader().read(bytes, validate: false)
            let node: FHIRNode = try #require(result.resource, "\(name): \(result.issues)")
            nodes[name] = node
        }
        return nodes
    }

    static func matches(_ actual: FHIRPathValue, _ expected: (type: String?, value: String)) -> Bool {
        if let type = expected.type, actual.suiteType != type { return false }
        if case .decimal(let value) = actual.systemValue ?? actual {
            return Decimal(string: expected.value, locale: nil) == value
        }
        if case .quantity(let quantity) = actual, let space = expected.value.firstIndex(of: " ") {
            let unit = expected.value[expected.value.index(after: space)...]
            return Decimal(string: String(expected.value[..<space]), locale: nil) == quantity.value
                && (unit == "'\(quantity.unit)'" || unit == quantity.unit)
        }
        return actual.suiteValue == expected.value
    }

    enum Verdict {
        case passed
        case passedWithOtherErrorKind(String)
        case failed(String)
    }

    static func run(_ test: Case, on focus: FHIRNode) -> Verdict {
        do {
            let expression = try FHIRPathExpression(test.expression)
            // The suite holds the specification's rule that as() takes one item.
            var result = try expression.evaluate(focus, environment: FHIRPathEnvironment(asRequiresSingleton: true))
            if test.invalid != nil { return .failed("expected a \(test.invalid ?? "") error, got \(result.map { $0.suiteValue ?? "?" })") }
            if test.predicate { result = [.boolean(!result.isEmpty)] }
            guard result.count == test.outputs.count else {
                return .failed("expected \(test.outputs.map(\.value)), got \(result.map { "\($0.suiteType):\($0.suiteValue ?? "?")" })")
            }
            if test.ordered {
                for (actual, expected) in zip(result, test.outputs) where !matches(actual, expected) {
                    return .failed("expected \(expected.type ?? ""):\(expected.value), got \(actual.suiteType):\(actual.suiteValue ?? "?")")
                }
            } else {
                var unmatched = result
                for expected in test.outputs {
                    guard let i = unmatched.firstIndex(where: { matches($0, expected) }) else { return .failed("missing \(expected.value)") }
                    unmatched.remove(at: i)
                }
            }
            return .passed
        } catch {
            guard let kind = test.invalid else { return .failed("unexpected \(error)") }
            return error.kind.rawValue == kind || kind == "true" ? .passed : .passedWithOtherErrorKind("expected \(kind): \(error)")
        }
    }

    @Test func atLeast95PercentOfTheOfficialSuitePasses() throws {
        let cases = try Self.cases()
        // 937 `<test>` elements, of which two sit in a comment (the disabled testDollarResource group).
        #expect(cases.count == 935)
        let inputs = try Self.inputs(cases)
        let empty = try #require(FHIRNode(resourceType: "Parameters"))
        var byGroup: [(String, passed: Int, total: Int)] = []
        var failures: [String] = []
        var otherKinds: [String] = []
        var passed = 0
        for test in cases {
            let focus = test.inputFile.flatMap { inputs[$0] } ?? empty
            if byGroup.last?.0 != test.group { byGroup.append((test.group, 0, 0)) }
            byGroup[byGroup.count - 1].total += 1
            switch Self.run(test, on: focus) {
            case .passed:
                passed += 1
                byGroup[byGroup.count - 1].passed += 1
            case .passedWithOtherErrorKind(let reason):
                passed += 1
                byGroup[byGroup.count - 1].passed += 1
                otherKinds.append("\(test.group)/\(test.name): \(reason)")
            case .failed(let reason):
                failures.append("\(test.group)/\(test.name) `\(test.expression)`: \(reason)")
            }
        }
        var report = "FHIRPath suite: \(passed)/\(cases.count) passed\n"
        for (group, groupPassed, total) in byGroup where groupPassed < total { report += "  \(group): \(groupPassed)/\(total)\n" }
        report += "Failures:\n" + failures.map { "  " + $0 }.joined(separator: "\n") + "\n"
        report += "Refused with another error kind:\n" + otherKinds.map { "  " + $0 }.joined(separator: "\n") + "\n"
        print(report)
        #expect(passed * 100 >= cases.count * 95, "\(report)")
    }
}
