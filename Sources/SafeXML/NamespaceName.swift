import CLibXML2

/// Namespace names as libxml2 takes them, so that the narrative parser refuses the declarations
/// libxml2's reader refuses and a narrative reads alike from FHIR JSON and FHIR XML.
@usableFromInline
package enum NamespaceName {
    /// Whether libxml2 takes `name` (declared with `xmlns` or `xmlns:p`) as a namespace name. It
    /// refuses a name its URI parser (`xmlParseURI`, RFC 3986) cannot read, saying "xmlns: 'NAME'
    /// is not a valid URI"; a relative one it only warns about. libxml2 sees an ampersand of the
    /// declaration, however written, as `&#38;`, so the name is checked as it sees it. The empty
    /// name is left to the caller (it undeclares the default namespace; a prefix may not take it).
    @usableFromInline
    package static func isValid(_ name: String) -> Bool {
        if name == XMLNamespaces.xhtml || name.isEmpty { return true }
        guard let uri = xmlParseURI(asLibXML2Sees(name)) else { return false }
        xmlFreeURI(uri)
        return true
    }

    /// A declared namespace name as libxml2 2.9 keeps it: an ampersand, however the declaration
    /// writes it (`&amp;`, `&#38;`), as `&#38;`, where XML reads `&`.
    @usableFromInline
    package static func asLibXML2Sees(_ name: String) -> String {
        name.contains("&") ? name.replacing("&", with: "&#38;") : name
    }
}
