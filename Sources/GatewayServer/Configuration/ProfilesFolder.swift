import FHIRCore
import FHIRProfiles
import Foundation
import RiskModel

/// The Profiles folder (`profiles.path`): every conformance resource at its top level (examples
/// live in `examples/` and are not read), as the risk model's code lists and as the profiles
/// incoming and outgoing resources are validated against; and, in `r4-core/`, the R4 core profiles
/// and ValueSets the gateway enforces with the rules that select them (`profile-selection.json`).
public struct ProfilesFolder: Sendable {
    public let path: String
    /// The implementation guide's resources.
    public let resources: [FHIRNode]
    /// R4 core's profiles and ValueSets (`r4-core/`; none when the folder has no `r4-core`).
    public let coreResources: [FHIRNode]
    public let selectionRules: ProfileSelectionRules

    /// The largest file read: conformance resources with snapshots are far below it.
    static let maxFileBytes = 4 * 1_048_576
    /// The subfolder of R4 core's profiles, and its file of selection rules.
    public static let coreFolder = "r4-core"
    static let selectionFile = "profile-selection.json"

    public init(path: String) throws(ProfilesFolderError) {
        self.path = path
        resources = try Self.resources(in: path, skipping: ["package.json"])
        let core = path + "/" + Self.coreFolder
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: core, isDirectory: &isFolder), isFolder.boolValue {
            coreResources = try Self.resources(in: core, skipping: [Self.selectionFile])
            let file = core + "/" + Self.selectionFile
            guard let bytes = SmallFile.bytes(file, limit: Self.maxFileBytes) else {
                throw ProfilesFolderError("\(file) cannot be read, or is larger than \(Self.maxFileBytes) bytes")
            }
            do {
                selectionRules = try ProfileSelectionRules(json: bytes)
            } catch {
                throw ProfilesFolderError("\(file): \(error.description)")
            }
        } else {
            coreResources = []
            selectionRules = ProfileSelectionRules()
        }
    }

    /// Every `.json` file of `folder` but those `skipping` names, read as FHIR resources in name order.
    private static func resources(in folder: String, skipping: Set<String>) throws(ProfilesFolderError) -> [FHIRNode] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") && !skipping.contains($0) }.sorted()
        } catch {
            throw ProfilesFolderError("Cannot list the Profiles folder \(folder): \(error.localizedDescription)")
        }
        let reader = FHIRReader()
        var resources: [FHIRNode] = []
        for name in names {
            let file = folder + "/" + name
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
        return resources
    }

    /// The risk model's code lists, from the ValueSets.
    public func codes() throws(ProfilesFolderError) -> FeatureCodes {
        do {
            return try FeatureCodes(valueSets: resources)
        } catch {
            throw ProfilesFolderError("\(path): \(error.description)")
        }
    }

    /// The profiles, the guide's and R4 core's, compiled with their invariants.
    public func conformance() throws(ProfilesFolderError) -> ConformancePackage {
        do {
            return try ConformancePackage(
                resources: resources, coreResources: coreResources, selectionRules: selectionRules, compile: FHIRPathInvariants.compile)
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
