import FHIRCore
import FHIRModels
import Foundation

/// The resources handed in for scoring (the entries of a Bundle, or resources one by one), each
/// with the names other resources may reference it by and the FHIRPath of where it came from.
public struct CaseResources: Sendable {
    /// A class: the typed model is large, and scoring passes entries around; a copy of a struct
    /// retained every string and array inside the model (a tenth of the gateway's time under load).
    public final class Entry: Sendable {
        public let resource: AnyResource
        /// `Bundle.entry[2].resource`, or `Observation` for a resource given alone.
        public let path: String
        public let fullUrl: String?
        /// The resource's type and id, read once: the typed model has no cheap way back to them
        /// (`resource.node` builds the whole tree again).
        public let typeName: String
        public let resourceID: String?
        /// When the gateway first received the resource; nil when it arrives now (the `score`
        /// command, or a resource in the current request).
        public let receivedAt: Date?

        /// The reference to put in `basis`: the fullUrl when there is one, else `Type/id`.
        public var reference: String? {
            fullUrl ?? resourceID.map { "\(typeName)/\($0)" }
        }

        /// - Parameter node: the tree `resource` was read from, when the caller has it.
        ///
        /// `resource` is owned (`__owned`; `consuming` crashes the 6.3 compiler here): the typed
        /// model is moved in, not copied: a copy would retain every string and array inside it,
        /// and the caller's original would then be released, on every request.
        public init(resource: __owned AnyResource, path: String, fullUrl: String?, node: FHIRNode? = nil, receivedAt: Date? = nil) {
            self.path = path
            self.receivedAt = receivedAt
            self.fullUrl = fullUrl
            let source = node ?? resource.node
            typeName = source.type.name
            resourceID = source.value(of: "id")
            self.resource = resource
        }

        /// Every string a `Reference.reference` may use for this resource.
        var keys: Set<String> {
            var keys: Set<String> = []
            if let fullUrl { keys.insert(fullUrl) }
            if let id = resourceID { keys.insert("\(typeName)/\(id)") }
            return keys
        }
    }

    public let entries: [Entry]
    /// Each name an entry may be referenced by, to its index (built once, not per reference).
    private let indexByKey: [String: Int]

    public init(entries: [Entry]) {
        self.entries = entries
        var index: [String: Int] = [:]
        for (i, entry) in entries.enumerated() {
            for key in entry.keys where index[key] == nil { index[key] = i }
        }
        indexByKey = index
    }

    /// Reads resources as trees: a Bundle contributes its entries (with their fullUrls), any other
    /// resource itself.
    public init(documents: [FHIRNode]) throws(FHIRModelError) {
        var entries: [Entry] = []
        for node in documents {
            if node.type.name == "Bundle" {
                for (i, entry) in node.children(named: "entry").enumerated() {
                    guard let resource = entry.child(named: "resource") else { continue }
                    entries.append(
                        Entry(
                            resource: try AnyResource(node: resource), path: "Bundle.entry[\(i)].resource", fullUrl: entry.value(of: "fullUrl"),
                            node: resource)
                    )
                }
            } else {
                entries.append(Entry(resource: try AnyResource(node: node), path: node.type.name, fullUrl: nil, node: node))
            }
        }
        self.init(entries: entries)
    }

    /// The index of the entry a reference points at, if it is among these resources.
    func resolve(_ reference: String?) -> Int? {
        reference.flatMap { indexByKey[$0] }
    }
}
