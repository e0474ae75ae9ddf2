/// A growable stack of values that the parser appends to while containers are open. When a container closes, its
/// elements are moved (not copied) into an exactly-sized array, so each object or array costs one allocation instead
/// of one per growth step, and no reference counting traffic.
struct ScratchStack<Element>: ~Copyable {
    private var base: UnsafeMutablePointer<Element>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 64) {
        self.capacity = Swift.max(capacity, 1)
        self.base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    @inline(__always)
    mutating func append(_ element: consuming Element) {
        if count == capacity { grow() }
        (base + count).initialize(to: element)
        count += 1
    }

    @inline(__always)
    subscript(position: Int) -> Element {
        _read { yield base[position] }
    }

    /// The last element; the stack must not be empty.
    var last: Element {
        @inline(__always) _read { yield base[count - 1] }
        @inline(__always) _modify { yield &base[count - 1] }
    }

    /// Removes the elements from `start` on and returns them as an array.
    @inline(__always)
    mutating func removeArray(from start: Int) -> [Element] {
        let moved = count - start
        guard moved > 0 else { return [] }
        let source = base + start
        count = start
        var result: [Element] = []
        result.reserveCapacity(moved)
        for offset in 0..<moved {
            result.append((source + offset).move())
        }
        return result
    }

    /// Removes (and destroys) the elements from `start` on.
    @inline(__always)
    mutating func removeAll(from start: Int) {
        guard count > start else { return }
        (base + start).deinitialize(count: count - start)
        count = start
    }

    private mutating func grow() {
        let newCapacity = capacity * 2
        let newBase = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        newBase.moveInitialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}
