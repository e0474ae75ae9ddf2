import FHIRCore
import Logging
import Synchronization

/// What one request leaves for its log lines: its id (the sender's `X-Request-ID` or one the
/// gateway makes), and for a refusal the first error's issue code and element path. Every line
/// logged while the request runs carries `request.id` through the logging system's metadata
/// provider; the request line adds the rest.
public final class RequestTrace: Sendable {
    /// The trace of the request the current task serves.
    @TaskLocal static var current: RequestTrace?

    let id: String
    private let refusal = Mutex<(code: String, path: String?)?>(nil)

    init(id: String) {
        self.id = id
    }

    /// Puts `request.id` on every line logged inside a request.
    public static let metadataProvider = Logger.MetadataProvider {
        guard let trace = RequestTrace.current else { return [:] }
        return ["request.id": .string(trace.id)]
    }

    /// Keeps the first error of an OperationOutcome answer: its issue code, and its element path
    /// when that is a FHIRPath made only of element names and indexes (never a value).
    func record(_ issues: [FHIRIssue]) {
        guard let issue = issues.first(where: { $0.severity == .error || $0.severity == .fatal }) ?? issues.first else { return }
        let path = issue.expression.flatMap(Self.elementPath)
        refusal.withLock { kept in
            if kept == nil { kept = (issue.code.rawValue, path) }
        }
    }

    var recorded: (code: String, path: String?)? { refusal.withLock { $0 } }

    /// A path such as `Bundle.entry[2].resource.valueQuantity.value`, at most 200 characters.
    /// Anything else (a quoted string, a function argument, a space) could carry text from the
    /// request and is not logged.
    static func elementPath(_ expression: String) -> String? {
        guard !expression.isEmpty, expression.utf8.count <= 200 else { return nil }
        for segment in expression.split(separator: ".", omittingEmptySubsequences: false) {
            var name = segment[...]
            if let open = name.firstIndex(of: "[") {
                guard name.last == "]", name[name.index(after: open)..<name.index(before: name.endIndex)].allSatisfy(\.isASCIIDigit),
                    name.index(after: open) < name.index(before: name.endIndex)
                else { return nil }
                name = name[..<open]
            }
            guard let first = name.first, first.isASCIILetter, name.allSatisfy({ $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" })
            else { return nil }
        }
        return expression
    }

    /// A sender's `X-Request-ID`: 1 to 128 letters, digits and `-._:` (UUIDs, ULIDs, an
    /// engine's message control id); anything else is not used and the gateway makes its own.
    static func acceptedID(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 128 else { return nil }
        let allowed = value.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x2E
                || byte == 0x5F || byte == 0x3A
        }
        return allowed ? value : nil
    }
}

extension Character {
    fileprivate var isASCIILetter: Bool { isASCII && isLetter }
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
