/// The FHIRPath of the element being visited (`Bundle.entry[2].resource.valueQuantity.value`),
/// kept as a stack of names and rendered only when a problem needs it.
struct FHIRPathBuilder: Sendable {
    private var names: [String] = []
    private var indexes: [Int] = []

    init(root: String) {
        names.reserveCapacity(16)
        indexes.reserveCapacity(16)
        names.append(root)
        indexes.append(-1)
    }

    /// Enters a child element; `index` is its position when the element repeats, nil otherwise.
    mutating func push(_ name: String, index: Int? = nil) {
        names.append(name)
        indexes.append(index ?? -1)
    }

    mutating func pop() {
        names.removeLast()
        indexes.removeLast()
    }

    /// The path with one more element, without entering it.
    func appending(_ name: String, index: Int? = nil) -> String {
        var copy = self
        copy.push(name, index: index)
        return copy.rendered
    }

    var rendered: String {
        var text = ""
        for (i, name) in names.enumerated() {
            if i > 0 { text += "." }
            text += name
            if indexes[i] >= 0 { text += "[\(indexes[i])]" }
        }
        return text
    }
}
