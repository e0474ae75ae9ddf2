import ArgumentParser
import FHIRCore

#if canImport(Glibc)
    import Glibc
#endif

/// `fhir-risk-gateway`: the gateway's command line.
@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fhir-risk-gateway",
        abstract: "A FHIR R4 gateway that scores the risk of early progression of intrahepatic cholangiocarcinoma.",
        version: VersionCommand.text,
        subcommands: [
            ServeCommand.self, CheckConfigCommand.self, OutboxCommand.self, MigrateCommand.self, ValidateCommand.self, ConvertCommand.self, FHIRPathCommand.self, ScoreCommand.self, JWKSCommand.self,
            VersionCommand.self,
        ]
    )

    func run() throws {
        throw ValidationError("Missing subcommand: use serve, check-config, outbox, validate, convert, fhirpath, score or version (see --help)")
    }

    /// Exit codes: 0 success, 1 the input is invalid FHIR, 2 the input is unreadable or the command
    /// line is wrong.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
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
    writeAll(Array(text.utf8), to: 2)
}

func writeToStandardOutput(_ bytes: [UInt8]) {
    writeAll(bytes, to: 1)
}

/// Writes every byte to a file descriptor, retrying partial writes and interruptions.
private func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
    bytes.withUnsafeBytes { buffer in
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, base + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}
