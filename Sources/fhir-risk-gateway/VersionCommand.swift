import ArgumentParser
import FHIRCore

/// `version`: the gateway's version and the FHIR version it speaks.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    /// Also what `--version` prints.
    static let text = "fhir-risk-gateway \(GatewayVersion.current) (FHIR \(GatewayVersion.fhirVersion))"

    func run() {
        print(Self.text)
    }
}
