import FHIRCore

extension ConformancePackage {
    /// One problem found against one profile.
    public struct Finding: Sendable {
        /// The profile's id (`icca-adc-observation`), or `unknown` for a claimed profile the
        /// package does not hold: a bounded set, fit for a metric label.
        public var profile: String
        public var issue: FHIRIssue
    }

    /// Validates a resource against every profile that applies to it (`selection(for:)`).
    /// - Parameter path: its FHIRPath in the request (`Bundle.entry[1].resource`).
    public func validate(_ resource: FHIRNode, at path: String) -> [Finding] {
        let selection = selection(for: resource)
        var findings = selection.unknownClaims.map { claim in
            Finding(
                profile: "unknown",
                issue: FHIRIssue(
                    severity: .information, code: .notSupported,
                    diagnostics: "The resource claims the profile \(claim), which the gateway does not hold: not checked against it",
                    expression: path + ".meta.profile"))
        }
        let validator = ProfileValidator(package: self)
        for profile in selection.profiles {
            findings += validator.validate(resource, against: profile, at: path).map { Finding(profile: profile.name, issue: $0) }
        }
        return findings
    }
}
