import Foundation

/// Parses the tokens of an expression into an `Expression` tree, by precedence climbing over the
/// FHIRPath N1 grammar (loosest first): `implies`; `or` `xor`; `and`; `in` `contains`; `=` `~` `!=`
/// `!~`; `<` `>` `<=` `>=`; `|`; `is` `as`; `+` `-` `&`; `*` `/` `div` `mod`; unary `+` `-`; then
/// invocations and indexers.
struct Parser {
    static let maxLength = 4096
    static let maxDepth = 128

    private let text: String
    private let tokens: [Token]
    private var position = 0
    private var depth = 0

    init(_ text: String) throws(FHIRPathError) {
        guard text.utf8.count <= Self.maxLength else {
            throw FHIRPathError(.syntax, "The expression is \(text.utf8.count) bytes long; the limit is \(Self.maxLength)")
        }
        self.text = text
        self.tokens = try Lexer.tokens(text)
    }

    mutating func parse() throws(FHIRPathError) -> Expression {
        guard current.kind != .end else { throw error("The expression is empty", at: current.offset) }
        let expression = try parseBinary(level: 0)
        guard current.kind == .end else { throw error("Unexpected \(describe(current)) after a complete expression", at: current.offset) }
        return expression
    }

    /// A node, refused when the tree would be deeper than the limit.
    private func node(_ kind: Expression.Kind, at offset: Int) throws(FHIRPathError) -> Expression {
        let expression = Expression(kind: kind, offset: offset)
        guard expression.depth <= Self.maxDepth else {
            throw error("The expression is nested more than \(Self.maxDepth) levels deep", at: offset)
        }
        return expression
    }

    // MARK: Tokens

    private var current: Token { tokens[min(position, tokens.count - 1)] }

    private mutating func advance() { position += 1 }

    private func error(_ message: String, at offset: Int, kind: FHIRPathError.Kind = .syntax) -> FHIRPathError {
        FHIRPathError(kind, message, at: offset, in: text)
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .identifier(let name): "'\(name)'"
        case .delimitedIdentifier(let name): "`\(name)`"
        case .string(let value): "the string '\(value)'"
        case .number(let value): "the number \(value)"
        case .temporal(let value): "@\(value)"
        case .externalConstant(let name): "%\(name)"
        case .special(let name): "$\(name)"
        case .symbol(let symbol): "'\(symbol)'"
        case .end: "the end of the expression"
        }
    }

    private func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }

    private func isKeyword(_ word: String) -> Bool { current.kind == .identifier(word) }

    private mutating func expect(_ symbol: String) throws(FHIRPathError) {
        guard isSymbol(symbol) else { throw error("Expected '\(symbol)' but found \(describe(current))", at: current.offset) }
        advance()
    }

    private mutating func enter() throws(FHIRPathError) {
        depth += 1
        if depth > Self.maxDepth {
            throw error("The expression is nested more than \(Self.maxDepth) levels deep", at: current.offset)
        }
    }

    // MARK: Binary operators

    private static let levels: [[String]] = [
        ["implies"], ["or", "xor"], ["and"], ["in", "contains"], ["=", "~", "!=", "!~"], ["<", ">", "<=", ">="], ["|"],
        ["is", "as"], ["+", "-", "&"], ["*", "/", "div", "mod"],
    ]

    private func operatorAt(level: Int) -> String? {
        let candidates = Self.levels[level]
        switch current.kind {
        case .symbol(let symbol) where candidates.contains(symbol): return symbol
        case .identifier(let word) where candidates.contains(word): return word
        default: return nil
        }
    }

    private mutating func parseBinary(level: Int) throws(FHIRPathError) -> Expression {
        if level == Self.levels.count { return try parseUnary() }
        var left = try parseBinary(level: level + 1)
        while let symbol = operatorAt(level: level) {
            let offset = current.offset
            advance()
            if symbol == "is" || symbol == "as" {
                let type = try parseTypeSpecifier()
                left = try node(symbol == "is" ? .isType(left, type) : .asType(left, type), at: offset)
                continue
            }
            guard let op = BinaryOperator(rawValue: symbol) else { throw error("Unknown operator \(symbol)", at: offset) }
            let right = try parseBinary(level: level + 1)
            left = try node(.binary(op, left, right), at: offset)
        }
        return left
    }

    private mutating func parseTypeSpecifier() throws(FHIRPathError) -> TypeSpecifier {
        let offset = current.offset
        guard let first = identifierName(current) else { throw error("Expected a type name but found \(describe(current))", at: offset) }
        advance()
        if isSymbol("."), position + 1 < tokens.count, let second = identifierName(tokens[position + 1]) {
            advance()
            advance()
            return TypeSpecifier(namespace: first, name: second)
        }
        return TypeSpecifier(namespace: nil, name: first)
    }

    private func identifierName(_ token: Token) -> String? {
        switch token.kind {
        case .identifier(let name), .delimitedIdentifier(let name): name
        default: nil
        }
    }

    // MARK: Unary, postfix, terms

    private mutating func parseUnary() throws(FHIRPathError) -> Expression {
        guard isSymbol("-") || isSymbol("+") else { return try parsePostfix() }
        let negative = isSymbol("-")
        let offset = current.offset
        advance()
        try enter()
        defer { depth -= 1 }
        let operand = try parseUnary()
        guard negative else { return operand }
        // A negative number is a literal, so that `-5` is an Integer and `(-5.5 'mg')` a Quantity.
        if case .literal(let value, let scale) = operand.kind {
            switch value {
            case .integer(let n): return try node(.literal(.integer(-n), scale: 0), at: offset)
            case .decimal(let d): return try node(.literal(.decimal(-d), scale: scale), at: offset)
            case .quantity(var q):
                q.value = -q.value
                return try node(.literal(.quantity(q), scale: scale), at: offset)
            default: break
            }
        }
        return try node(.negate(operand), at: offset)
    }

    private mutating func parsePostfix() throws(FHIRPathError) -> Expression {
        var expression = try parseTerm()
        while true {
            if isSymbol(".") {
                advance()
                let offset = current.offset
                guard let name = identifierName(current) else {
                    throw error("Expected a name or a function after '.' but found \(describe(current))", at: offset)
                }
                advance()
                if isSymbol("("), case .identifier = tokens[position - 1].kind {
                    let call = try parseCall(name, at: offset)
                    expression = try node(.function(expression, call), at: offset)
                } else {
                    expression = try node(.member(expression, name), at: offset)
                }
            } else if isSymbol("[") {
                let offset = current.offset
                advance()
                try enter()
                let index = try parseBinary(level: 0)
                depth -= 1
                try expect("]")
                expression = try node(.indexer(expression, index), at: offset)
            } else {
                return expression
            }
        }
    }

    private mutating func parseTerm() throws(FHIRPathError) -> Expression {
        let token = current
        let offset = token.offset
        switch token.kind {
        case .number(let text):
            advance()
            let scale = text.firstIndex(of: ".").map { text.distance(from: $0, to: text.endIndex) - 1 } ?? 0
            guard let decimal = Decimal(string: text, locale: nil) else { throw error("The number \(text) cannot be read", at: offset) }
            // A quantity: a number followed by a UCUM unit in quotes or a calendar keyword.
            if case .string(let unit) = current.kind {
                advance()
                return try node(.literal(.quantity(FHIRPathQuantity(value: decimal, unit: unit)), scale: scale), at: offset)
            }
            if case .identifier(let word) = current.kind, FHIRPathQuantity.calendarKeywords[word] != nil {
                advance()
                return try node(.literal(.quantity(FHIRPathQuantity(value: decimal, unit: word)), scale: scale), at: offset)
            }
            if !text.contains(".") {
                guard let integer = Int(text), integer <= Int(Int32.max) + 1 else {
                    throw error("The integer \(text) is out of range (FHIRPath integers are 32-bit)", at: offset)
                }
                return try node(.literal(.integer(integer), scale: 0), at: offset)
            }
            return try node(.literal(.decimal(decimal), scale: scale), at: offset)
        case .string(let value):
            advance()
            return try node(.literal(.string(value), scale: 0), at: offset)
        case .temporal(let text):
            advance()
            let value: FHIRPathValue?
            if text.hasPrefix("T") {
                value = FHIRPathTemporal.time(text.dropFirst()).map { .time($0) }
            } else if text.contains("T") {
                value = FHIRPathTemporal.dateTime(text).map { .dateTime($0) }
            } else {
                value = FHIRPathTemporal.date(text).map { .date($0) }
            }
            guard let value else { throw error("@\(text) is not a valid date or time", at: offset) }
            return try node(.literal(value, scale: 0), at: offset)
        case .externalConstant(let name):
            advance()
            return try node(.variable(name), at: offset)
        case .special(let name):
            advance()
            return try node(name == "this" ? .this : name == "index" ? .index : .total, at: offset)
        case .symbol("("):
            advance()
            try enter()
            let inner = try parseBinary(level: 0)
            depth -= 1
            try expect(")")
            return inner
        case .symbol("{"):
            advance()
            try expect("}")
            return try node(.empty, at: offset)
        case .identifier(let name):
            advance()
            if name == "true" || name == "false" {
                return try node(.literal(.boolean(name == "true"), scale: 0), at: offset)
            }
            if isSymbol("(") {
                return try node(.function(nil, try parseCall(name, at: offset)), at: offset)
            }
            return try node(.identifier(name), at: offset)
        case .delimitedIdentifier(let name):
            advance()
            return try node(.identifier(name), at: offset)
        default:
            throw error("Expected a value, a name or '(' but found \(describe(token))", at: offset)
        }
    }

    private mutating func parseCall(_ name: String, at offset: Int) throws(FHIRPathError) -> FunctionCall {
        guard let function = Function(rawValue: name) else {
            throw error("Unknown function '\(name)()'", at: offset, kind: .semantic)
        }
        try expect("(")
        try enter()
        defer { depth -= 1 }
        var arguments: [Expression] = []
        if !isSymbol(")") {
            arguments.append(try parseBinary(level: 0))
            while isSymbol(",") {
                advance()
                arguments.append(try parseBinary(level: 0))
            }
        }
        try expect(")")
        guard function.arity.contains(arguments.count) else {
            let expected =
                function.arity.lowerBound == function.arity.upperBound
                ? "\(function.arity.lowerBound)" : "\(function.arity.lowerBound) to \(function.arity.upperBound)"
            throw error("\(name)() takes \(expected) argument(s), not \(arguments.count)", at: offset, kind: .semantic)
        }
        var type: TypeSpecifier?
        if function == .is || function == .as || function == .ofType {
            switch arguments[0].kind {
            case .identifier(let typeName): type = TypeSpecifier(namespace: nil, name: typeName)
            case .member(let base, let typeName):
                if case .identifier(let namespace) = base.kind { type = TypeSpecifier(namespace: namespace, name: typeName) }
            default: break
            }
            guard type != nil else { throw error("\(name)() takes a type name such as Quantity or FHIR.Patient", at: offset, kind: .semantic) }
        }
        return FunctionCall(function: function, arguments: arguments, type: type)
    }
}
