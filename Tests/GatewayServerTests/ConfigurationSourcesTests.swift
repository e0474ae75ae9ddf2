import Configuration
import Foundation
import TestSupport
import Testing

@testable import GatewayServer

/// Where the configuration's values come from: the file, the environment, and the directories
/// and credentials systemd provides.
@Suite struct ConfigurationSourcesTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("configuration-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("credentials"), withIntermediateDirectories: true)
        for name in ["credentials/tls.crt", "credentials/tls.key", "other.crt", "other.key"] {
            FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data("x".utf8))
        }
    }

    func write(_ yaml: String) throws -> String {
        let path = folder.appendingPathComponent("gateway.yaml").path
        let root = Fixtures.packageRoot.path
        try (yaml + "\nmodel: {path: \(root)/Config/models/sheng2022.yaml}\nprofiles: {path: \(root)/Profiles}\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func underSystemdTheKeyComesFromTheCredentialsAndTheStoreFromTheStateDirectory() async throws {
        let path = try write("server: {port: 8443}")
        let configuration = try await GatewayConfiguration.load(
            path: path,
            environment: ["CREDENTIALS_DIRECTORY": folder.appendingPathComponent("credentials").path, "STATE_DIRECTORY": "/var/lib/gw"])
        #expect(configuration.tls.certificate == folder.appendingPathComponent("credentials/tls.crt").path)
        #expect(configuration.tls.privateKey == folder.appendingPathComponent("credentials/tls.key").path)
        #expect(configuration.storagePath == "/var/lib/gw/gateway.sqlite")
        #expect(configuration.pseudonymKeyFile == "/var/lib/gw/pseudonym.key")
    }

    @Test func theFileAndThenTheEnvironmentWinOverTheCredentials() async throws {
        let path = try write("tls: {certificate: \(folder.path)/other.crt, privateKey: \(folder.path)/other.key}\nstorage: {path: /srv/gw.sqlite}")
        let credentials = folder.appendingPathComponent("credentials").path
        let fromFile = try await GatewayConfiguration.load(path: path, environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(fromFile.tls.privateKey == "\(folder.path)/other.key")
        let fromEnvironment = try await GatewayConfiguration.load(
            path: path, environment: ["CREDENTIALS_DIRECTORY": credentials, "TLS_PRIVATE_KEY": "\(credentials)/tls.key"])
        #expect(fromEnvironment.tls.privateKey == "\(credentials)/tls.key")
    }

    @Test func withoutCredentialsTheMissingKeyIsNamedWithItsEnvironmentVariable() async throws {
        let path = try write("storage: {path: /srv/gw.sqlite}")
        await #expect {
            _ = try await GatewayConfiguration.load(path: path, environment: [:])
        } throws: { error in
            "\(error)".contains("tls.privateKey is required (or the environment variable TLS_PRIVATE_KEY)")
        }
    }

    @Test func environmentNamesFollowTheConfigurationLibrary() {
        #expect(GatewayConfiguration.environmentName("tls.privateKey") == "TLS_PRIVATE_KEY")
        #expect(GatewayConfiguration.environmentName("server.port") == "SERVER_PORT")
        #expect(GatewayConfiguration.environmentName("logging.pseudonymKeyFile") == "LOGGING_PSEUDONYM_KEY_FILE")
        #expect(GatewayConfiguration.environmentName("upstream.baseURL") == "UPSTREAM_BASE_URL")
        #expect(GatewayConfiguration.environmentName("upstream.clientID") == "UPSTREAM_CLIENT_ID")
        #expect(GatewayConfiguration.environmentName("upstream.jwtKeyID") == "UPSTREAM_JWT_KEY_ID")
    }

    /// The name the gateway's messages give for every key is the one the library reads.
    @Test func everyKnownKeyIsReadFromTheEnvironmentVariableItsMessagesName() {
        for key in ConfigurationKeys.known.sorted() {
            let reader = ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: [GatewayConfiguration.environmentName(key): "set"]))
            #expect(reader.string(forKey: ConfigKey(key)) == "set", "\(key) is not read from \(GatewayConfiguration.environmentName(key))")
        }
    }
}
