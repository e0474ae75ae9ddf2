/// One problem found in a FHIR instance, as it becomes an `OperationOutcome.issue`.
public struct FHIRIssue: Sendable, Hashable, CustomStringConvertible {
    /// `OperationOutcome.issue.severity` (R4 IssueSeverity).
    public enum Severity: String, Sendable, Hashable, Comparable {
        case fatal, error, warning, information

        private var rank: Int {
            switch self {
            case .fatal: 3
            case .error: 2
            case .warning: 1
            case .information: 0
            }
        }
        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
    }

    /// `OperationOutcome.issue.code` (R4 IssueType, http://hl7.org/fhir/issue-type).
    public enum Code: String, Sendable, Hashable {
        case invalid, structure, required, value, invariant, security, login, unknown, expired
        case forbidden, suppressed, processing
        case notSupported = "not-supported"
        case duplicate
        case multipleMatches = "multiple-matches"
        case notFound = "not-found"
        case deleted
        case tooLong = "too-long"
        case codeInvalid = "code-invalid"
        case `extension`
        case tooCostly = "too-costly"
        case businessRule = "business-rule"
        case conflict, transient
        case lockError = "lock-error"
        case noStore = "no-store"
        case exception, timeout, incomplete, throttled, informational
    }

    public var severity: Severity
    public var code: Code
    /// What is wrong, in plain words.
    public var diagnostics: String
    /// The FHIRPath of the offending element, `Bundle.entry[2].resource.valueQuantity.value`;
    /// nil when the problem is in the document as a whole (it could not be parsed).
    public var expression: String?
    /// Where the problem is in the source, when known (1-based).
    public var line: Int32?
    public var column: Int32?

    public init(
        severity: Severity,
        code: Code,
        diagnostics: String,
        expression: String? = nil,
        line: Int32? = nil,
        column: Int32? = nil
    ) {
        self.severity = severity
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression
        self.line = line
        self.column = column
    }

    public var isError: Bool { severity >= .error }

    public var description: String {
        var text = "\(severity.rawValue) [\(code.rawValue)]"
        if let expression { text += " \(expression)" }
        if let line, let column { text += " (line \(line), column \(column))" }
        return text + ": " + diagnostics
    }
}

extension Array where Element == FHIRIssue {
    /// True when one issue is an error or fatal.
    public var hasErrors: Bool { contains(where: \.isError) }
}
