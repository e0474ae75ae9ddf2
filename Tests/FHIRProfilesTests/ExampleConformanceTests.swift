import FHIRCore
import FHIRProfiles
import Testing

/// Every example of Profiles/examples conforms to the profile it claims, and is selected for that
/// profile by its content alone (as an incoming resource without `meta.profile` would be).
@Suite struct ExampleConformanceTests {
    @Test func thePackageCompilesEveryProfile() throws {
        let package = try ProfilesPackage.load()
        #expect(package.profiles.count >= 8, "\(package.profiles.keys.sorted())")
    }

    @Test(arguments: ProfilesPackage.exampleNames)
    func exampleConformsToItsProfile(_ name: String) throws {
        let package = try ProfilesPackage.load()
        let example = try ProfilesPackage.example(name)
        #expect(FHIRValidator().validate(example).filter(\.isError).isEmpty)
        let claimed = example.child(named: "meta")?.children(named: "profile").compactMap(\.value) ?? []
        for url in claimed {
            let profile = try #require(package.profile(url), "\(url) is not in the package")
            let issues = ProfileValidator(package: package).validate(example, against: profile)
            #expect(issues.filter(\.isError).isEmpty, "\(name): \(issues.map(\.description).joined(separator: "\n"))")
        }
        var unclaimed = example
        unclaimed.children.removeAll { $0.name == "meta" }
        let selected = package.selection(for: unclaimed).profiles.map(\.url)
        for url in claimed where example.type.name != "RiskAssessment" {
            #expect(selected.contains(url), "\(name) without meta.profile is not selected for \(url): \(selected)")
        }
    }
}
