import StrictJSON

/// Reads `text` (as UTF-8) with the given limits.
func read(_ text: String, limits: JSONLimits = .default) throws(JSONSyntaxError) -> JSONValue {
    try JSONReader(limits: limits).read(Array(text.utf8))
}

/// The error JSONReader reports for `bytes`, or nil when it accepts them.
func readError(_ bytes: [UInt8], limits: JSONLimits = .default) -> JSONSyntaxError? {
    do {
        _ = try JSONReader(limits: limits).read(bytes)
        return nil
    } catch {
        return error
    }
}

/// The error JSONReader reports for `text`, or nil when it accepts it.
func readError(_ text: String, limits: JSONLimits = .default) -> JSONSyntaxError? {
    readError(Array(text.utf8), limits: limits)
}

/// The single string inside a one-element array document, e.g. `["a\nb"]`.
func readSingleString(_ document: String) throws -> String? {
    guard case .array(let elements) = try read(document), elements.count == 1, case .string(let string) = elements[0] else {
        return nil
    }
    return string
}

extension JSONValue {
    /// The value of member `key` when self is an object.
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    var members: [JSONMember]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    var elements: [JSONValue]? {
        guard case .array(let elements) = self else { return nil }
        return elements
    }
}
