import FHIRCore

/// One element of a profile's snapshot, compiled for validation: what an instance's element must
/// be, and the elements and slices below it. A class, so that the walk shares the tree.
final class ProfileElement: Sendable {
    /// `Observation.component:adc.code`
    let id: String
    /// The last segment of the path as the snapshot writes it: `value[x]`, `valueQuantity`, `code`.
    let segment: String
    /// Its index among the elements of each R4 type its parent may have, by type: an instance's
    /// children carry that index (`FHIRNode.elementIndex`), so they are found without comparing
    /// names.
    let elementIndexes: [ObjectIdentifier: Int]
    let sliceName: String?
    let min: Int
    /// `Int.max` for `*`.
    let max: Int
    /// The base definition's cardinality: base validation already enforces it, so only a
    /// narrower one is checked here.
    let baseMin: Int
    let baseMax: Int
    /// The types allowed (`Quantity`, `Reference`); empty when the snapshot names none.
    let typeCodes: [String]
    /// For a Reference: the resource types its target may have (from `targetProfile`); empty
    /// when any target is allowed.
    let targetTypes: [String]
    let fixed: FHIRNode?
    let pattern: FHIRNode?
    let binding: Binding?
    let invariants: [Invariant]
    let slicing: Slicing?
    /// The elements below, in the snapshot's order (slices of a child follow its entry).
    let children: [ProfileElement]
    /// The elements below that have something to check (`hasChecks`): the ones the validator
    /// walks. A snapshot repeats every element of the base; most constrain nothing more.
    let checked: [ProfileElement]

    struct Binding: Sendable {
        enum Strength: String, Sendable { case required, extensible, preferred, example }
        let strength: Strength
        let valueSet: String
    }

    struct Slicing: Sendable {
        struct Discriminator: Sendable {
            enum Kind: String, Sendable { case value, pattern, type, exists, profile }
            let kind: Kind
            /// `$this`, `code`, `coding.system`.
            let path: String
            /// The path's steps: none for `$this`.
            let steps: [String]

            init(kind: Kind, path: String) {
                self.kind = kind
                self.path = path
                steps = path == "$this" ? [] : path.split(separator: ".").map(String.init)
            }
        }
        let discriminators: [Discriminator]
        /// `closed`: an element that fits no slice is an error.
        let closed: Bool
        /// The slices, in order.
        let slices: [ProfileElement]
    }

    init(
        id: String, segment: String, elementIndexes: [ObjectIdentifier: Int], sliceName: String?, min: Int, max: Int, baseMin: Int, baseMax: Int, typeCodes: [String],
        targetTypes: [String], fixed: FHIRNode?, pattern: FHIRNode?, binding: Binding?, invariants: [Invariant], slicing: Slicing?,
        children: [ProfileElement]
    ) {
        self.id = id
        self.segment = segment
        self.elementIndexes = elementIndexes
        choiceBase = segment.hasSuffix("[x]") ? String(segment.dropLast(3)) : nil
        self.sliceName = sliceName
        self.min = min
        self.max = max
        self.baseMin = baseMin
        self.baseMax = baseMax
        self.typeCodes = typeCodes
        self.targetTypes = targetTypes
        self.fixed = fixed
        self.pattern = pattern
        self.binding = binding
        self.invariants = invariants
        self.slicing = slicing
        self.children = children
        checked = children.filter(\.hasChecks)
    }

    /// Whether validating an instance's element against this one can find anything: a value,
    /// binding, invariant, slicing, type or target restriction, a cardinality narrower than the
    /// base's, or such an element below.
    var hasChecks: Bool {
        fixed != nil || pattern != nil || binding != nil || !invariants.isEmpty || slicing != nil || !targetTypes.isEmpty
            || (choiceBase != nil && !typeCodes.isEmpty) || min > baseMin || max < baseMax || !checked.isEmpty
    }

    /// The element name an instance's child is matched on: `value` for `value[x]`; nil for an
    /// element that is no choice.
    let choiceBase: String?

    /// Its index among the elements of `type` (the type of the instance's node holding it), or
    /// nil when that type has no such element.
    func elementIndex(in type: FHIRType) -> Int? {
        if let index = elementIndexes[ObjectIdentifier(type)] { return index }
        let name = choiceBase ?? segment
        return type.elements.firstIndex { $0.name == name }
    }

    /// The descendant elements along a dotted path (`coding.system`), slices left aside.
    func descendant(_ path: ArraySlice<String>) -> ProfileElement? {
        guard let first = path.first else { return self }
        guard let child = children.first(where: { $0.sliceName == nil && ($0.segment == first || $0.choiceBase == first) }) else {
            return nil
        }
        return child.descendant(path.dropFirst())
    }
}

/// A profile's invariant, compiled once.
public struct Invariant: Sendable {
    public let key: String
    public let severity: FHIRIssue.Severity
    public let human: String
    public let expression: String
    let check: InvariantCheck
}

/// Evaluates a compiled invariant on an element (`focus`) of a resource: true or false, nil when
/// the expression gives nothing; throws when it cannot be evaluated.
public typealias InvariantCheck = @Sendable (_ focus: FHIRNode, _ resource: FHIRNode) throws -> Bool?

/// Compiles an invariant's FHIRPath expression (the FHIRPath engine does it; the validator
/// itself does not depend on one).
public typealias InvariantCompiler = @Sendable (_ expression: String) throws -> InvariantCheck
