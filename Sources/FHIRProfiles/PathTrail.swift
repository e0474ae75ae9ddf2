/// The FHIRPath of the element being visited (`Bundle.entry[1].resource.component[0].code`), kept
/// as a stack of the nodes' names and rendered only when an issue needs it.
struct PathTrail {
    private let root: String
    private var steps: [(name: String, index: Int?)] = []

    init(root: String) {
        self.root = root
        steps.reserveCapacity(12)
    }

    mutating func push(_ name: String, index: Int?) { steps.append((name, index)) }

    mutating func pop() { steps.removeLast() }

    var rendered: String {
        var text = root
        for step in steps {
            text += "." + step.name
            if let index = step.index { text += "[\(index)]" }
        }
        return text
    }

    /// The path with one more step, without entering it.
    func appending(_ name: String, index: Int? = nil) -> String {
        var copy = self
        copy.push(name, index: index)
        return copy.rendered
    }
}
