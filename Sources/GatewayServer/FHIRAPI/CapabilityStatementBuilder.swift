import FHIRCore
import FHIRModels
import FHIRProfiles
import RiskModel

/// The CapabilityStatement at `/fhir/metadata`: exactly what the gateway supports, no more, with
/// the implementation guide of Profiles/ and the profiles it validates each type against.
enum CapabilityStatementBuilder {
    static func statement(profiles conformance: ConformancePackage) -> CapabilityStatement {
        func profiles(_ type: String) -> [FHIRPrimitive<String>] {
            conformance.profiles.values.filter { $0.type == type && $0.origin == .guide }.map(\.url).sorted().map { FHIRPrimitive($0) }
        }
        func interactions(_ codes: [String]) -> [CapabilityStatement.Interaction] {
            codes.map { CapabilityStatement.Interaction(code: FHIRPrimitive($0)) }
        }
        let input: [CapabilityStatement.Resource] = GatewayAPI.inputTypes.map { type in
            CapabilityStatement.Resource(
                type: FHIRPrimitive(type),
                supportedProfile: profiles(type),
                interaction: interactions(["create", "update"]),
                documentation: FHIRPrimitive("Accepted as input of the risk model; stored durably before the answer. Not readable back.")
            )
        }
        let output = CapabilityStatement.Resource(
            type: "RiskAssessment",
            supportedProfile: profiles("RiskAssessment"),
            interaction: interactions(["read", "search-type"]),
            searchParam: [CapabilityStatement.SearchParam(name: "subject", type: "reference")],
            versioning: "versioned"
        )
        let rest = CapabilityStatement.Rest(
            mode: "server",
            resource: input + [output],
            interaction: [CapabilityStatement.Interaction1(code: "transaction"), CapabilityStatement.Interaction1(code: "batch")],
            operation: [
                CapabilityStatement.Operation(
                    name: "process-message", definition: "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message")
            ],
            documentation: FHIRPrimitive("Mutual TLS when a client CA is configured. Bundles: transaction, batch, collection, message.")
        )
        return CapabilityStatement(
            status: "active",
            date: FHIRPrimitive(FHIRDateTime(fhirText: "2026-11-26")),
            kind: "instance",
            fhirVersion: FHIRPrimitive(GatewayVersion.fhirVersion),
            format: ["json", "xml", "application/fhir+json", "application/fhir+xml"],
            implementationGuide: [FHIRPrimitive(ProjectCanonical.implementationGuide)],
            rest: [rest],
            name: "FHIRRiskGateway",
            title: "fhir-risk-gateway",
            publisher: "fhir-risk-gateway",
            description: FHIRPrimitive(
                "Scores the risk of early progression of unresectable intrahepatic cholangiocarcinoma from MRI findings (research model; see the RiskAssessment notes)."
            ),
            software: CapabilityStatement.Software(name: "fhir-risk-gateway", version: FHIRPrimitive(GatewayVersion.current)),
            implementation: CapabilityStatement.Implementation(description: "fhir-risk-gateway")
        )
    }
}
