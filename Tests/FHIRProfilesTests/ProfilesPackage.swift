import FHIRCore
import FHIRProfiles
import Foundation
import TestSupport

/// The shipped Profiles folder, compiled once for the suite's tests, and its examples.
enum ProfilesPackage {
    static let folder = Fixtures.packageRoot.appendingPathComponent("Profiles")

    static let package: Result<ConformancePackage, any Error> = Result {
        try ConformancePackage(resources: Fixtures.profileFiles().compactMap { FHIRReader().read($0).resource }, compile: FHIRPathInvariants.compile)
    }

    struct Unreadable: Error, CustomStringConvertible {
        let file: String
        let issues: [FHIRIssue]
        var description: String { "\(file): \(issues.map(\.description).joined(separator: "; "))" }
    }

    static func load() throws -> ConformancePackage { try package.get() }

    /// `Profiles/examples/<name>` as a tree.
    static func example(_ name: String) throws -> FHIRNode {
        let bytes = Array(try Data(contentsOf: folder.appendingPathComponent("examples").appendingPathComponent(name)))
        let result = FHIRReader().read(bytes)
        guard result.isValid, let resource = result.resource else { throw Unreadable(file: name, issues: result.issues) }
        return resource
    }

    static var exampleNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("examples").path)) ?? []).filter { $0.hasSuffix(".json") }
            .sorted()
    }
}
