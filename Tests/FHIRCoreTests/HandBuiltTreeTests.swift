import FHIRCore
import Testing

/// The validator reads repetitions as runs of adjacent children; a tree built or changed by hand
/// need not be in the specification's order, and must be checked the same.
struct HandBuiltTreeTests {
    @Test func aMaximumBrokenByChildrenOutOfOrderIsStillFound() throws {
        let json = #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p"}}"#
        var node = try #require(FHIRReader().read(Array(json.utf8), format: .json).resource)
        #expect(FHIRValidator().validate(node).filter(\.isError).isEmpty)
        // A second status, appended after code and subject: two runs of one element.
        let status = try #require(node.children.first { $0.name == "status" })
        node.children.append(status)
        let issues = FHIRValidator().validate(node).filter(\.isError)
        #expect(issues.contains { $0.expression == "Observation.status" || $0.expression?.hasPrefix("Observation.status") == true }, "\(issues)")
    }
}
