/// Every problem found in a configuration (the file, its environment overrides, the model and the
/// Profiles it names), each in words an operator can act on: the key, what is wrong, what to set.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var problems: [String]

    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String { problems.joined(separator: "\n") }
}
