import CaseProcessing
import FHIRCore
import FHIRProfiles

/// Incoming resources against the profiles of Profiles/ (`validation.profiles`) and the R4 core
/// profiles R4 requires of them (`validation.coreProfiles`).
extension GatewayAPI {
    /// Validates each resource against the profiles that apply to it and counts every issue in
    /// `fhir_gateway_profile_issues_total`, except those of a kind whose mode is `off`. Any error
    /// of a kind under `enforce` refuses the request (422) with every such error found, before
    /// anything is stored. References between a Bundle's entries are already `Type/id` here, so
    /// their targets' types are known.
    func checkProfiles(_ items: [CaseProcessor.Incoming], settings: LiveSettings.Snapshot) throws {
        let configuration = settings.configuration
        func mode(_ origin: ConformancePackage.Profile.Origin) -> GatewayConfiguration.ProfileValidation {
            origin == .guide ? configuration.profileValidation : configuration.coreProfileValidation
        }
        guard mode(.guide) != .off || mode(.core) != .off else { return }
        var errors: [FHIRIssue] = []
        for item in items {
            for finding in settings.conformance.validate(item.resource, at: item.path) where mode(finding.origin) != .off {
                events.metrics.profileIssue(profile: finding.profile, severity: finding.issue.severity.rawValue)
                if finding.issue.isError, mode(finding.origin) == .enforce { errors.append(finding.issue) }
            }
        }
        if !errors.isEmpty { throw CaseInputError(status: 422, issues: errors) }
    }
}
