import ArgumentParser
import FHIRCore
import FHIRProfiles
import GatewayServer

/// `validate FILE [--profile URL]`: reads a FHIR resource in JSON or XML (told apart by its
/// content), validates it against R4 and, with `--profile`, against that profile of the Profiles
/// folder, and prints an OperationOutcome as JSON. Exit 0 valid, 1 invalid, 2 unreadable.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate a FHIR R4 resource (JSON or XML), optionally against a profile, and print an OperationOutcome."
    )

    @Argument(help: "The file to validate, or - for standard input.")
    var file: String

    @Option(help: "The canonical URL of a profile in the Profiles folder to validate against as well.")
    var profile: String?

    @Option(help: "The Profiles folder (default: Profiles, found as the other commands find it).")
    var profiles: String?

    @Flag(help: "Print the OperationOutcome on one line.")
    var compact = false

    func run() throws {
        let reader = FHIRReader()
        let bytes = try InputFile.readForCommand(file, limit: reader.limits.maxBytes)
        let result = reader.read(bytes)
        var issues = result.issues
        if let url = profile {
            let conformance = try Self.conformance(profiles)
            guard let found = conformance.profile(url) else {
                let known = conformance.profiles.keys.sorted().joined(separator: "\n  ")
                writeToStandardError("No profile \(url) in the Profiles folder; it holds:\n  \(known)\n")
                throw ExitCode(2)
            }
            if let resource = result.resource {
                issues += ProfileValidator(package: conformance).validate(resource, against: found)
            }
        }
        writeToStandardOutput(FHIRJSONWriter(style: compact ? .compact : .pretty).write(.operationOutcome(issues)))
        if result.resource == nil || issues.hasErrors { throw ExitCode(1) }
    }

    /// The Profiles folder's profiles, compiled.
    static func conformance(_ path: String?) throws -> ConformancePackage {
        guard let folder = path ?? ModelFiles.locate("Profiles", installed: "/usr/share/fhir-risk-gateway/Profiles") else {
            writeToStandardError("No Profiles folder: pass --profiles, or run from the project folder\n")
            throw ExitCode(2)
        }
        do {
            return try ProfilesFolder(path: folder).conformance()
        } catch {
            writeToStandardError("\(error.description)\n")
            throw ExitCode(2)
        }
    }
}
