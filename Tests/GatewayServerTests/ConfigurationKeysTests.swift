import Foundation
import TestSupport
import Testing

@testable import GatewayServer

/// The keys the gateway knows are the keys `Config/gateway.yaml` documents, and a key it does not
/// know is named with the known one it resembles.
@Suite struct ConfigurationKeysTests {
    /// The keys the shipped file documents, set or commented out, by section, each with whether
    /// a comment explains it (on its line, or on the comment lines right above it): a section is
    /// `name:` or `# name:` at the start of a line, a key `  name:`, `  # name:` or `#   name:`.
    static func documentedKeys() throws -> [String: Bool] {
        let text = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("Config/gateway.yaml"), encoding: .utf8)
        func name(after prefix: String, in line: Substring) -> String? {
            guard line.hasPrefix(prefix) else { return nil }
            let rest = line.dropFirst(prefix.count)
            guard let colon = rest.firstIndex(of: ":"), !rest[..<colon].isEmpty, rest[..<colon].allSatisfy(\.isLetter) else { return nil }
            return String(rest[..<colon])
        }
        var keys: [String: Bool] = [:]
        var section: String?
        var commentAbove = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.first?.isLetter == true, let found = name(after: "", in: line) {
                section = found
            } else if let found = name(after: "# ", in: line) {
                section = found
            } else if let section, let found = name(after: "  # ", in: line) ?? name(after: "#   ", in: line) ?? name(after: "  ", in: line) {
                // The value's own comment: a `#` after the value.
                let value = line.drop { $0 == " " || $0 == "#" }.drop { $0 != ":" }
                keys["\(section).\(found)"] = commentAbove || value.contains("#")
                commentAbove = false
                continue
            }
            commentAbove = line.trimmingCharacters(in: .whitespaces).hasPrefix("#")
        }
        return keys
    }

    @Test func everyKeyTheGatewayKnowsIsDocumentedInTheShippedConfigurationAndNoOther() throws {
        let commented = try Self.documentedKeys()
        let documented = Set(commented.keys)
        #expect(commented.filter { !$0.value }.isEmpty, "documented without a comment: \(commented.filter { !$0.value }.keys.sorted())")
        #expect(ConfigurationKeys.known.subtracting(documented).isEmpty, "not in Config/gateway.yaml: \(ConfigurationKeys.known.subtracting(documented).sorted())")
        #expect(documented.subtracting(ConfigurationKeys.known).isEmpty, "documented but not known: \(documented.subtracting(ConfigurationKeys.known).sorted())")
    }

    /// The sections' `init(reader:)` read exactly the keys the gateway knows, given the shipped
    /// file with the keys it leaves commented out set by their environment variables.
    @Test func theSectionsReadEveryKnownKeyAndNoOther() async throws {
        let path = Fixtures.packageRoot.appendingPathComponent("Config/gateway.yaml").path
        var environment: [String: String] = [:]
        for key in try Self.documentedKeys().keys { environment[GatewayConfiguration.environmentName(key)] = "1" }
        environment["UPSTREAM_BASE_URL"] = "https://fhir.example.org/fhir"
        let reader = CheckedReader(try await GatewayConfiguration.reader(path: path, environment: environment), environment: environment)
        _ = GatewayConfiguration(reader: reader)
        #expect(reader.keysRead == ConfigurationKeys.known, "read but not known: \(reader.keysRead.subtracting(ConfigurationKeys.known).sorted()); known but not read: \(ConfigurationKeys.known.subtracting(reader.keysRead).sorted())")
    }

    @Test func aMisspelledKeyIsNamedWithTheKeyItResembles() {
        let problems = ConfigurationKeys.problems(yaml: "tls:\n  clientCa: /etc/ca.crt\nlimits: {maxBundleEntrys: 3}\nlogging:\n")
        #expect(problems.contains("tls.clientCa is not a configuration key of this gateway (did you mean tls.clientCA?)"), "\(problems)")
        #expect(problems.contains("limits.maxBundleEntrys is not a configuration key of this gateway (did you mean limits.maxBundleEntries?)"))
        // An empty section is not a problem; a stray one is.
        #expect(problems.count == 2)
        #expect(ConfigurationKeys.problems(yaml: "colour: blue\n") == ["colour is not a configuration key of this gateway"])
    }
}
