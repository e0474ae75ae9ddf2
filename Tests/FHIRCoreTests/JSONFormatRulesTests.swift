import FHIRCore
import Testing

/// The rules of FHIR's JSON format that the reader applies while it pulls values from the bytes:
/// `_name` partners before or after their values, `null` only where a partner fills it, arrays
/// exactly where an element repeats, and `resourceType` anywhere in a resource.
struct JSONFormatRulesTests {
    struct Refusal: CustomTestStringConvertible, Sendable {
        var json: String
        var expression: String
        var words: String
        var testDescription: String { "\(expression): \(words)" }
    }

    static let refusals: [Refusal] = [
        .init(json: #"{"resourceType":"Patient","name":[{"given":["a",null]}]}"#, expression: "Patient.name[0].given[1]", words: "null"),
        .init(json: #"{"resourceType":"Patient","active":null}"#, expression: "Patient.active", words: "null"),
        .init(
            json: #"{"resourceType":"Patient","name":[{"given":["a","b"],"_given":[{"id":"x"}]}]}"#, expression: "Patient.name[0]._given",
            words: "1 items but 'given' has 2"),
        .init(
            json: #"{"resourceType":"Patient","name":[{"_given":[{"id":"x"}],"given":["a","b"]}]}"#, expression: "Patient.name[0]._given",
            words: "1 items but 'given' has 2"),
        .init(
            json: #"{"resourceType":"Patient","name":[{"given":["a"],"_given":{"id":"x"}}]}"#, expression: "Patient.name[0]._given",
            words: "must be an array"),
        .init(
            json: #"{"resourceType":"Patient","birthDate":"2000","_birthDate":[{"id":"x"}]}"#, expression: "Patient._birthDate",
            words: "does not repeat"),
        .init(
            json: #"{"resourceType":"Patient","_name":{"id":"x"},"name":[{"text":"a"}]}"#, expression: "Patient.name",
            words: "only primitive elements"),
        .init(json: #"{"resourceType":"Patient","_foo":{"id":"x"}}"#, expression: "Patient._foo", words: "Unknown element '_foo'"),
        .init(json: #"{"resourceType":"Patient","name":[{"given":[]}]}"#, expression: "Patient.name[0].given", words: "empty array"),
        .init(json: #"{"resourceType":"Patient","name":[{"_given":[]}]}"#, expression: "Patient.name[0]._given", words: "empty array"),
        .init(json: #"{"resourceType":"Observation","_status":{}}"#, expression: "Observation.status", words: "must carry an id or extensions"),
        .init(
            json: #"{"resourceType":"Observation","status":"final","_status":"x"}"#, expression: "Observation.status", words: "must be a JSON object"),
        .init(
            json: #"{"resourceType":"Observation","status":"final","_status":null,"code":{"text":"x"}}"#, expression: "Observation.status",
            words: "'_status' is null"),
        .init(
            json: #"{"resourceType":"Observation","status":"final","_status":{},"code":{"text":"x"}}"#, expression: "Observation.status",
            words: "'_status' is an empty object"),
        .init(
            json: #"{"resourceType":"Patient","name":[{"given":["a"],"_given":[{}]}]}"#, expression: "Patient.name[0].given[0]",
            words: "'_given' is an empty object"),
        .init(
            json: #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://example.org/a\u0000b","code":"x"}]}}"#,
            expression: "Observation.code.coding[0].system", words: "control characters"),
        .init(
            json: #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://example.org","code":"a\u0007b"}]}}"#,
            expression: "Observation.code.coding[0].code", words: "control characters"),
        .init(json: #"{"resourceType":"Observation","status":""}"#, expression: "Observation.status", words: "empty string"),
        .init(json: #"{"resourceType":"Observation","status":["final"]}"#, expression: "Observation.status", words: "does not repeat"),
        .init(json: #"{"resourceType":"Patient","name":{"text":"a"}}"#, expression: "Patient.name", words: "must be a JSON array"),
        .init(json: #"{"resourceType":"Patient","active":"true"}"#, expression: "Patient.active", words: "true or false, not a string"),
        .init(json: #"{"resourceType":"Patient","maritalStatus":"M"}"#, expression: "Patient.maritalStatus", words: "must be a JSON object"),
        .init(
            json: #"{"resourceType":"Patient","maritalStatus":{"resourceType":"Patient"}}"#, expression: "Patient.maritalStatus.resourceType",
            words: "only allowed on a resource"),
        .init(json: #"{"resourceType":"Patient","contained":[{"id":"a"}]}"#, expression: "Patient.contained[0]", words: "no \"resourceType\""),
        .init(
            json: #"{"resourceType":"Patient","contained":[{"id":"a","resourceType":"Nothing"}]}"#, expression: "Patient.contained[0].resourceType",
            words: "not a FHIR R4 resource type"),
    ]

    @Test(arguments: refusals)
    func aBreachOfTheJSONFormatIsRefusedWhereItIs(_ refusal: Refusal) {
        let result = FHIRReader().read(Array(refusal.json.utf8), format: .json)
        #expect(
            result.issues.contains { $0.isError && $0.expression == refusal.expression && $0.diagnostics.contains(refusal.words) },
            "\(result.issues.map { "\($0.expression ?? "-"): \($0.diagnostics)" })")
    }

    @Test func aPartnerBeforeOrAfterItsValueGivesTheSameTree() throws {
        let after = #"{"resourceType":"Observation","status":"final","_status":{"id":"s1"},"code":{"text":"x"}}"#
        let before = #"{"resourceType":"Observation","_status":{"id":"s1"},"status":"final","code":{"text":"x"}}"#
        let first = try #require(FHIRReader().read(Array(after.utf8), format: .json).resource)
        let second = try #require(FHIRReader().read(Array(before.utf8), format: .json).resource)
        #expect(first == second)
        let status = try #require(first.child(named: "status"))
        #expect(status.value == "final")
        #expect(status.value(of: "id") == "s1")
    }

    @Test func nullItemsFilledByTheirPartnersKeepTheirPlaceInTheArray() throws {
        let json = #"""
            {"resourceType":"Patient","name":[{"given":["a",null,"c"],"_given":[null,{"id":"b","extension":[{"url":"http://example.org/x","valueString":"y"}]},null]}]}
            """#
        let result = FHIRReader().read(Array(json.utf8), format: .json)
        #expect(result.isValid, "\(result.issues)")
        let name = try #require(result.resource?.child(named: "name"))
        let given = name.children(named: "given")
        #expect(given.map(\.value) == ["a", nil, "c"])
        #expect(given[1].value(of: "id") == "b")
    }

    @Test func aPartnerWithoutValuesMakesNodesWithOnlyIDsAndExtensions() throws {
        let json = #"""
            {"resourceType":"Patient","name":[{"_given":[{"id":"g1","extension":[{"url":"http://example.org/x","valueString":"y"}]},
            {"id":"g2","extension":[{"url":"http://example.org/x","valueString":"z"}]}]}]}
            """#
        let result = FHIRReader().read(Array(json.utf8), format: .json)
        #expect(result.isValid, "\(result.issues)")
        let given = try #require(result.resource?.child(named: "name")).children(named: "given")
        #expect(given.map { $0.value(of: "id") } == ["g1", "g2"])
        #expect(given.allSatisfy { $0.value == nil })
    }

    @Test func resourceTypeAnywhereInTheObjectReadsTheSame() throws {
        let last = #"{"status":"final","code":{"text":"x"},"contained":[{"id":"p","resourceType":"Patient"}],"resourceType":"Observation"}"#
        let first = #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"contained":[{"resourceType":"Patient","id":"p"}]}"#
        let a = FHIRReader().read(Array(last.utf8), format: .json)
        let b = FHIRReader().read(Array(first.utf8), format: .json)
        #expect(a.issues.filter(\.isError).isEmpty, "\(a.issues)")
        #expect(try #require(a.resource) == #require(b.resource))
    }

    @Test func aSyntaxErrorAfterAFHIRProblemIsTheOnlyAnswer() {
        let json = #"{"resourceType":"Patient","foo":1,"active":true,}"#
        let result = FHIRReader().read(Array(json.utf8), format: .json)
        #expect(result.resource == nil)
        #expect(result.issues.count == 1)
        #expect(result.issues.first?.diagnostics.contains("trailing comma") == true, "\(result.issues)")
    }
}
