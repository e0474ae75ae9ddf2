import FHIRCore
import FHIRProfiles
import Foundation
import GatewayServer
import RiskModel

/// Finds and reads the model file and the Profiles folder for the offline commands. The daemon
/// will take the same paths from its configuration.
struct ModelFiles {
    struct ModelFilesError: Error, CustomStringConvertible {
        var description: String
    }

    let parameters: ModelParameters
    let codes: FeatureCodes
    let conformance: ConformancePackage

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
        do {
            let folder = try ProfilesFolder(path: profilesPath)
            codes = try folder.codes()
            conformance = try folder.conformance()
        } catch {
            throw ModelFilesError(description: error.description)
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
