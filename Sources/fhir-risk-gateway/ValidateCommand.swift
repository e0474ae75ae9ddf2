import ArgumentParser
import FHIRCore

/// `validate FILE`: reads a FHIR resource in JSON or XML (told apart by its content), validates it
/// and prints an OperationOutcome as JSON. Exit 0 valid, 1 invalid, 2 unreadable.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate a FHIR R4 resource (JSON or XML) and print an OperationOutcome."
    )

    @Argument(help: "The file to validate, or - for standard input.")
    var file: String

    @Flag(help: "Print the OperationOutcome on one line.")
    var compact = false

    func run() throws {
        let reader = FHIRReader()
        let bytes = try InputFile.readForCommand(file, limit: reader.limits.maxBytes)
        let result = reader.read(bytes)
        writeToStandardOutput(FHIRJSONWriter(style: compact ? .compact : .pretty).write(result.operationOutcome))
        if !result.isValid { throw ExitCode(1) }
    }
}
