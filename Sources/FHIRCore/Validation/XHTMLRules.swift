import SafeXML

/// The rules for a narrative's XHTML (R4 Narrative: txt-1 and txt-2): a `div` in the XHTML
/// namespace, only basic formatting elements, no scripts, forms, frames, objects or event handlers,
/// and some non-whitespace content.
enum XHTMLRules {
    static let namespace = "http://www.w3.org/1999/xhtml"

    /// The elements txt-1 allows (the list the FHIR validators use).
    static let allowedElements: Set<String> = [
        "p", "br", "div", "h1", "h2", "h3", "h4", "h5", "h6", "a", "span", "b", "em", "i", "strong", "small", "big", "tt",
        "dfn", "q", "var", "abbr", "acronym", "cite", "blockquote", "hr", "address", "bdo", "kbd", "sub", "sup", "ul",
        "ol", "li", "dl", "dt", "dd", "pre", "table", "caption", "colgroup", "col", "thead", "tr", "tfoot", "tbody", "th",
        "td", "code", "samp", "img", "map", "area", "u", "s", "strike", "font", "center", "ins", "del", "label",
    ]

    static func check(_ root: XMLElement, path: String) -> [FHIRIssue] {
        var issues: [FHIRIssue] = []
        func fail(_ message: String, _ element: XMLElement, code: FHIRIssue.Code = .value) {
            issues.append(FHIRIssue(severity: .error, code: code, diagnostics: message, expression: path, line: element.line, column: element.column))
        }
        if root.localName != "div" || root.namespaceURI != namespace {
            fail("A narrative must be a <div> in the XHTML namespace \(namespace)", root)
            return issues
        }
        var hasContent = false
        var stack: [XMLElement] = [root]
        while let element = stack.popLast() {
            if element.namespaceURI != namespace {
                fail("The narrative contains <\(element.localName)> outside the XHTML namespace (txt-1)", element, code: .invariant)
            } else if !allowedElements.contains(element.localName) {
                fail(
                    "The narrative contains <\(element.localName)>, which txt-1 does not allow: only basic HTML formatting is allowed", element,
                    code: .invariant)
            }
            for attribute in element.attributes where attribute.localName.lowercased().hasPrefix("on") {
                fail("The narrative contains the event attribute '\(attribute.localName)' (txt-1 forbids scripts)", element, code: .invariant)
            }
            if element.localName == "img" { hasContent = true }
            for child in element.children {
                switch child {
                case .element(let nested): stack.append(nested)
                case .text(let text): if !text.isXMLWhitespace { hasContent = true }
                }
            }
        }
        if !hasContent {
            fail("The narrative has no content: it must have some non-whitespace text or an image (txt-2)", root, code: .invariant)
        }
        return issues
    }
}
