/// Finds duplicate keys in one object: a linear scan over the members while the object is small, a hash set from
/// `threshold` members on, so even an object with a million keys is checked in linear time.
///
/// Keys are compared by their UTF-8 bytes (JSON member names are sequences of code points), not by Swift's
/// canonical-equivalence `String` equality: `"é"` and `"e\u0301"` are different keys.
struct DuplicateKeyDetector {
    static let threshold = 16

    private var index: Set<KeyBytes>?

    init() {}

    /// Records `key`; returns false when one of the object's members so far (`members` from `start` on) has it.
    @inline(__always)
    mutating func insert(_ key: String, members: borrowing ScratchStack<JSONMember>, from start: Int) -> Bool {
        if index != nil {
            return index?.insert(KeyBytes(key)).inserted ?? true
        }
        if members.count - start < Self.threshold {
            let length = key.utf8.count
            for position in start..<members.count where members[position].key.utf8.count == length {
                if KeyBytes.sameBytes(members[position].key, key) { return false }
            }
            return true
        }
        return buildIndex(adding: key, members: members, from: start)
    }

    private mutating func buildIndex(adding key: String, members: borrowing ScratchStack<JSONMember>, from start: Int) -> Bool {
        var set = Set<KeyBytes>(minimumCapacity: (members.count - start) * 2)
        for position in start..<members.count {
            set.insert(KeyBytes(members[position].key))
        }
        let inserted = set.insert(KeyBytes(key)).inserted
        index = set
        return inserted
    }
}

/// A key hashed and compared by its UTF-8 bytes.
struct KeyBytes: Hashable {
    let string: String

    init(_ string: String) {
        self.string = string
    }

    static func == (lhs: KeyBytes, rhs: KeyBytes) -> Bool {
        sameBytes(lhs.string, rhs.string)
    }

    func hash(into hasher: inout Hasher) {
        let hashed: Void? = string.utf8.withContiguousStorageIfAvailable { bytes in
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
        if hashed == nil {
            for byte in string.utf8 { hasher.combine(byte) }
        }
    }

    /// Byte-wise equality. Equal bytes imply equal `String`s, so the (fast, usually ASCII) `String` comparison rules
    /// out most pairs and the byte comparison only settles canonical-equivalence cases.
    @inline(__always)
    static func sameBytes(_ lhs: String, _ rhs: String) -> Bool {
        lhs == rhs && lhs.utf8.elementsEqual(rhs.utf8)
    }
}
