import FHIRCore
import Foundation
import StrictJSON
import TestSupport
import Testing

/// The `fhir-risk-gateway` executable, run as a separate process the way an integration engineer
/// runs it.
@Suite struct CommandLineTests {
    func outcome(_ run: GatewayBinary.Run) throws -> FHIRReadResult {
        let result = FHIRReader().read(Array(run.standardOutput))
        #expect(result.resource?.type.name == "OperationOutcome", "\(run.output)")
        return result
    }

    @Test func validateExitsZeroForAValidResource() throws {
        let run = try GatewayBinary.run(["validate", Fixtures.r4.appendingPathComponent("Observation-example.xml").path])
        #expect(run.status == 0, "\(run.standardError)")
        let result = try outcome(run)
        #expect(result.isValid)
        #expect(result.resource?.children(named: "issue").first?.value(of: "severity") == "information")
    }

    @Test func validateExitsOneWithTheFaultForAnInvalidResource() throws {
        let run = try GatewayBinary.run(["validate", Fixtures.invalid.appendingPathComponent("obs-6.f1.fail.json").path])
        #expect(run.status == 1)
        let issues = try outcome(run).resource?.children(named: "issue") ?? []
        #expect(issues.contains { $0.value(of: "severity") == "error" && $0.value(of: "expression") == "Observation.dataAbsentReason" })
    }

    /// R4's vital-signs rule, as HL7's validator applies it: a body temperature coded only in
    /// SNOMED CT lacks the LOINC code `bodytemp` requires.
    @Test func validateAppliesR4sVitalSignsProfileByTheCode() throws {
        let run = try GatewayBinary.run(["validate", Fixtures.invalid.appendingPathComponent("obs-temp-bad.json").path])
        #expect(run.status == 1, "\(run.output)")
        let issues = try outcome(run).resource?.children(named: "issue") ?? []
        #expect(issues.contains { $0.value(of: "severity") == "error" && $0.value(of: "expression") == "Observation.code.coding" && $0.value(of: "diagnostics")?.contains("(profile bodytemp)") == true }, "\(run.output)")
        #expect(issues.contains { $0.value(of: "severity") == "information" && $0.value(of: "diagnostics")?.contains("http://snomed.info/sct|276885007") == true }, "\(run.output)")
        let conforming = try GatewayBinary.run(["validate", Fixtures.r4.appendingPathComponent("Observation-body-temperature.xml").path])
        #expect(conforming.status == 0, "\(conforming.output)")
    }

    @Test func validateExitsOneForBrokenJSON() throws {
        let run = try GatewayBinary.run(["validate", Fixtures.invalid.appendingPathComponent("bad-json-close-1.json").path])
        #expect(run.status == 1)
        let issues = try outcome(run).resource?.children(named: "issue") ?? []
        #expect(issues.first?.value(of: "severity") == "fatal")
    }

    static let adcProfile = "http://fhir-risk-gateway.org/fhir/StructureDefinition/icca-adc-observation"

    @Test func validateWithAProfileAcceptsItsExampleAndRefusesABrokenCopyAtTheElement() throws {
        let example = Fixtures.packageRoot.appendingPathComponent("Profiles/examples/Observation-example-adc.json")
        let valid = try GatewayBinary.run(["validate", example.path, "--profile", Self.adcProfile])
        #expect(valid.status == 0, "\(valid.output)")
        var text = try String(contentsOf: example, encoding: .utf8)
        text = text.replacingOccurrences(of: #""reference": "Patient/example-icca""#, with: #""reference": "Group/example-cohort""#)
        let broken = try GatewayBinary.run(["validate", "-", "--profile", Self.adcProfile], input: Data(text.utf8))
        #expect(broken.status == 1, "\(broken.output)")
        let issues = try outcome(broken).resource?.children(named: "issue") ?? []
        #expect(issues.contains { $0.value(of: "severity") == "error" && $0.value(of: "expression") == "Observation.subject.reference" }, "\(broken.output)")
    }

    @Test func validateWithAnUnknownProfileExitsTwoAndListsTheProfilesHeld() throws {
        let run = try GatewayBinary.run(["validate", "-", "--profile", "http://example.org/StructureDefinition/none"], input: Data(#"{"resourceType":"Patient"}"#.utf8))
        #expect(run.status == 2)
        #expect(run.standardError.contains(Self.adcProfile), "\(run.standardError)")
    }

    @Test func validateReadsStandardInput() throws {
        let run = try GatewayBinary.run(["validate", "-"], input: Data(#"{"resourceType":"Patient","active":true}"#.utf8))
        #expect(run.status == 0, "\(run.output)")
    }

    @Test func validateExitsTwoForAFileThatCannotBeRead() throws {
        let run = try GatewayBinary.run(["validate", "/nonexistent/observation.json"])
        #expect(run.status == 2)
        #expect(run.standardError.contains("Cannot open"))
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try GatewayBinary.run([]).status == 2)
        #expect(try GatewayBinary.run(["validate"]).status == 2)
        #expect(try GatewayBinary.run(["frobnicate"]).status == 2)
        #expect(try GatewayBinary.run(["convert", "x.json", "--to", "yaml"]).status == 2)
    }

    @Test func helpExitsZero() throws {
        let run = try GatewayBinary.run(["--help"])
        #expect(run.status == 0)
        #expect(run.output.contains("validate"))
    }

    @Test func versionNamesTheFHIRVersion() throws {
        let run = try GatewayBinary.run(["version"])
        #expect(run.status == 0)
        #expect(run.output.contains("FHIR 4.0.1"))
    }

    @Test func convertXMLToJSONGivesTheOfficialJSON() throws {
        let run = try GatewayBinary.run(["convert", Fixtures.r4.appendingPathComponent("ImagingStudy-example.xml").path, "--to", "json"])
        #expect(run.status == 0, "\(run.standardError)")
        let official = try JSONReader().read(try Fixtures.bytes("ImagingStudy-example.json"))
        let differences = JSONComparison().differences(try JSONReader().read(Array(run.standardOutput)), official)
        #expect(differences.isEmpty, "\(differences)")
    }

    @Test func convertJSONToXMLGivesValidXML() throws {
        let run = try GatewayBinary.run(["convert", Fixtures.r4.appendingPathComponent("RiskAssessment-prognosis.json").path, "--to", "xml"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.output.hasPrefix("<?xml"))
        #expect(FHIRReader().read(Array(run.standardOutput)).isValid)
    }

    @Test func convertRefusesInvalidInputWithTheOutcomeOnStandardError() throws {
        let run = try GatewayBinary.run([
            "convert", Fixtures.invalid.appendingPathComponent("risk-assessment-probability-range.json").path, "--to", "xml",
        ])
        #expect(run.status == 1)
        #expect(run.standardOutput.isEmpty)
        #expect(run.standardError.contains("ras-2"))
    }
}

/// One daemon per store, and a port already taken named with its listener.
@Suite(.serialized) struct SecondDaemonTests {
    @Test func aSecondDaemonOnTheSameStoreIsRefusedNamingTheLock() throws {
        let harness = try DaemonHarness(upstreamConfigured: false)
        try harness.startGateway()
        defer { harness.stopAll() }
        let second = try GatewayBinary.run(["serve", "--config", harness.path("gateway.yaml")])
        #expect(second.status == 78)
        let said = second.standardError + second.output
        #expect(said.contains("gateway.sqlite.lock"), "\(said)")
        #expect(said.contains("another fhir-risk-gateway serve is running on this store"), "\(said)")
        // The first one still serves.
        #expect(try harness.request("GET", "/fhir/metadata").status == 200)
    }

    @Test func aPortInUseIsNamedWithItsListenerAndAddress() throws {
        let first = try DaemonHarness(upstreamConfigured: false)
        try first.startGateway()
        defer { first.stopAll() }
        let other = try DaemonHarness(upstreamConfigured: false)
        let text = try String(contentsOfFile: other.path("gateway.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "port: \(other.apiPort)", with: "port: \(first.apiPort)")
        try text.write(toFile: other.path("taken.yaml"), atomically: true, encoding: .utf8)
        let second = try GatewayBinary.run(["serve", "--config", other.path("taken.yaml")])
        #expect(second.status != 0)
        let said = second.standardError + second.output
        #expect(said.contains("the FHIR API (server.host, server.port) cannot listen on 127.0.0.1:\(first.apiPort)"), "\(said)")
        #expect(said.contains("Address already in use"), "\(said)")
    }

    @Test func versionIsAnOptionToo() throws {
        let run = try GatewayBinary.run(["--version"])
        #expect(run.status == 0)
        #expect(run.output.hasPrefix("fhir-risk-gateway "), "\(run.output)")
    }
}
