import FHIRCore
import StrictJSON

/// The rules that make a resource subject to an R4 core profile by its code, whatever it claims:
/// R4 requires every vital-signs Observation to conform to the vital-signs profile of its kind
/// (`Profiles/r4-core/profile-selection.json`, which names its source). The rules are tried in
/// order, and the first one whose codes one of the element's codings carries selects its profile.
/// Pure: the file's bytes in.
public struct ProfileSelectionRules: Sendable {
    public struct Rule: Sendable {
        /// The canonical URL of the profile it selects.
        public var profile: String
        public var resourceType: String
        /// The CodeableConcept element of the resource the codes are looked for in (`code`).
        public var element: String
        public var system: String
        public var codes: Set<String>

        public init(profile: String, resourceType: String, element: String, system: String, codes: Set<String>) {
            self.profile = profile
            self.resourceType = resourceType
            self.element = element
            self.system = system
            self.codes = codes
        }
    }

    /// A rule met by a resource: the rule and the code that met it.
    public struct Match: Sendable {
        public var rule: Rule
        public var code: String
    }

    public let rules: [Rule]
    /// The elements the rules look in, by resource type.
    private let elementsByType: [String: Set<String>]
    /// For each code a rule lists, the position of the first rule that lists it: a resource is
    /// matched by looking its codings up, not by trying every rule in turn.
    private let firstRule: [Key: Int]

    private struct Key: Hashable {
        var resourceType: String
        var element: String
        var system: String
        var code: String
    }

    public init(rules: [Rule] = []) {
        self.rules = rules
        var elements: [String: Set<String>] = [:]
        var first: [Key: Int] = [:]
        for (position, rule) in rules.enumerated() {
            elements[rule.resourceType, default: []].insert(rule.element)
            for code in rule.codes {
                let key = Key(resourceType: rule.resourceType, element: rule.element, system: rule.system, code: code)
                if first[key] == nil { first[key] = position }
            }
        }
        elementsByType = elements
        firstRule = first
    }

    /// The file's members, every one required; any other member is refused, so that a misspelt
    /// key never makes a rule silently select nothing.
    static let fileKeys: Set<String> = ["description", "source", "rules"]
    static let ruleKeys: Set<String> = ["profile", "resourceType", "element", "system", "codes"]
    /// More rules or codes than a selection table holds is a broken file.
    static let maxRules = 1_000
    static let maxCodes = 10_000

    /// Reads the rules file (`{"description", "source", "rules": [{"profile", "resourceType",
    /// "element", "system", "codes": [...]}]}`).
    public init(json bytes: [UInt8]) throws(ProfileDefinitionError) {
        let value: JSONValue
        do {
            value = try JSONReader().read(bytes)
        } catch {
            throw ProfileDefinitionError("The profile selection rules are not valid JSON: \(error)")
        }
        let file = try Self.members(value, keys: Self.fileKeys, at: "the file")
        for key in ["description", "source"] where file[key].flatMap(Self.string) == nil {
            throw ProfileDefinitionError("The profile selection rules need \"\(key)\" (a string): say what they are and where they come from")
        }
        guard case .array(let items)? = file["rules"], !items.isEmpty, items.count <= Self.maxRules else {
            throw ProfileDefinitionError("The profile selection rules need \"rules\": an array of 1 to \(Self.maxRules) rules")
        }
        var rules: [Rule] = []
        for (index, item) in items.enumerated() {
            let at = "rules[\(index)]"
            let rule = try Self.members(item, keys: Self.ruleKeys, at: at)
            func text(_ key: String) throws(ProfileDefinitionError) -> String {
                guard let found = rule[key].flatMap(Self.string), !found.isEmpty else {
                    throw ProfileDefinitionError("Profile selection rule \(at) needs \"\(key)\" (a non-empty string)")
                }
                return found
            }
            guard case .array(let codeValues)? = rule["codes"], !codeValues.isEmpty, codeValues.count <= Self.maxCodes else {
                throw ProfileDefinitionError("Profile selection rule \(at) needs \"codes\": an array of 1 to \(Self.maxCodes) codes")
            }
            let codes = codeValues.compactMap(Self.string)
            guard codes.count == codeValues.count, !codes.contains(where: \.isEmpty) else {
                throw ProfileDefinitionError("Profile selection rule \(at): every code must be a non-empty string")
            }
            rules.append(
                Rule(
                    profile: try text("profile"), resourceType: try text("resourceType"), element: try text("element"),
                    system: try text("system"), codes: Set(codes)))
        }
        self.init(rules: rules)
    }

    /// The first rule, in the file's order, the resource meets.
    public func match(_ resource: FHIRNode) -> Match? {
        let type = resource.type.name
        guard let elements = elementsByType[type] else { return nil }
        var best: (position: Int, code: String)?
        for concept in resource.children where elements.contains(concept.name) {
            for coding in concept.children where coding.name == "coding" {
                guard let system = coding.value(of: "system"), let code = coding.value(of: "code"),
                    let position = firstRule[Key(resourceType: type, element: concept.name, system: system, code: code)],
                    position < best?.position ?? Int.max
                else { continue }
                best = (position, code)
            }
        }
        return best.map { Match(rule: rules[$0.position], code: $0.code) }
    }

    private static func members(_ value: JSONValue, keys: Set<String>, at place: String) throws(ProfileDefinitionError) -> [String: JSONValue] {
        guard case .object(let members) = value else {
            throw ProfileDefinitionError("The profile selection rules: \(place) must be a JSON object")
        }
        if let unknown = members.first(where: { !keys.contains($0.key) }) {
            throw ProfileDefinitionError(
                "The profile selection rules: \(place) has the member \"\(unknown.key)\", which is not known (line \(unknown.line)); known: \(keys.sorted().joined(separator: ", "))"
            )
        }
        return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    private static func string(_ value: JSONValue) -> String? {
        if case .string(let text) = value { return text }
        return nil
    }
}
