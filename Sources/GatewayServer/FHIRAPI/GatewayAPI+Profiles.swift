import CaseProcessing
import FHIRCore
import FHIRProfiles

/// Incoming resources against the profiles of Profiles/ (`validation.profiles`).
extension GatewayAPI {
    /// Validates each resource against the profiles that apply to it and counts every issue in
    /// `fhir_gateway_profile_issues_total`. Under `enforce`, any error refuses the request (422)
    /// with every error found, before anything is stored. References between a Bundle's entries
    /// are already `Type/id` here, so their targets' types are known.
    func checkProfiles(_ items: [CaseProcessor.Incoming], settings: LiveSettings.Snapshot) throws {
        let mode = settings.configuration.profileValidation
        guard mode != .off else { return }
        var errors: [FHIRIssue] = []
        for item in items {
            for finding in settings.conformance.validate(item.resource, at: item.path) {
                events.metrics.profileIssue(profile: finding.profile, severity: finding.issue.severity.rawValue)
                if finding.issue.isError { errors.append(finding.issue) }
            }
        }
        if mode == .enforce, !errors.isEmpty { throw CaseInputError(status: 422, issues: errors) }
    }
}
