import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A swift-log handler for standard error: one line per event, in logfmt
/// (`level=info msg="…" request.id=…`) or JSON. Newlines and control characters are escaped, so
/// one event is always one line (and one journal entry). One `write(2)` per line: lines never
/// interleave.
///
/// Under journald (`JOURNAL_STREAM` names standard error) each line starts with the syslog
/// priority (`<6>`), which journald strips and turns into PRIORITY, and carries no time of its
/// own (journald stamps it). Anywhere else a line starts with its JSON or logfmt text and carries
/// an RFC 3339 `time`, so `jq` and log shippers read it as it is.
///
/// In JSON, metadata given as `.stringConvertible` integers, floating-point numbers or booleans
/// are written as JSON numbers and booleans; everything else is a string.
public struct JournalLogHandler: LogHandler {
    public enum Format: String, Sendable {
        case logfmt, json
    }

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let format: Format
    /// Whether standard error is journald's stream: the priority prefix, and no time field.
    let journald: Bool

    public init(label: String, format: Format = .logfmt, journald: Bool, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.format = format
        self.journald = journald
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Whether standard error is the stream journald gave the service: `JOURNAL_STREAM` holds
    /// `device:inode` of that stream, which must match standard error's own (a shell started from
    /// the service inherits the variable but not the stream).
    public static func standardErrorIsJournal(environment: [String: String]) -> Bool {
        guard let value = environment["JOURNAL_STREAM"], let stream = standardErrorStream() else { return false }
        return value == stream
    }

    /// `device:inode` of standard error, as systemd writes them in `JOURNAL_STREAM`.
    static func standardErrorStream() -> String? {
        var status = stat()
        guard fstat(2, &status) == 0 else { return nil }
        return "\(UInt64(status.st_dev)):\(UInt64(status.st_ino))"
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
        if let provided = metadataProvider?.get(), !provided.isEmpty { fields.merge(provided) { $1 } }
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let time = journald ? nil : Self.timestamp(now())
        let text = Self.render(level: event.level, message: "\(event.message)", fields: fields, format: format, time: time)
        let line = journald ? "<\(Self.priority(event.level))>" + text + "\n" : text + "\n"
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

    func now() -> timespec {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return time
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-03T04:05:06.789Z`.
    public static func timestamp(_ time: timespec) -> String {
        var seconds = time_t(time.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let milliseconds = Int(time.tv_nsec / 1_000_000)
        let fraction = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }

    /// The event as one line without the priority prefix and newline; `time` first when given.
    public static func render(level: Logger.Level, message: String, fields: Logger.Metadata, format: Format, time: String? = nil) -> String {
        let sorted = fields.sorted { $0.key < $1.key }
        switch format {
        case .logfmt:
            var text = time.map { "time=\($0) " } ?? ""
            text += "level=\(level.rawValue) msg=\(quote(message))"
            for (key, value) in sorted { text += " \(key)=\(quote("\(value)"))" }
            return text
        case .json:
            var text = "{" + (time.map { "\"time\":\"\($0)\"," } ?? "")
            text += "\"level\":\(jsonString(level.rawValue)),\"msg\":\(jsonString(message))"
            for (key, value) in sorted { text += ",\(jsonString(key)):\(json(value))" }
            return text + "}"
        }
    }

    /// A metadata value in JSON: numbers and booleans as themselves, lists and dictionaries as
    /// arrays and objects, the rest as strings.
    static func json(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text):
            return jsonString(text)
        case .stringConvertible(let convertible):
            if convertible is any BinaryInteger { return "\(convertible)" }
            if let number = convertible as? Double { return number.isFinite ? "\(number)" : jsonString("\(number)") }
            if let flag = convertible as? Bool { return flag ? "true" : "false" }
            return jsonString("\(convertible)")
        case .array(let values):
            return "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let entries):
            return "{" + entries.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(json($0.value))" }.joined(separator: ",") + "}"
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
