import Configuration
import Foundation

/// Reads configuration keys for the sections' `init(reader:)`, checking each value as it is read
/// and keeping every problem found, so that one run of `check-config` names them all. It records
/// the keys it reads: a test holds them equal to the keys `Config/gateway.yaml` documents.
final class CheckedReader {
    private let reader: ConfigReader
    /// The process environment the executable passed in (systemd's folders and credentials).
    let environment: [String: String]
    private(set) var problems: [String] = []
    private(set) var keysRead: Set<String> = []

    init(_ reader: ConfigReader, environment: [String: String]) {
        self.reader = reader
        self.environment = environment
    }

    func problem(_ message: String) { problems.append(message) }

    /// The key's text; an empty value counts as unset.
    func string(_ key: String, default value: String? = nil) -> String? {
        keysRead.insert(key)
        return reader.string(forKey: ConfigKey(key)).flatMap { $0.isEmpty ? nil : $0 } ?? value
    }

    func stringArray(_ key: String) -> [String] {
        keysRead.insert(key)
        return reader.stringArray(forKey: ConfigKey(key)) ?? []
    }

    /// The key's text, or a problem naming the key and its environment variable.
    func required(_ key: String, default value: String? = nil) -> String {
        guard let found = string(key, default: value) else {
            problem("\(key) is required (or the environment variable \(GatewayConfiguration.environmentName(key)))")
            return ""
        }
        return found
    }

    func integer(_ key: String, default value: Int, range: ClosedRange<Int>) -> Int {
        optionalInteger(key, range: range) ?? value
    }

    /// A whole number in `range`, or nil when the key is unset (or wrong, with a problem).
    func optionalInteger(_ key: String, range: ClosedRange<Int>) -> Int? {
        guard let text = string(key) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            problem("\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
            return nil
        }
        return number
    }

    /// A positive number (seconds, mostly).
    func number(_ key: String, default value: Double) -> Double {
        guard let text = string(key) else { return value }
        guard let number = Double(text), number > 0, number.isFinite else {
            problem("\(key) must be a positive number, not '\(text)'")
            return value
        }
        return number
    }

    func boolean(_ key: String, default value: Bool) -> Bool {
        guard let text = string(key) else { return value }
        switch text.lowercased() {
        case "true", "yes", "1": return true
        case "false", "no", "0": return false
        default:
            problem("\(key) must be true or false, not '\(text)'")
            return value
        }
    }

    /// One of an enumeration's raw values.
    func choice<T: RawRepresentable & CaseIterable>(_ key: String, default value: T) -> T where T.RawValue == String {
        guard let text = string(key) else { return value }
        guard let found = T(rawValue: text) else {
            problem("\(key) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
            return value
        }
        return found
    }

    /// A problem when `path` is set but names no readable file.
    func checkReadable(_ key: String, _ path: String?) {
        guard let path, !path.isEmpty else { return }
        if !FileManager.default.isReadableFile(atPath: path) {
            problem("\(key): the file \(path) does not exist or cannot be read")
        }
    }

    /// A file systemd passes with `LoadCredential=` (in `$CREDENTIALS_DIRECTORY`), if it is there.
    func credential(_ name: String) -> String? {
        guard let folder = environment["CREDENTIALS_DIRECTORY"], !folder.isEmpty else { return nil }
        let path = (folder as NSString).appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
