import FHIRCore
import FHIRProfiles
import Foundation
import RiskModel

/// The Profiles folder (`profiles.path`): every conformance resource at its top level (examples
/// live in `examples/` and are not read), as the risk model's code lists and as the profiles
/// incoming and outgoing resources are validated against.
public struct ProfilesFolder: Sendable {
    public let path: String
    public let resources: [FHIRNode]

    /// The largest file read: conformance resources with snapshots are far below it.
    static let maxFileBytes = 4 * 1_048_576

    public init(path: String) throws(ProfilesFolderError) {
        self.path = path
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".json") && $0 != "package.json" }.sorted()
        } catch {
            throw ProfilesFolderError("Cannot list the Profiles folder \(path): \(error.localizedDescription)")
        }
        let reader = FHIRReader()
        var resources: [FHIRNode] = []
        for name in names {
            let file = path + "/" + name
            guard let bytes = SmallFile.bytes(file, limit: Self.maxFileBytes) else {
                throw ProfilesFolderError("\(file) cannot be read, or is larger than \(Self.maxFileBytes) bytes")
            }
            let result = reader.read(bytes)
            guard result.isValid, let resource = result.resource else {
                let first = result.issues.first(where: \.isError).map(\.description) ?? "unreadable"
                throw ProfilesFolderError("\(file) is not a valid FHIR resource: \(first)")
            }
            resources.append(resource)
        }
        self.resources = resources
    }

    /// The risk model's code lists, from the ValueSets.
    public func codes() throws(ProfilesFolderError) -> FeatureCodes {
        do {
            return try FeatureCodes(valueSets: resources)
        } catch {
            throw ProfilesFolderError("\(path): \(error.description)")
        }
    }

    /// The profiles, compiled with their invariants.
    public func conformance() throws(ProfilesFolderError) -> ConformancePackage {
        do {
            return try ConformancePackage(resources: resources, compile: FHIRPathInvariants.compile)
        } catch {
            throw ProfilesFolderError("\(path): \(error.description)")
        }
    }
}

/// The Profiles folder cannot be used; the gateway does not start on it.
public struct ProfilesFolderError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
