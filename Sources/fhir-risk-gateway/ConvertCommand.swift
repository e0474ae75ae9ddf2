import ArgumentParser
import FHIRCore

/// `convert FILE --to json|xml`: reads a FHIR resource in either format and prints it in the other
/// (or the same, normalised). Invalid input: exit 1 with the OperationOutcome on standard error.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a FHIR R4 resource between JSON and XML."
    )

    @Argument(help: "The file to convert, or - for standard input.")
    var file: String

    @Option(help: "The output format: json or xml.")
    var to: FHIRFormat

    @Flag(help: "Write without indentation.")
    var compact = false

    func run() throws {
        let reader = FHIRReader()
        let bytes = try InputFile.readForCommand(file, limit: reader.limits.maxBytes)
        let result = reader.read(bytes)
        guard result.isValid, let resource = result.resource else {
            writeToStandardError(FHIRJSONWriter(style: .pretty).string(result.operationOutcome))
            throw ExitCode(1)
        }
        switch to {
        case .json: writeToStandardOutput(FHIRJSONWriter(style: compact ? .compact : .pretty).write(resource))
        case .xml: writeToStandardOutput(FHIRXMLWriter(style: compact ? .compact : .pretty).write(resource))
        }
    }
}

extension FHIRFormat: ExpressibleByArgument {}
