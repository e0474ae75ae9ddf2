import FHIRCore
import FHIRProfiles
import Foundation
import GatewayServer
import TestSupport

/// The shipped Profiles folder, read as the gateway reads it and compiled once for the suite's
/// tests (the guide's profiles and R4 core's, with the selection rules), and its examples.
enum ProfilesPackage {
    static let folder = Fixtures.packageRoot.appendingPathComponent("Profiles")

    static let package: Result<ConformancePackage, any Error> = Result {
        try ProfilesFolder(path: folder.path).conformance()
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
