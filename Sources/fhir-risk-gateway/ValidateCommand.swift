import ArgumentParser
import FHIRCore
import FHIRProfiles
import GatewayServer

/// `validate FILE [--profile URL]`: reads a FHIR resource in JSON or XML (told apart by its
/// content), validates it against R4 and against every profile of the Profiles folder that
/// applies to it, as the daemon does at the door (the guide's by its code or a claim, R4 core's by
/// R4's own rule: a vital sign's), and, with `--profile`, against that profile too; prints an
/// OperationOutcome as JSON. Exit 0 valid, 1 invalid, 2 unreadable.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate a FHIR R4 resource (JSON or XML) against R4 and the profiles that apply to it, and print an OperationOutcome."
    )

    @Argument(help: "The file to validate, or - for standard input.")
    var file: String

    @Option(help: "The canonical URL of a profile in the Profiles folder to validate against as well, whether it applies or not.")
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
        let conformance = try Self.conformance(profiles)
        var explicit: ConformancePackage.Profile?
        if let url = profile {
            guard let found = conformance.profile(url) else {
                let known = conformance.profiles.keys.sorted().joined(separator: "\n  ")
                writeToStandardError("No profile \(url) in the Profiles folder; it holds:\n  \(known)\n")
                throw ExitCode(2)
            }
            explicit = found
        }
        if let resource = result.resource {
            issues += conformance.validate(resource, at: resource.type.name).map(\.issue)
            // A Bundle's entries, as the daemon validates them one by one.
            for (index, entry) in resource.children(named: "entry").enumerated() where resource.type.name == "Bundle" {
                if let inner = entry.child(named: "resource") {
                    issues += conformance.validate(inner, at: "Bundle.entry[\(index)].resource").map(\.issue)
                }
            }
            if let explicit,
                !conformance.selection(for: resource).profiles.contains(where: { $0.url == explicit.url || conformance.derives($0, from: explicit.url) })
            {
                issues += ProfileValidator(package: conformance).validate(resource, against: explicit)
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
