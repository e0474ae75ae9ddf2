import ArgumentParser
import FHIRCore
import FHIRModels
import Foundation
import RiskModel

/// `score FILE…`: reads a Bundle or single resources (JSON or XML) and prints the RiskAssessment,
/// or an OperationOutcome saying why none follows (exit 1): the same decision as the daemon's for
/// the same resources (one code path, `CaseAssessor`), as if they all arrived at `--assessed-at`.
/// Several cases (patients) in the input give a collection Bundle of RiskAssessments.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score the risk of early progression from FHIR Condition, ImagingStudy and Observation resources."
    )

    @Argument(help: "Files holding a Bundle or single resources, or - for standard input.")
    var files: [String]

    @Option(help: "The output format: json or xml.")
    var format: FHIRFormat = .json

    @Option(help: "The model file (default: Config/models/sheng2022.yaml).")
    var model: String?

    @Option(help: "The Profiles folder with the ValueSets of recognised codes (default: Profiles).")
    var profiles: String?

    @Option(help: "occurrenceDateTime of the assessment, and the time the resources are taken to arrive (default: now, UTC).")
    var assessedAt: String?

    @Option(help: "cases.eligibility: diagnosis (a confirmed iCCA Condition or study reasonCode) or any.")
    var eligibility: CasePolicy.Eligibility = .diagnosis

    @Option(help: "cases.requireBodySite: an ADC without a body site counts only when false.")
    var requireBodySite = true

    @Option(help: "cases.baseline: earliest or latest MR study of a patient.")
    var baseline: CasePolicy.Baseline = .earliest

    @Option(help: "cases.maxStudyAgeDays: a study older than this when it arrives is not scored.")
    var maxStudyAgeDays = 120

    @Flag(help: "cases.scoreWithoutStudy: score an ADC whose MR study is missing, as preliminary.")
    var scoreWithoutStudy = false

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
        let now = Date()
        let time = assessedAt ?? FHIRInstant.text(now)
        guard let assessedAt = FHIRDateTime(fhirText: time), let arrival = Self.date(time) else {
            writeToStandardError("--assessed-at '\(time)' is not a FHIR dateTime with a time and a time zone\n")
            throw ExitCode(2)
        }
        guard maxStudyAgeDays >= 1 else {
            writeToStandardError("--max-study-age-days must be at least 1\n")
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
        let policy = CasePolicy(
            eligibility: eligibility, requireBodySite: requireBodySite, baseline: baseline, maxStudyAgeDays: maxStudyAgeDays,
            scoreWithoutStudy: scoreWithoutStudy)
        let assessor = CaseAssessor(codes: files.codes, parameters: files.parameters, policy: policy)
        let result = assessor.assess(resources, prior: [], now: arrival, assessedAt: assessedAt)
        for warning in result.issues where !warning.isError {
            writeToStandardError("\(warning.severity.rawValue): \(warning.diagnostics)\n")
        }
        let assessments = result.decisions.map(\.assessment)
        if !assessments.isEmpty {
            for held in result.held { writeToStandardError("held: \(held.subject): \(held.reason.diagnostics)\n") }
        }
        guard !assessments.isEmpty, !result.issues.hasErrors else {
            // Why no assessment follows: the errors, then each reason a case is held.
            let reasons = result.held.map { held in
                FHIRIssue(severity: .error, code: held.reason.code, diagnostics: held.reason.diagnostics, expression: held.reason.expression)
            }
            return try answer(.operationOutcome(result.issues.filter(\.isError) + reasons), failed: true)
        }
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

    /// The instant of a FHIR dateTime with a time and a zone (`2026-03-03T10:00:00Z`).
    static func date(_ text: String) -> Date? {
        try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: text.contains(".")))
    }
}

extension CasePolicy.Eligibility: ExpressibleByArgument {}
extension CasePolicy.Baseline: ExpressibleByArgument {}
