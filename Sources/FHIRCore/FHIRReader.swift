import SafeXML
import StrictJSON

/// The limits applied to every document, whatever its format.
public struct FHIRReadLimits: Sendable, Hashable {
    public var json: JSONLimits
    public var xml: XMLLimits

    public init(json: JSONLimits = .default, xml: XMLLimits = .default) {
        self.json = json
        self.xml = xml
    }

    public static let `default` = FHIRReadLimits()

    /// The largest document either format accepts.
    public var maxBytes: Int { max(json.maxBytes, xml.maxBytes) }
}

/// What reading a document gave: the resource (nil when it could not be read at all) and every
/// problem found, from syntax to invariants.
public struct FHIRReadResult: Sendable {
    public var resource: FHIRNode?
    public var issues: [FHIRIssue]
    public var format: FHIRFormat?

    /// True when there is a resource and no error or fatal issue.
    public var isValid: Bool { resource != nil && !issues.hasErrors }

    public var operationOutcome: FHIRNode { .operationOutcome(issues) }
}

/// Reads FHIR JSON or XML into the element tree and validates it: the entry point for everything
/// that takes FHIR in. Pure: bytes in, tree and issues out.
public struct FHIRReader: Sendable {
    public let definitions: R4Definitions
    public let limits: FHIRReadLimits
    public let validator: FHIRValidator

    public init(definitions: R4Definitions = .r4, limits: FHIRReadLimits = .default) {
        self.definitions = definitions
        self.limits = limits
        self.validator = FHIRValidator(definitions: definitions)
    }

    /// Reads and validates a document; the format is detected from the content unless given.
    public func read(_ bytes: [UInt8], format: FHIRFormat? = nil, validate: Bool = true) -> FHIRReadResult {
        guard let format = format ?? FHIRFormat.detect(bytes) else {
            return FHIRReadResult(
                resource: nil,
                issues: [
                    FHIRIssue(
                        severity: .fatal,
                        code: .structure,
                        diagnostics: bytes.isEmpty
                            ? "The document is empty"
                            : "The document is neither FHIR JSON (starting with '{') nor FHIR XML (starting with '<')"
                    )
                ],
                format: nil
            )
        }
        // JSON is validated while it is read.
        if format == .json { return readJSON(bytes, validate: validate) }
        var result = readXML(bytes)
        if validate, let resource = result.resource {
            result.issues.append(contentsOf: validator.validate(resource))
        }
        return result
    }

    private func readJSON(_ bytes: [UInt8], validate: Bool) -> FHIRReadResult {
        let xhtmlReader = XMLFragmentParser(limits: limits.xml)
        let decoded: Result<(FHIRNode?, [FHIRIssue]), JSONSyntaxError> = bytes.withUnsafeBytes { buffer in
            do throws(JSONSyntaxError) {
                var decoder = FHIRJSONDecoder(
                    stream: try JSONStream(buffer, limits: limits.json), definitions: definitions, xhtmlReader: xhtmlReader, validates: validate)
                let resource = try decoder.decodeDocument()
                return .success((resource, decoder.issues))
            } catch {
                return .failure(error)
            }
        }
        switch decoded {
        case .success(let (resource, issues)):
            return FHIRReadResult(resource: resource, issues: issues, format: .json)
        case .failure(let streamError):
            // The tree reader finds the same first error and also says where in the document it is.
            var error = streamError
            do {
                _ = try JSONReader(limits: limits.json).read(bytes)
            } catch let located {
                error = located
            }
            var issue = Self.issue(for: error)
            if !error.path.isEmpty {
                issue.expression = Self.expression(for: error.path, root: Self.sniffResourceType(bytes) ?? "$")
            }
            return FHIRReadResult(resource: nil, issues: [issue], format: .json)
        }
    }

    private func readXML(_ bytes: [UInt8]) -> FHIRReadResult {
        let root: XMLElement
        do {
            root = try XMLDocumentReader(limits: limits.xml).read(bytes)
        } catch {
            return FHIRReadResult(resource: nil, issues: [Self.issue(for: error)], format: .xml)
        }
        var decoder = FHIRXMLDecoder(definitions: definitions)
        let resource = decoder.decodeDocument(root)
        return FHIRReadResult(resource: resource, issues: decoder.issues, format: .xml)
    }

    static func issue(for error: JSONSyntaxError) -> FHIRIssue {
        let code: FHIRIssue.Code =
            switch error.kind {
            case .limitExceeded: .tooLong
            case .duplicateKey: .duplicate
            default: .structure
            }
        return FHIRIssue(
            severity: .fatal,
            code: code,
            diagnostics: "The JSON cannot be read: \(error.message)",
            line: error.line,
            column: error.column
        )
    }

    /// `Bundle.entry[0].resource.name[0]` for the path of a JSON syntax error.
    static func expression(for path: [JSONPathComponent], root: String) -> String {
        var text = root
        for component in path {
            switch component {
            case .key(let key): text += "." + key
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    /// The type of a document that could not be parsed, from the first `"resourceType": "X"` in it
    /// (conventionally the root's), for the expression of the syntax error; nil if there is none.
    static func sniffResourceType(_ bytes: [UInt8]) -> String? {
        let needle = Array(#""resourceType""#.utf8)
        guard bytes.count >= needle.count else { return nil }
        var i = 0
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0], bytes[i..<(i + needle.count)].elementsEqual(needle) { break }
            i += 1
        }
        i += needle.count
        func skipSpace() { while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 } }
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
        i += 1
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
        let start = i + 1
        var end = start
        while end < bytes.count, end - start < 64, PrimitiveFormat.isAlnum(bytes[end]) { end += 1 }
        let name = String(decoding: bytes[start..<end], as: UTF8.self)
        return R4Definitions.r4.resourceType(name) != nil ? name : nil
    }

    static func issue(for error: XMLReadError) -> FHIRIssue {
        let code: FHIRIssue.Code =
            switch error.kind {
            case .doctypeForbidden, .entityReferenceForbidden: .security
            case .limitExceeded: .tooLong
            default: .structure
            }
        return FHIRIssue(
            severity: .fatal,
            code: code,
            diagnostics: "The XML cannot be read: \(error.message)",
            line: error.line,
            column: error.column
        )
    }
}
