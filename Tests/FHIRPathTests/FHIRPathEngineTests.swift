import FHIRCore
import Foundation
import Testing

@testable import FHIRPath

/// The engine's own behaviour beyond the official suite: error kinds and their messages, three-
/// valued logic, the limits, invariant verdicts, and the environment.
@Suite struct FHIRPathEngineTests {
    static let observation: FHIRNode = {
        let json = #"""
            {"resourceType":"Observation","id":"a","status":"final",
             "code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},
             "valueQuantity":{"value":185,"unit":"lbs","system":"http://unitsofmeasure.org","code":"[lb_av]"},
             "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":107,"code":"mm[Hg]"}}]}
            """#
        return FHIRReader().read(Array(json.utf8), validate: false).resource ?? FHIRNode(resourceType: "Observation")!
    }()

    func evaluate(_ text: String, on focus: FHIRNode = observation, environment: FHIRPathEnvironment = FHIRPathEnvironment()) throws(FHIRPathError)
        -> [FHIRPathValue]
    {
        try FHIRPathExpression(text).evaluate(focus, environment: environment)
    }

    func kind(of text: String) -> FHIRPathError.Kind? {
        do {
            _ = try evaluate(text)
            return nil
        } catch {
            return error.kind
        }
    }

    // MARK: Errors

    @Test func malformedTextIsASyntaxErrorThatSaysWhere() {
        #expect(throws: FHIRPathError.self) { try FHIRPathExpression("status = ") }
        do {
            _ = try FHIRPathExpression("status =\n  (1 + )")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.line == 2)
            #expect(error.column == 8)
            #expect(error.description.contains("line 2, column 8"))
        }
    }

    @Test func unknownFunctionsAndWrongArgumentCountsAreSemanticErrors() {
        #expect(kind(of: "status.frobnicate()") == .semantic)
        #expect(kind(of: "status.substring()") == .semantic)
        #expect(kind(of: "status.exists(1, 2)") == .semantic)
    }

    @Test func elementsTheTypeDoesNotHaveAreSemanticErrors() {
        #expect(kind(of: "Observation.valueQuantity.value") == .semantic)
        #expect(kind(of: "Observation.statuss") == .semantic)
        #expect(kind(of: "Patient.name") == .semantic)
        #expect(kind(of: "Observation.value.ofType(Quantity).value") == nil)
    }

    @Test func theChoiceMessageNamesTheChoiceElement() {
        do {
            _ = try evaluate("Observation.valueQuantity")
        } catch {
            #expect(error.message.contains("the choice element is 'value'"))
        }
    }

    @Test func evaluationFailuresAreExecutionErrors() {
        #expect(kind(of: "component.code.coding.code.single()") == nil)
        #expect(kind(of: "(1 | 2).single()") == .execution)
        #expect(kind(of: "'a' - 'b'") == .execution)
        #expect(kind(of: "%unknown") == .execution)
        #expect(kind(of: "1 < 'a'") == .execution)
    }

    // MARK: Limits

    @Test func anExpressionOver4KBIsRefused() {
        let long = String(repeating: "status or ", count: 512) + "status"
        #expect(long.utf8.count > 5000)
        do {
            _ = try FHIRPathExpression(long)
            Issue.record("expected a refusal")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.message.contains("limit"))
        }
    }

    @Test func nestingDeeperThan128IsRefusedWithoutExhaustingTheStack() {
        for depth in [129, 1000] {
            let nested = String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth)
            #expect(throws: FHIRPathError.self) { try FHIRPathExpression(nested) }
            let negated = String(repeating: "-", count: depth) + "1"
            #expect(throws: FHIRPathError.self) { try FHIRPathExpression(negated) }
        }
        #expect((try? FHIRPathExpression(String(repeating: "(", count: 100) + "1" + String(repeating: ")", count: 100))) != nil)
    }

    // MARK: Logic

    @Test func andOrXorImpliesFollowThreeValuedLogic() throws {
        let t = "true"
        let f = "false"
        let e = "{}"
        let table: [(String, Bool?)] = [
            ("\(t) and \(e)", nil), ("\(f) and \(e)", false), ("\(e) and \(e)", nil),
            ("\(t) or \(e)", true), ("\(f) or \(e)", nil), ("\(e) or \(e)", nil),
            ("\(t) xor \(e)", nil), ("\(t) xor \(f)", true),
            ("\(f) implies \(e)", true), ("\(e) implies \(t)", true), ("\(t) implies \(e)", nil), ("\(e) implies \(f)", nil),
        ]
        for (text, expected) in table {
            let result = try evaluate(text)
            #expect(result == (expected.map { [.boolean($0)] } ?? []), "\(text)")
        }
    }

    @Test func anInvariantIsTrueFalseOrUnknown() throws {
        let obs6 = try FHIRPathExpression("dataAbsentReason.empty() or value.empty()")
        #expect(try obs6.isSatisfied(by: Self.observation) == true)
        let absent = try FHIRPathExpression("dataAbsentReason.exists()")
        #expect(try absent.isSatisfied(by: Self.observation) == false)
        #expect(try FHIRPathExpression("dataAbsentReason").isSatisfied(by: Self.observation) == nil)
        #expect(throws: FHIRPathError.self) { try FHIRPathExpression("status").isSatisfied(by: Self.observation) }
    }

    @Test func theObservationInvariantsHold() throws {
        for text in [
            "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()",
            "hasValue() or (children().count() > id.count())",
            "component.all(value.exists() or dataAbsentReason.exists())",
        ] {
            #expect(try FHIRPathExpression(text).isSatisfied(by: Self.observation) == true, "\(text)")
        }
    }

    // MARK: Navigation and values

    @Test func choiceElementsAreReachedByTheirBaseName() throws {
        let value = try evaluate("Observation.value")
        #expect(value.count == 1)
        #expect(value.first?.suiteType == "Quantity")
        #expect(try evaluate("value.unit").first?.suiteValue == "lbs")
        #expect(try evaluate("value = 185 '[lb_av]'") == [.boolean(true)])
        #expect(try evaluate("value > 80 'kg'") == [.boolean(true)])
    }

    /// `toString()` gives a dateTime as FHIR writes it, at its precision; only the literal notation
    /// marks a year or month dateTime with `T` (R4's vs-1 measures the string's length).
    @Test func aPartialDateTimeConvertsToItsFHIRText() throws {
        #expect(try evaluate("@2020-03T.toString()") == [.string("2020-03")])
        #expect(try evaluate("@2020T.toString()") == [.string("2020")])
        #expect(try evaluate("@2020-03-01T10:00Z.toString()") == [.string("2020-03-01T10:00Z")])
        #expect(try evaluate("@2020-03T").first?.suiteValue == "@2020-03T")
        #expect(try evaluate("('2020-03' as dateTime).toString().length()").isEmpty)
        #expect(try evaluate("'2020-03'.toDateTime().toString().length()") == [.integer(7)])
    }

    @Test func theEnvironmentGivesVariablesTheClockAndTerminology() throws {
        let environment = FHIRPathEnvironment(
            variables: ["limit": [.integer(100)]],
            now: Date(timeIntervalSince1970: 0),
            memberOf: { coding, valueSet in coding.code == "29463-7" && valueSet == "http://example.org/vs" }
        )
        #expect(try evaluate("value.value < %limit", environment: environment) == [.boolean(false)])
        #expect(try evaluate("today()", environment: environment).first?.suiteValue == "@1970-01-01")
        #expect(try evaluate("code.memberOf('http://example.org/vs')", environment: environment) == [.boolean(true)])
        #expect(kind(of: "code.memberOf('http://example.org/vs')") == .execution)
    }

    @Test func anExpressionIsSharedAcrossTasks() async throws {
        let expression = try FHIRPathExpression("component.code.coding.code")
        try await withThrowingTaskGroup(of: [FHIRPathValue].self) { group in
            for _ in 0..<8 { group.addTask { try expression.evaluate(Self.observation) } }
            for try await result in group { #expect(result.first?.suiteValue == "8480-6") }
        }
    }
}

/// Inputs that must be refused or bounded rather than crash or hang.
@Suite struct FHIRPathHardeningTests {
    let patient = FHIRNode(resourceType: "Patient")!

    func evaluate(_ text: String) throws(FHIRPathError) -> [FHIRPathValue] {
        try FHIRPathExpression(text).evaluate(patient)
    }

    @Test func aLongOperatorChainIsRefusedAsTooDeep() {
        let chain = Array(repeating: "1", count: 1000).joined(separator: " + ")
        do {
            _ = try FHIRPathExpression(chain)
            Issue.record("expected a refusal")
        } catch {
            #expect(error.message.contains("nested more than 128"))
        }
        let path = Array(repeating: "name", count: 1000).joined(separator: ".")
        #expect(throws: FHIRPathError.self) { try FHIRPathExpression(path) }
    }

    @Test func arithmeticOverflowIsAnErrorNotATrap() {
        #expect(throws: FHIRPathError.self) { try evaluate("2147483647 + 1") }
        #expect(throws: FHIRPathError.self) { try evaluate("2.power(40)") }
        #expect(throws: FHIRPathError.self) { try evaluate("@2020-01-01 + 10000000000 years") }
        #expect((try? evaluate("1.power(2147483647)")) == [.integer(1)])
        #expect((try? evaluate("(-2147483647 - 1) div -1")) == [.integer(2_147_483_648)])
    }

    @Test func anEndlessRepeatStops() {
        #expect(throws: FHIRPathError.self) { try evaluate("1.repeat($this + 1)") }
    }

    @Test func absurdUnitsAreUnknownNotSlow() throws {
        #expect(try evaluate("1 'm999999999' = 1 'm'").isEmpty)
        #expect(try evaluate("1 '10*999999999' = 1 '1'").isEmpty)
    }
}
