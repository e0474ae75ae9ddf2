import FHIRCore

extension ConformancePackage {
    /// One problem found against one profile.
    public struct Finding: Sendable {
        /// The profile's id (`icca-adc-observation`, `bp`), or `unknown` for a claimed profile
        /// the package does not hold: a bounded set, fit for a metric label.
        public var profile: String
        /// Whose profile: the guide's or R4 core's (`validation.profiles` and
        /// `validation.coreProfiles` decide what their errors do).
        public var origin: Profile.Origin
        public var issue: FHIRIssue
    }

    /// Validates a resource against every profile that applies to it (`selection(for:)`).
    /// - Parameter path: its FHIRPath in the request (`Bundle.entry[1].resource`).
    public func validate(_ resource: FHIRNode, at path: String) -> [Finding] {
        let selection = selection(for: resource)
        var findings = selection.unknownClaims.map { claim in
            Finding(
                profile: "unknown", origin: .guide,
                issue: FHIRIssue(
                    severity: .information, code: .notSupported,
                    diagnostics: "The resource claims the profile \(claim), which the gateway does not hold: not checked against it",
                    expression: path + ".meta.profile"))
        }
        if let match = selection.rule {
            let held = profiles[match.rule.profile]
            let why = "R4 requires every \(match.rule.resourceType) coded \(match.rule.system)|\(match.code) to conform to \(match.rule.profile)"
            findings.append(
                Finding(
                    profile: held?.name ?? "unknown", origin: .core,
                    issue: FHIRIssue(
                        severity: .information, code: held == nil ? .notSupported : .informational,
                        diagnostics: held == nil ? "\(why), which the gateway does not hold: not checked against it" : "\(why): checked against it",
                        expression: path)))
        }
        let validator = ProfileValidator(package: self)
        for profile in selection.profiles {
            findings += validator.validate(resource, against: profile, at: path).map { Finding(profile: profile.name, origin: profile.origin, issue: $0) }
        }
        return findings
    }
}
