import FHIRCore
import HTTPTypes

/// A request the gateway answers with an OperationOutcome and a 4xx or 5xx status: what is wrong
/// and where, as FHIR issues (with FHIRPath in `expression`).
struct FHIRRequestError: Error {
    var status: HTTPResponse.Status
    var issues: [FHIRIssue]

    init(_ status: HTTPResponse.Status, _ issues: [FHIRIssue]) {
        self.status = status
        self.issues = issues
    }

    init(_ status: HTTPResponse.Status, code: FHIRIssue.Code, _ message: String, expression: String? = nil) {
        self.init(status, [FHIRIssue(severity: .error, code: code, diagnostics: message, expression: expression)])
    }
}
