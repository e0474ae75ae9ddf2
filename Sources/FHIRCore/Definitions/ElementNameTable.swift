/// The element names of one type (`status`, `valueQuantity`, …) and what each stands for, looked up
/// by the name's UTF-8 bytes with an open-addressed table and a short FNV-1a hash. Reading looks up
/// every JSON member and XML element name here; `Dictionary<String, _>` hashes with SipHash and
/// cost about a twentieth of reading a typical Observation.
struct ElementNameTable: Sendable {
    private let names: [String]
    private let matches: [ElementMatch]
    /// Index into `names`, or -1 for an empty slot; the count is a power of two.
    private let slots: [Int32]
    private let mask: Int

    init(_ entries: [(name: String, match: ElementMatch)]) {
        var size = 8
        while size < entries.count * 2 { size *= 2 }
        var slots = [Int32](repeating: -1, count: size)
        for (index, entry) in entries.enumerated() {
            var slot = Self.hash(entry.name) & (size - 1)
            while slots[slot] >= 0 { slot = (slot + 1) & (size - 1) }
            slots[slot] = Int32(index)
        }
        self.names = entries.map(\.name)
        self.matches = entries.map(\.match)
        self.slots = slots
        self.mask = size - 1
    }

    func match(_ name: String) -> ElementMatch? {
        var slot = Self.hash(name) & mask
        while true {
            let index = Int(slots[slot])
            if index < 0 { return nil }
            if names[index] == name { return matches[index] }
            slot = (slot + 1) & mask
        }
    }

    private static func hash(_ name: String) -> Int {
        // Over the contiguous bytes: iterating `String.UTF8View` byte by byte costs several times more.
        name.utf8.withContiguousStorageIfAvailable(hash) ?? Array(name.utf8).withUnsafeBufferPointer(hash)
    }

    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }
}
