import FHIRCore
import Foundation
import TestSupport
import Testing

@testable import FHIRPath

/// R4 core invariants (as the R4 StructureDefinitions state them) evaluated on every element of
/// every official example: none may be refused or fail, since the examples are valid. This is the
/// check that the static type check and singleton rules do not reject real invariants.
@Suite struct R4InvariantTests {
    /// (the type the invariant is defined on, key, expression); dom-6 is a best-practice warning
    /// (contained resources have no narrative), so it must only evaluate, not hold.
    static let invariants: [(context: String, key: String, expression: String)] = [
        ("Element", "ele-1", "hasValue() or (children().count() > id.count())"),
        ("Extension", "ext-1", "extension.exists() != value.exists()"),
        ("DomainResource", "dom-2", "contained.contained.empty()"),
        (
            "DomainResource", "dom-3",
            "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()"
        ),
        ("DomainResource", "dom-4", "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()"),
        ("DomainResource", "dom-5", "contained.meta.security.empty()"),
        ("DomainResource", "dom-6", "text.`div`.exists()"),
        ("Observation", "obs-6", "dataAbsentReason.empty() or value.empty()"),
        ("Observation", "obs-7", "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()"),
        ("Observation.ReferenceRange", "obs-3", "low.exists() or high.exists() or text.exists()"),
        ("Bundle", "bdl-1", "total.empty() or (type = 'searchset') or (type = 'history')"),
        ("Bundle", "bdl-2", "entry.search.empty() or (type = 'searchset')"),
        ("Bundle", "bdl-3", "entry.request.empty() or type = 'batch' or type = 'transaction' or type = 'history'"),
        ("Bundle", "bdl-4", "entry.response.empty() or type = 'batch-response' or type = 'transaction-response' or type = 'history'"),
        (
            "Bundle", "bdl-7",
            "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&iif(resource.meta.versionId.exists(), resource.meta.versionId, '')).isDistinct()"
        ),
        ("Bundle", "bdl-9", "type = 'document' implies (identifier.system.exists() and identifier.value.exists())"),
        ("Bundle", "bdl-10", "type = 'document' implies (timestamp.hasValue())"),
        ("Bundle", "bdl-11", "type = 'document' implies entry.first().resource.is(Composition)"),
        ("Bundle", "bdl-12", "type = 'message' implies entry.first().resource.is(MessageHeader)"),
        ("Bundle.Entry", "bdl-5", "resource.exists() or request.exists() or response.exists()"),
        ("Bundle.Entry", "bdl-8", "fullUrl.contains('/_history/').not()"),
        ("Quantity", "qty-3", "code.empty() or system.exists()"),
        ("Period", "per-1", "start.hasValue().not() or end.hasValue().not() or (start <= end)"),
        ("Range", "rng-2", "low.empty() or high.empty() or (low <= high)"),
        ("Reference", "ref-1", "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))"),
        ("RiskAssessment.Prediction", "ras-2", "probability is decimal implies (probability as decimal) <= 100"),
        ("Patient.Contact", "pat-1", "name.exists() or telecom.exists() or address.exists() or organization.exists()"),
        ("Identifier", "ide-pattern", "system.exists() implies system.matches('^[a-z]+:')"),
    ]

    /// Every node with the resource that holds it, depth first.
    static func walk(_ node: FHIRNode, resource: FHIRNode, _ visit: (FHIRNode, FHIRNode) throws -> Void) rethrows {
        try visit(node, resource)
        for child in node.children { try walk(child, resource: child.isResource ? child : resource, visit) }
    }

    @Test func theR4InvariantsHoldOnEveryOfficialExample() throws {
        let compiled = try Self.invariants.map { ($0.context, $0.key, try FHIRPathExpression($0.expression)) }
        var evaluations = 0
        var problems: [String] = []
        for name in Fixtures.examples("json") {
            guard let root = FHIRReader().read(try Fixtures.bytes(name)).resource else { continue }
            Self.walk(root, resource: root) { node, resource in
                for (context, key, expression) in compiled {
                    let applies = context == "Element" ? !node.isResource : Evaluator.isType(node.type, named: context)
                    guard applies else { continue }
                    evaluations += 1
                    let environment = FHIRPathEnvironment(resource: resource, rootResource: root)
                    do {
                        if try expression.isSatisfied(by: node, environment: environment) == false, key != "dom-6" {
                            problems.append("\(name) \(key) on \(node.name): false")
                        }
                    } catch {
                        problems.append("\(name) \(key) on \(node.name): \(error)")
                    }
                }
            }
        }
        #expect(evaluations > 10_000)
        #expect(problems.isEmpty, "\(problems.prefix(20).joined(separator: "\n"))")
    }
}
