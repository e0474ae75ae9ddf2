import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A swift-log handler for journald: one line per event on standard error, prefixed with the
/// syslog priority (`<6>`), which journald strips and turns into PRIORITY; the text in logfmt
/// (`level=info msg="…" request.id=…`) or JSON. Newlines and control characters are escaped, so
/// one event is always one journal entry. One `write(2)` per line: lines never interleave.
public struct JournalLogHandler: LogHandler {
    public enum Format: String, Sendable {
        case logfmt, json
    }

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let label: String
    let format: Format

    public init(label: String, format: Format = .logfmt) {
        self.label = label
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let line =
            "<\(Self.priority(event.level))>" + Self.render(level: event.level, message: "\(event.message)", fields: fields, format: format) + "\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(2, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    public func log(
        level: Logger.Level,
        message: Logger.Message,
        metadata: Logger.Metadata?,
        source: String,
        file: String,
        function: String,
        line: UInt
    ) {
        log(event: LogEvent(level: level, message: message, metadata: metadata, source: source, file: file, function: function, line: line))
    }

    /// The event as one line without the priority prefix and newline.
    public static func render(level: Logger.Level, message: String, fields: Logger.Metadata, format: Format) -> String {
        let sorted = fields.sorted { $0.key < $1.key }
        switch format {
        case .logfmt:
            var text = "level=\(level.rawValue) msg=\(quote(message))"
            for (key, value) in sorted { text += " \(key)=\(quote("\(value)"))" }
            return text
        case .json:
            var text = "{\"level\":\(jsonString(level.rawValue)),\"msg\":\(jsonString(message))"
            for (key, value) in sorted { text += ",\(jsonString(key)):\(jsonString("\(value)"))" }
            return text + "}"
        }
    }

    /// A logfmt value: bare when it is simple, else in quotes with escapes.
    static func quote(_ value: String) -> String {
        let simple =
            !value.isEmpty && value.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0 != "\\" && $0.value != 0x7F }
        if simple { return value }
        return "\"" + escape(value) + "\""
    }

    static func jsonString(_ value: String) -> String { "\"" + escape(value) + "\"" }

    static func escape(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
