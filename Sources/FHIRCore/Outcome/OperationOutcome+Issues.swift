extension FHIRNode {
    /// An OperationOutcome resource listing `issues`; with no issue, one `informational` issue
    /// saying all is well (R4 requires at least one issue).
    public static func operationOutcome(_ issues: [FHIRIssue], definitions: R4Definitions = .r4) -> FHIRNode {
        guard var outcome = FHIRNode(resourceType: "OperationOutcome", definitions: definitions) else {
            preconditionFailure("the R4 definitions lack OperationOutcome")
        }
        let listed =
            issues.isEmpty
            ? [FHIRIssue(severity: .information, code: .informational, diagnostics: "No issues were found")]
            : issues
        for issue in listed {
            guard var node = FHIRNode(element: "issue", of: outcome.type, definitions: definitions) else { continue }
            node.append("severity", value: issue.severity.rawValue)
            node.append("code", value: issue.code.rawValue)
            var diagnostics = issue.diagnostics
            if let line = issue.line, let column = issue.column { diagnostics += " (line \(line), column \(column))" }
            node.append("diagnostics", value: diagnostics)
            if let expression = issue.expression {
                node.append("expression", value: expression)
            }
            outcome.children.append(node)
        }
        return outcome
    }
}
