import ArgumentParser
import FHIRCore

#if canImport(Glibc)
    import Glibc
#endif

/// `fhir-risk-gateway`: the gateway's command line.
@main
struct GatewayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fhir-risk-gateway",
        abstract: "A FHIR R4 gateway that scores the risk of early progression of intrahepatic cholangiocarcinoma.",
        subcommands: [ValidateCommand.self, ConvertCommand.self, VersionCommand.self]
    )

    /// Exit codes: 0 success, 1 the input is invalid FHIR, 2 the input is unreadable or the command
    /// line is wrong.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Glibc.exit(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            writeToStandardError(fullMessage(for: error) + "\n")
            Glibc.exit(2)
        }
    }
}

func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { fwrite($0.baseAddress, 1, $0.count, stderr) }
}

func writeToStandardOutput(_ bytes: [UInt8]) {
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, stdout) }
    fflush(stdout)
}
