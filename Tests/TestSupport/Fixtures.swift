import Foundation

/// The test corpus: the official FHIR R4 examples, the schemas and the invalid cases, kept in
/// `Tests/Fixtures/fhir-examples` (a copy of ../shared/fhir-examples, see its README).
public enum Fixtures {
    /// `<package root>/Tests/Fixtures/fhir-examples/R4`.
    public static let r4: URL = {
        if let override = ProcessInfo.processInfo.environment["FHIR_EXAMPLES_R4"] {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.appendingPathComponent("Tests/Fixtures/fhir-examples/R4")
    }()

    public static let invalid: URL = r4.appendingPathComponent("invalid")

    /// `<package root>/Tests/Fixtures/fhirpath-tests`: the official FHIRPath suite for R4
    /// (`tests-fhir-r4.xml`) and the resources its cases read (`input/`), see its README.
    public static let fhirpathTests: URL = packageRoot.appendingPathComponent("Tests/Fixtures/fhirpath-tests")

    /// The package root, found from this source file's path.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// The example files with this extension (`json` or `xml`), sorted by name.
    public static func examples(_ pathExtension: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: r4.path)) ?? []
        return names.filter { $0.hasSuffix("." + pathExtension) }.sorted()
    }

    public static func bytes(_ name: String, in directory: URL = r4) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// The shipped ValueSets of recognised codes (`Profiles/ValueSet-*.json`), as bytes.
    public static func valueSetFiles() -> [[UInt8]] { profilesFolderFiles { $0.hasPrefix("ValueSet-") } }

    /// Every conformance resource of the shipped Profiles folder (its top level: StructureDefinitions,
    /// ValueSets, CodeSystem, ImplementationGuide), as bytes.
    public static func profileFiles() -> [[UInt8]] { profilesFolderFiles { $0.hasSuffix(".json") && $0 != "package.json" } }

    /// The files at the top of the shipped Profiles folder whose names `include` takes, in name order.
    static func profilesFolderFiles(_ include: (String) -> Bool) -> [[UInt8]] {
        let folder = packageRoot.appendingPathComponent("Profiles")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter(include).sorted()
        return names.compactMap { name in FileManager.default.contents(atPath: folder.appendingPathComponent(name).path).map(Array.init) }
    }

    /// The rows of invalid/MANIFEST.tsv as column name → value.
    public static func invalidManifest() throws -> [[String: String]] {
        let text = try String(contentsOf: invalid.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        guard let header = lines.first else { return [] }
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }
}
