import FHIRCore
import Foundation
import RiskModel

/// Finds and reads the model file and the Profiles folder for the offline commands. The daemon
/// will take the same paths from its configuration.
struct ModelFiles {
    struct ModelFilesError: Error, CustomStringConvertible {
        var description: String
    }

    let parameters: ModelParameters
    let codes: FeatureCodes

    /// - Parameters:
    ///   - model: the model file; default `Config/models/sheng2022.yaml` found as `locate` says.
    ///   - profiles: the Profiles folder; default `Profiles` found the same way.
    init(model: String?, profiles: String?) throws(ModelFilesError) {
        guard let modelPath = model ?? Self.locate("Config/models/sheng2022.yaml", installed: "/usr/share/fhir-risk-gateway/models/sheng2022.yaml")
        else {
            throw ModelFilesError(description: "No model file: pass --model, or run from the project folder (Config/models/sheng2022.yaml)")
        }
        guard let profilesPath = profiles ?? Self.locate("Profiles", installed: "/usr/share/fhir-risk-gateway/Profiles") else {
            throw ModelFilesError(description: "No Profiles folder: pass --profiles, or run from the project folder")
        }
        do {
            let text = String(decoding: try InputFile.read(modelPath, limit: 1_048_576), as: UTF8.self)
            parameters = try ModelParameters(yaml: text)
        } catch let error as ModelConfigurationError {
            throw ModelFilesError(description: "\(modelPath): \(error.description)")
        } catch {
            throw ModelFilesError(description: "\(modelPath): \(error)")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: profilesPath).filter { $0.hasSuffix(".json") && $0 != "package.json" }
                .sorted()
        } catch {
            throw ModelFilesError(description: "Cannot list the Profiles folder \(profilesPath): \(error.localizedDescription)")
        }
        var valueSets: [FHIRNode] = []
        let reader = FHIRReader()
        for name in names {
            let path = profilesPath + "/" + name
            let bytes: [UInt8]
            do {
                bytes = try InputFile.read(path, limit: reader.limits.maxBytes)
            } catch {
                throw ModelFilesError(description: error.description)
            }
            let result = reader.read(bytes)
            guard result.isValid, let resource = result.resource else {
                let first = result.issues.first(where: \.isError).map(\.description) ?? "unreadable"
                throw ModelFilesError(description: "\(path) is not a valid FHIR resource: \(first)")
            }
            if resource.type.name == "ValueSet" { valueSets.append(resource) }
        }
        do {
            codes = try FeatureCodes(valueSets: valueSets)
        } catch {
            throw ModelFilesError(description: "\(profilesPath): \(error.description)")
        }
    }

    /// `relative` in the working folder, or beside the executable's build folder, or the installed path.
    static func locate(_ relative: String, installed: String) -> String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [
            FileManager.default.currentDirectoryPath + "/" + relative,
            executable.deletingLastPathComponent().appendingPathComponent("../../\(relative)").standardizedFileURL.path,
            executable.deletingLastPathComponent().appendingPathComponent("../../../\(relative)").standardizedFileURL.path,
            installed,
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}
