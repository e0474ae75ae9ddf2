/// The gateway's release and the FHIR version it implements.
public enum GatewayVersion {
    public static let current = "0.1.0"
    public static let fhirVersion = "4.0.1"
}
