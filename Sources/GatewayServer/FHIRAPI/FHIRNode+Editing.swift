import FHIRCore

extension FHIRNode {
    /// Sets (or replaces) a resource's id.
    mutating func setID(_ id: String) {
        children.removeAll { $0.name == "id" }
        append("id", value: id)
    }

    /// Replaces every `Reference.reference` found in `map`.
    mutating func rewriteReferences(_ map: [String: String]) {
        guard !map.isEmpty else { return }
        if type.name == "Reference", let index = children.firstIndex(where: { $0.name == "reference" }),
            let value = children[index].value, let replacement = map[value]
        {
            children[index].value = replacement
        }
        for i in children.indices where !children[i].type.isPrimitive {
            children[i].rewriteReferences(map)
        }
    }
}
