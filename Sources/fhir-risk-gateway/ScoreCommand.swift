import ArgumentParser
import FHIRCore
import FHIRModels
import Foundation
import RiskModel

/// `score FILE…`: reads a Bundle or single resources (JSON or XML) and prints the RiskAssessment,
/// or an OperationOutcome saying what is missing or wrong (exit 1). Several cases (patients or
/// studies) in the input give a collection Bundle of RiskAssessments.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score the risk of early progression from FHIR ImagingStudy and Observation resources."
    )

    @Argument(help: "Files holding a Bundle or single resources, or - for standard input.")
    var files: [String]

    @Option(help: "The output format: json or xml.")
    var format: FHIRFormat = .json

    @Option(help: "The model file (default: Config/models/sheng2022.yaml).")
    var model: String?

    @Option(help: "The Profiles folder with the ValueSets of recognised codes (default: Profiles).")
    var profiles: String?

    @Option(help: "occurrenceDateTime of the assessment (default: now, UTC).")
    var assessedAt: String?

    @Flag(help: "Write without indentation.")
    var compact = false

    func run() throws {
        let files: ModelFiles
        do {
            files = try ModelFiles(model: model, profiles: profiles)
        } catch {
            writeToStandardError(error.description + "\n")
            throw ExitCode(2)
        }
        let time = assessedAt ?? Self.now()
        guard let assessedAt = FHIRDateTime(fhirText: time) else {
            writeToStandardError("--assessed-at '\(time)' is not a FHIR dateTime\n")
            throw ExitCode(2)
        }

        let reader = FHIRReader()
        var documents: [FHIRNode] = []
        var issues: [FHIRIssue] = []
        for file in self.files {
            let bytes = try InputFile.readForCommand(file, limit: reader.limits.maxBytes)
            let result = reader.read(bytes)
            issues += result.issues.filter(\.isError)
            if result.isValid, let resource = result.resource { documents.append(resource) }
        }
        guard issues.isEmpty else { return try answer(.operationOutcome(issues), failed: true) }

        let resources: CaseResources
        do {
            resources = try CaseResources(documents: documents)
        } catch {
            return try answer(.operationOutcome([FHIRIssue(severity: .error, code: .structure, diagnostics: error.description)]), failed: true)
        }
        let extractor = FeatureExtractor(codes: files.codes, parameters: files.parameters)
        let extraction = extractor.extract(from: resources)
        for warning in extraction.issues where !warning.isError {
            writeToStandardError("warning: \(warning)\n")
        }
        guard !extraction.cases.isEmpty, !extraction.issues.hasErrors else {
            return try answer(.operationOutcome(extraction.issues.filter(\.isError)), failed: true)
        }
        let model = ADCLogisticModel(parameters: files.parameters)
        let builder = RiskAssessmentBuilder(parameters: files.parameters)
        let assessments = extraction.cases.map { builder.build($0, score: model.score(adc: $0.adc), assessedAt: assessedAt) }
        if assessments.count == 1, let only = assessments.first {
            return try answer(only.node, failed: false)
        }
        let bundle = Bundle(
            type: "collection",
            entry: assessments.map { assessment in
                Bundle.Entry(fullUrl: assessment.identifier.first?.value, resource: .riskAssessment(assessment))
            }
        )
        try answer(bundle.node, failed: false)
    }

    func answer(_ resource: FHIRNode, failed: Bool) throws {
        switch format {
        case .json: writeToStandardOutput(FHIRJSONWriter(style: compact ? .compact : .pretty).write(resource))
        case .xml: writeToStandardOutput(FHIRXMLWriter(style: compact ? .compact : .pretty).write(resource))
        }
        if failed { throw ExitCode(1) }
    }

    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
