import Foundation

/// The metric names a PromQL expression reads: its identifiers, less function names, keywords,
/// label matchers (`{…}`), range and subquery brackets (`[…]`), the label lists of `by`,
/// `without`, `on`, `ignoring`, `group_left` and `group_right`, strings, numbers and durations, and
/// Grafana's variables (`$job`, `${instance}`, `$__rate_interval`).
enum PromQLMetricNames {
    /// Keywords, binary operators and aggregations (`sum by (job) (…)` puts a label list between
    /// the aggregation and its parenthesis) that look like identifiers.
    static let keywords: Set<String> = [
        "and", "or", "unless", "bool", "offset", "inf", "nan", "atan2", "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
        "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    ]
    /// Keywords followed by a list of label names in parentheses.
    static let labelListKeywords: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right"]

    static func names(in expression: String) -> Set<String> {
        let characters = Array(expression.unicodeScalars)
        var names: Set<String> = []
        var index = 0

        func skip(past closing: Unicode.Scalar) {
            index += 1
            while index < characters.count, characters[index] != closing {
                if characters[index] == "\"" || characters[index] == "'" || characters[index] == "`" {
                    skipString()
                } else {
                    index += 1
                }
            }
            index += 1
        }
        func skipString() {
            let quote = characters[index]
            index += 1
            while index < characters.count, characters[index] != quote {
                index += characters[index] == "\\" && quote != "`" ? 2 : 1
            }
            index += 1
        }
        func nextNonSpace(from start: Int) -> Unicode.Scalar? {
            var position = start
            while position < characters.count, characters[position].properties.isWhitespace { position += 1 }
            return position < characters.count ? characters[position] : nil
        }

        while index < characters.count {
            let character = characters[index]
            switch character {
            case "\"", "'", "`":
                skipString()
            case "{":
                skip(past: "}")
            case "[":
                skip(past: "]")
            case "#":
                while index < characters.count, characters[index] != "\n" { index += 1 }
            case "$":
                index += 1
                if index < characters.count, characters[index] == "{" {
                    skip(past: "}")
                } else {
                    while index < characters.count, isIdentifierCharacter(characters[index]) { index += 1 }
                }
            case "0"..."9", ".":
                // Numbers, durations (5m, 1h30m) and exponents (1e3) end together.
                while index < characters.count, isIdentifierCharacter(characters[index]) || characters[index] == "." { index += 1 }
            default:
                guard isIdentifierStart(character) else {
                    index += 1
                    continue
                }
                let start = index
                while index < characters.count, isIdentifierCharacter(characters[index]) { index += 1 }
                let word = String(String.UnicodeScalarView(characters[start..<index]))
                let next = nextNonSpace(from: index)
                if labelListKeywords.contains(word.lowercased()) {
                    if next == "(" {
                        while index < characters.count, characters[index] != "(" { index += 1 }
                        skip(past: ")")
                    }
                } else if next == "(" || keywords.contains(word.lowercased()) {
                    continue  // a function or an aggregation, or an operator
                } else {
                    names.insert(word)
                }
            }
        }
        return names
    }

    /// The metric of a Grafana variable's `label_values(metric{…}, label)` query, nil for another query.
    static func names(inVariableQuery query: String) -> Set<String>? {
        let trimmed = query.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("label_values("), trimmed.hasSuffix(")") else { return nil }
        let arguments = trimmed.dropFirst("label_values(".count).dropLast()
        // label_values(label) names no metric; label_values(series, label) does.
        guard let comma = arguments.lastIndex(of: ",") else { return [] }
        return names(in: String(arguments[..<comma]))
    }

    /// The expressions of a Prometheus rules file: each `expr:` value, on its line or as a block
    /// (`expr: |`) on the lines indented below it.
    static func expressions(inRules text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var expressions: [String] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            guard let range = line.range(of: "expr:"), line[..<range.lowerBound].allSatisfy({ $0 == " " || $0 == "-" }) else { continue }
            let value = line[range.upperBound...].trimmingCharacters(in: .whitespaces)
            guard ["|", "|-", ">", ">-"].contains(value) else {
                expressions.append(unquoted(value))
                continue
            }
            let indentation = line.prefix { $0 == " " || $0 == "-" }.count
            var block: [String] = []
            while index < lines.count, lines[index].trimmingCharacters(in: .whitespaces).isEmpty || lines[index].prefix(while: { $0 == " " }).count > indentation {
                block.append(lines[index])
                index += 1
            }
            expressions.append(block.joined(separator: "\n"))
        }
        return expressions
    }

    private static func unquoted(_ value: String) -> String {
        if value.count >= 2, let first = value.first, first == "'" || first == "\"", value.last == first {
            return String(value.dropFirst().dropLast())
        }
        return value
    }

    /// The metric families of a Prometheus text exposition: every sample's name, every
    /// `# TYPE` and `# HELP` name, and a histogram's `_bucket`, `_sum` and `_count` series.
    static func exposed(in exposition: String) -> Set<String> {
        var names: Set<String> = []
        for line in exposition.split(separator: "\n") {
            let words = line.split(separator: " ")
            if line.hasPrefix("# TYPE ") || line.hasPrefix("# HELP "), words.count >= 3 {
                let name = String(words[2])
                names.insert(name)
                if line.hasPrefix("# TYPE "), words.count >= 4, words[3] == "histogram" || words[3] == "summary" {
                    names.formUnion(["\(name)_bucket", "\(name)_sum", "\(name)_count"])
                }
            } else if !line.hasPrefix("#") {
                names.insert(String(line.prefix { $0 != "{" && $0 != " " }))
            }
        }
        return names
    }

    private static func isIdentifierStart(_ character: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(character) || ("A"..."Z").contains(character) || character == "_" || character == ":"
    }

    private static func isIdentifierCharacter(_ character: Unicode.Scalar) -> Bool {
        isIdentifierStart(character) || ("0"..."9").contains(character)
    }
}
