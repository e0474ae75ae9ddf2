import ArgumentParser
import Foundation
import GatewayServer

/// `jwks --config FILE` (or `--key FILE --kid ID`): prints the public JWK Set of the SMART Backend
/// Services key, to register with the EHR's authorization server. Only the public key is printed.
struct JWKSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwks",
        abstract: "Print the public JWK Set of the SMART Backend Services key, to register with the EHR."
    )

    @Option(help: "The configuration file: upstream.jwtSigningKey and upstream.jwtKeyID (upstream.auth: smartBackend).")
    var config: String?
    @Option(help: "The PEM private key, instead of --config (RSA 2048+ bits: RS384; EC P-384: ES384).")
    var key: String?
    @Option(help: "With --key: the key's kid.")
    var kid: String?

    func validate() throws {
        guard (config == nil) != (key == nil) else { throw ValidationError("Give --config FILE, or --key FILE --kid ID") }
        if key != nil, kid == nil { throw ValidationError("--key needs --kid ID") }
    }

    func run() async throws {
        var keyPath = key ?? ""
        var keyID = kid ?? ""
        if let config {
            let configuration: GatewayConfiguration
            do {
                configuration = try await GatewayConfiguration.load(path: config, environment: ProcessInfo.processInfo.environment)
            } catch {
                writeToStandardError(error.description + "\n")
                throw ExitCode(1)
            }
            guard let smart = configuration.upstream?.smart else {
                writeToStandardError("\(config): upstream.auth is not smartBackend: there is no SMART key to publish\n")
                throw ExitCode(1)
            }
            keyPath = smart.jwtSigningKey
            keyID = smart.jwtKeyID
        }
        do {
            let jwks = try await SMARTKeySet.publicJWKS(keyPath: keyPath, keyID: keyID)
            print(String(decoding: jwks, as: UTF8.self))
        } catch {
            writeToStandardError(error.description + "\n")
            throw ExitCode(1)
        }
    }
}
