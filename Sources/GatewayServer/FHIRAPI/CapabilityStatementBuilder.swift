import FHIRCore
import FHIRModels
import RiskModel

/// The CapabilityStatement at `/fhir/metadata`: exactly what the gateway supports, no more.
enum CapabilityStatementBuilder {
    static func statement() -> CapabilityStatement {
        func interactions(_ codes: [String]) -> [CapabilityStatement.Interaction] {
            codes.map { CapabilityStatement.Interaction(code: FHIRPrimitive($0)) }
        }
        let input: [CapabilityStatement.Resource] = GatewayAPI.inputTypes.map { type in
            CapabilityStatement.Resource(
                type: FHIRPrimitive(type),
                interaction: interactions(["create", "update"]),
                documentation: FHIRPrimitive("Accepted as input of the risk model; stored durably before the answer. Not readable back.")
            )
        }
        let output = CapabilityStatement.Resource(
            type: "RiskAssessment",
            supportedProfile: [FHIRPrimitive(ProjectCanonical.riskAssessmentProfile)],
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
