import FHIRCore

/// Input the case processor refuses: the request's answer is an OperationOutcome with this 4xx
/// status and these issues, and its transaction rolls back (nothing of it is stored).
public struct CaseInputError: Error {
    public var status: Int
    public var issues: [FHIRIssue]

    public init(status: Int, issues: [FHIRIssue]) {
        self.status = status
        self.issues = issues
    }
}
