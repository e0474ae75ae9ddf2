import ArgumentParser
import FHIRCore
import FHIRPath
import StrictJSON

/// `fhirpath EXPRESSION [FILE]`: evaluates a FHIRPath expression against a FHIR resource in JSON or
/// XML (standard input when FILE is omitted or `-`) and prints the result as a JSON array of
/// `{"type": …, "value": …}`, in the official suite's notation: booleans as JSON booleans,
/// integers and decimals as JSON numbers (decimals exactly as written), a complex element as its
/// FHIR JSON object, everything else as a JSON string (`"@2015-02-04"`, `"4 'mg'"`). Exit 0 on
/// success; 1 with an OperationOutcome (JSON, on standard output) when the expression is refused,
/// evaluation fails or the file cannot be read as FHIR.
struct FHIRPathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fhirpath",
        abstract: "Evaluate a FHIRPath expression against a FHIR R4 resource (JSON or XML) and print the result as JSON."
    )

    @Argument(help: "The FHIRPath expression, e.g. 'Observation.value.ofType(Quantity).value'.")
    var expression: String

    @Argument(help: "The resource to evaluate against, or - for standard input.")
    var file: String = "-"

    func run() throws {
        let reader = FHIRReader()
        let bytes: [UInt8]
        do {
            bytes = try InputFile.read(file, limit: reader.limits.maxBytes)
        } catch {
            fail([FHIRIssue(severity: .fatal, code: .notFound, diagnostics: error.description)])
        }
        let read = reader.read(bytes, validate: false)
        guard let resource = read.resource else { fail(read.issues) }
        let result: [FHIRPathValue]
        do {
            result = try FHIRPathExpression(expression).evaluate(resource)
        } catch {
            let code: FHIRIssue.Code = error.kind == .execution ? .processing : .invalid
            fail([FHIRIssue(severity: .error, code: code, diagnostics: "\(error) in '\(expression)'")])
        }
        var out = "["
        for (i, item) in result.enumerated() {
            out += (i == 0 ? "" : ",") + "\n  {\"type\": " + Self.quoted(item.suiteType) + ", \"value\": " + Self.json(item) + "}"
        }
        out += result.isEmpty ? "]\n" : "\n]\n"
        writeToStandardOutput(Array(out.utf8))
    }

    private func fail(_ issues: [FHIRIssue]) -> Never {
        writeToStandardOutput(FHIRJSONWriter(style: .pretty).write(.operationOutcome(issues)))
        Self.exit(withError: ExitCode(1))
    }

    /// One result item's value as JSON.
    static func json(_ item: FHIRPathValue) -> String {
        switch item {
        case .boolean(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .decimal: return item.suiteValue ?? "null"
        case .node(let node):
            guard node.type.isPrimitive else { return String(decoding: FHIRJSONWriter().write(node), as: UTF8.self) }
            guard let value = node.value else { return "null" }
            switch node.type.primitive {
            case .boolean, .integer, .positiveInt, .unsignedInt, .decimal: return value
            default: return quoted(item.suiteValue ?? value)
            }
        default:
            return quoted(item.suiteValue ?? "")
        }
    }

    /// A JSON string, escaped as StrictJSON's writer does.
    static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        JSONText.appendQuoted(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
