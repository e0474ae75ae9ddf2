import Foundation

extension Evaluator {
    /// The functions on one string: the input must be one item (empty gives empty) and a string.
    func invokeString(
        _ call: FunctionCall, on target: [FHIRPathValue], argument: (Int) throws(FHIRPathError) -> [FHIRPathValue], at expression: Expression
    ) throws(FHIRPathError) -> [FHIRPathValue] {
        let function = call.function
        if function == .join {
            var parts: [String] = []
            for item in target {
                guard case .string(let s) = item.systemValue ?? item else {
                    throw error("join() needs strings, not a \(item.suiteType)", at: expression)
                }
                parts.append(s)
            }
            let separator = call.arguments.isEmpty ? "" : try stringArgument(try argument(0), at: call.arguments[0]) ?? ""
            return [.string(parts.joined(separator: separator))]
        }
        guard let item = try singleton(target, at: expression) else { return [] }
        guard case .string(let text) = item.systemValue ?? item else {
            throw error("\(function.rawValue)() applies to a string, not to a \(item.suiteType)", at: expression)
        }
        func string(_ i: Int) throws(FHIRPathError) -> String? { try stringArgument(try argument(i), at: call.arguments[i]) }
        switch function {
        case .indexOf:
            guard let part = try string(0) else { return [] }
            if part.isEmpty { return [.integer(0)] }
            guard let range = text.range(of: part) else { return [.integer(-1)] }
            return [.integer(text.distance(from: text.startIndex, to: range.lowerBound))]
        case .substring:
            guard let start = try integerArgument(try argument(0), at: call.arguments[0]) else { return [] }
            let characters = Array(text)
            guard start >= 0, start < characters.count else { return [] }
            var length = characters.count - start
            if call.arguments.count > 1 {
                guard let requested = try integerArgument(try argument(1), at: call.arguments[1]) else { return [] }
                length = max(0, min(length, requested))
            }
            return [.string(String(characters[start..<(start + length)]))]
        case .startsWith:
            guard let part = try string(0) else { return [] }
            return [.boolean(text.hasPrefix(part))]
        case .endsWith:
            guard let part = try string(0) else { return [] }
            return [.boolean(text.hasSuffix(part))]
        case .contains:
            guard let part = try string(0) else { return [] }
            return [.boolean(part.isEmpty || text.contains(part))]
        case .upper:
            return [.string(text.uppercased())]
        case .lower:
            return [.string(text.lowercased())]
        case .replace:
            guard let pattern = try string(0), let replacement = try string(1) else { return [] }
            if pattern.isEmpty {
                return [.string(replacement + text.map { String($0) + replacement }.joined())]
            }
            return [.string(text.replacingOccurrences(of: pattern, with: replacement))]
        case .matches, .matchesFull:
            guard let pattern = try string(0) else { return [] }
            let regex = try compile(pattern, at: expression)
            if function == .matchesFull { return [.boolean((try? regex.wholeMatch(in: text)) != nil)] }
            return [.boolean((try? regex.firstMatch(in: text)) != nil)]
        case .replaceMatches:
            guard let pattern = try string(0), let replacement = try string(1) else { return [] }
            if pattern.isEmpty { return [.string(text)] }
            let regex = try compile(pattern, at: expression)
            let replaced = text.replacing(regex) { match in
                Self.substitute(replacement, groups: (0..<match.output.count).map { match.output[$0].substring.map(String.init) ?? "" })
            }
            return [.string(replaced)]
        case .length:
            return [.integer(text.count)]
        case .toChars:
            return text.map { .string(String($0)) }
        case .trim:
            return [.string(text.trimmingCharacters(in: .whitespacesAndNewlines))]
        case .split:
            guard let separator = try string(0) else { return [] }
            if separator.isEmpty { return text.map { .string(String($0)) } }
            return text.components(separatedBy: separator).map { .string($0) }
        case .encode, .decode:
            guard let format = try string(0) else { return [] }
            return try encoding(text, format: format, encode: function == .encode, at: expression).map { [.string($0)] } ?? []
        case .escape, .unescape:
            guard let format = try string(0) else { return [] }
            return [.string(try escaping(text, format: format, escape: function == .escape, at: expression))]
        default:
            throw error("\(function.rawValue)() is not a string function", at: expression)
        }
    }

    /// A regular expression in which `.` also matches line breaks, as FHIRPath requires; compiled
    /// once per pattern (`RegexCache`), since compiling costs far more than matching.
    private func compile(_ pattern: String, at expression: Expression) throws(FHIRPathError) -> Regex<AnyRegexOutput> {
        if let compiled = RegexCache.shared.regex(for: pattern) { return compiled.regex }
        do {
            let compiled = RegexCache.Compiled(try Regex(pattern).dotMatchesNewlines())
            RegexCache.shared.keep(compiled, for: pattern)
            return compiled.regex
        } catch {
            throw self.error("The regular expression '\(pattern)' is not valid", at: expression)
        }
    }

    /// The replacement text with `$1`…`$9` replaced by the groups matched.
    private static func substitute(_ replacement: String, groups: [String]) -> String {
        var out = ""
        var characters = replacement.makeIterator()
        while let c = characters.next() {
            guard c == "$" else {
                out.append(c)
                continue
            }
            guard let d = characters.next() else {
                out.append(c)
                break
            }
            if let n = d.wholeNumberValue, n < groups.count { out += groups[n] } else { out += "$" + String(d) }
        }
        return out
    }

    private func encoding(_ text: String, format: String, encode: Bool, at expression: Expression) throws(FHIRPathError) -> String? {
        switch format {
        case "base64", "urlbase64":
            if encode {
                var encoded = Data(text.utf8).base64EncodedString()
                if format == "urlbase64" { encoded = encoded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_") }
                return encoded
            }
            let standard = format == "urlbase64" ? text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") : text
            return Data(base64Encoded: standard).map { String(decoding: $0, as: UTF8.self) }
        case "hex":
            if encode { return text.utf8.map { String(format: "%02x", $0) }.joined() }
            var bytes: [UInt8] = []
            var digits = Array(text.utf8)[...]
            while digits.count >= 2 {
                guard let byte = UInt8(String(decoding: digits.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                bytes.append(byte)
                digits = digits.dropFirst(2)
            }
            return digits.isEmpty ? String(decoding: bytes, as: UTF8.self) : nil
        default:
            throw error("Unknown encoding '\(format)': use base64, urlbase64 or hex", at: expression)
        }
    }

    private func escaping(_ text: String, format: String, escape: Bool, at expression: Expression) throws(FHIRPathError) -> String {
        let pairs: [(String, String)]
        switch format {
        case "html": pairs = [("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\"", "&quot;"), ("'", "&#39;")]
        case "json": pairs = [("\\", "\\\\"), ("\"", "\\\""), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")]
        default: throw error("Unknown escape format '\(format)': use html or json", at: expression)
        }
        var out = text
        if escape {
            for (raw, escaped) in pairs { out = out.replacingOccurrences(of: raw, with: escaped) }
        } else {
            for (raw, escaped) in pairs.reversed() { out = out.replacingOccurrences(of: escaped, with: raw) }
        }
        return out
    }
}
