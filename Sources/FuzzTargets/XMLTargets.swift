import SafeXML

/// The XML document reader: a document that reads is serialised (`XMLWriter`, canonical) and must
/// re-read to the same tree.
enum XMLDocumentTarget {
    static func check(_ bytes: [UInt8]) throws(FuzzInvariantViolation) {
        let reader = XMLDocumentReader()
        guard let root = try? reader.read(bytes) else { return }
        let written = XMLWriter.serialize(root, declareNamespace: true)
        let reread: XMLElement
        do {
            reread = try reader.read(Array(written.utf8))
        } catch {
            try invariant(false, .xmlDocument, "the serialised document does not re-read: \(error)\n\(written)")
            return
        }
        try invariant(XMLTreeComparison.same(root, reread), .xmlDocument, "the re-read tree differs from the one read:\n\(written)")
    }
}

/// The narrative parser (`XMLFragmentParser`, what FHIR JSON's `text.div` goes through): what it
/// accepts, libxml2 (`XMLDocumentReader.readFragment`) must accept as the same tree, and the
/// serialised tree must re-parse to it.
enum NarrativeXHTMLTarget {
    static func check(_ bytes: [UInt8]) throws(FuzzInvariantViolation) {
        // A narrative arrives as a JSON string: always valid UTF-8.
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        let parser = XMLFragmentParser()
        guard let root = try? parser.parse(text) else { return }
        let byLibXML: Result<XMLElement, XMLReadError> = Result { () throws(XMLReadError) in try XMLDocumentReader().readFragment(text) }
        switch byLibXML {
        case .success(let byLibXML):
            try invariant(
                XMLTreeComparison.same(root, byLibXML) || XMLTreeComparison.same(ampersandsAsLibXML2Keeps(root), byLibXML), .narrativeXHTML,
                "the fragment parser and libxml2 read different trees")
        case .failure(let error):
            try invariant(
                refusesCommentOpeningWithAngle(error.message, text), .narrativeXHTML,
                "the fragment parser accepts what libxml2 refuses (\(error))")
        }
        let written = XMLWriter.serialize(root, declareNamespace: true)
        let reparsed: XMLElement
        do {
            reparsed = try parser.parse(written)
        } catch {
            try invariant(false, .narrativeXHTML, "the serialised fragment does not re-parse: \(error)\n\(written)")
            return
        }
        try invariant(XMLTreeComparison.same(root, reparsed), .narrativeXHTML, "the re-parsed tree differs:\n\(written)")
    }
}

extension NarrativeXHTMLTarget {
    /// libxml2 keeps an ampersand in a namespace declaration as `&#38;` in the namespace name
    /// (`xmlns="a&#38;b"` or `xmlns="a&amp;b"` gives `a&#38;b`), where the fragment parser reads `&`,
    /// as XML says. Such a name is not XHTML's, so the narrative rules refuse the div either way;
    /// the trees are compared once more with the fragment parser's ampersands in namespace names
    /// written as libxml2 keeps them.
    static func ampersandsAsLibXML2Keeps(_ element: XMLElement) -> XMLElement {
        var element = element
        element.namespaceURI = element.namespaceURI.map(NamespaceName.asLibXML2Sees)
        element.attributes = element.attributes.map { attribute in
            var attribute = attribute
            attribute.namespaceURI = attribute.namespaceURI.map(NamespaceName.asLibXML2Sees)
            return attribute
        }
        element.children = element.children.map { child in
            if case .element(let inner) = child { return .element(ampersandsAsLibXML2Keeps(inner)) }
            return child
        }
        return element
    }

    /// Whether libxml2's refusal is its reader's "Comment not terminated" or "Double hyphen within
    /// comment" for a text with a comment that opens with `>` or `->` (`<!-->…-->`, `<!--->…-->`).
    /// XML allows such a comment, but libxml2 2.9's reader (a push parser, fed in chunks) looks for
    /// the comment's end from its `<!--`, takes the `-->` overlapping that opening for the end, and
    /// then misreads the comment outside the root element when its real end lies beyond the chunk
    /// in hand. The fragment parser reads the comment as XML says. Either message goes on with
    /// the start of the comment, when libxml2 has read some.
    static func refusesCommentOpeningWithAngle(_ message: String, _ text: String) -> Bool {
        (message.hasPrefix("libxml2: Comment not terminated") || message.hasPrefix("libxml2: Double hyphen within comment"))
            && (text.contains("<!-->") || text.contains("<!--->"))
    }

}

/// Tree equality without source positions and prefixes (which serialising may change): names,
/// namespaces, attributes in order, and the children with adjacent text merged.
enum XMLTreeComparison {
    static func same(_ lhs: XMLElement, _ rhs: XMLElement) -> Bool {
        guard lhs.localName == rhs.localName, lhs.namespaceURI == rhs.namespaceURI,
            lhs.attributes.count == rhs.attributes.count,
            zip(lhs.attributes, rhs.attributes).allSatisfy({
                $0.localName == $1.localName && $0.namespaceURI == $1.namespaceURI && $0.value.utf8.elementsEqual($1.value.utf8)
            })
        else { return false }
        let left = merged(lhs.children)
        let right = merged(rhs.children)
        guard left.count == right.count else { return false }
        return zip(left, right).allSatisfy { pair in
            switch pair {
            case (.element(let a), .element(let b)): same(a, b)
            case (.text(let a), .text(let b)): a.utf8.elementsEqual(b.utf8)
            default: false
            }
        }
    }

    /// Adjacent text children joined, empty text dropped.
    static func merged(_ children: [XMLContent]) -> [XMLContent] {
        var result: [XMLContent] = []
        for child in children {
            if case .text(let text) = child {
                if text.isEmpty { continue }
                if case .text(let previous) = result.last {
                    result[result.count - 1] = .text(previous + text)
                    continue
                }
            }
            result.append(child)
        }
        return result
    }
}
