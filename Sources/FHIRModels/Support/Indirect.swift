/// Stores a value out of line, so that types that contain each other (`Reference.identifier` is an
/// `Identifier`, whose `assigner` is a `Reference`) can both be value types. The generator puts it
/// on the one property of each such cycle.
@propertyWrapper
public struct Indirect<Value: Sendable & Hashable>: Sendable, Hashable {
    private indirect enum Storage: Sendable, Hashable {
        case value(Value)
    }

    private var storage: Storage

    public init(wrappedValue: Value) {
        storage = .value(wrappedValue)
    }

    public var wrappedValue: Value {
        get {
            switch storage {
            case .value(let value): value
            }
        }
        set { storage = .value(newValue) }
    }
}
