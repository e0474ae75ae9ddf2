import SafeXML
import Testing

@Suite("Reading documents")
struct ReadingTests {
    static let fhir = "http://hl7.org/fhir"
    static let xhtml = "http://www.w3.org/1999/xhtml"
    static let observation =
        #"<Observation xmlns="http://hl7.org/fhir"><status value="final"/><text><div xmlns="http://www.w3.org/1999/xhtml"><p>a &amp; b &#233;</p></div></text></Observation>"#

    @Test func readsAFHIRLikeDocumentIntoTheRightTree() throws {
        let root = try XMLDocumentReader().read(Array(Self.observation.utf8))
        #expect(root.localName == "Observation")
        #expect(root.namespaceURI == Self.fhir)
        #expect(root.prefix == nil)
        #expect(root.attributes.isEmpty, "xmlns is a namespace declaration, not an attribute")
        #expect((root.line, root.column) == (1, 1))
        let elements = root.childElements
        #expect(elements.map(\.localName) == ["status", "text"])
        let status = elements[0]
        #expect(status.namespaceURI == Self.fhir)
        #expect(status.attributes == [XMLAttribute(localName: "value", value: "final")])
        #expect(status.children.isEmpty)
        #expect((status.line, status.column) == (1, 42))
        let div = try #require(elements[1].childElements.first)
        #expect(div.localName == "div")
        #expect(div.namespaceURI == Self.xhtml)
        #expect(div.attributes.isEmpty)
        let p = try #require(div.childElements.first)
        #expect(p.namespaceURI == Self.xhtml)
        #expect(p.children == [.text("a & b é")])
        #expect((p.line, p.column) == (1, 113))
    }

    @Test func givesEachElementTheLineAndColumnOfItsStartTag() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- a comment with <fake> tags -->
            <Observation xmlns="http://hl7.org/fhir">
              <status
                 value="final"/>
              <text><div xmlns="http://www.w3.org/1999/xhtml"><![CDATA[<x>]]><p>é<b>x</b></p></div></text>
            </Observation>
            """
        let root = try XMLDocumentReader().read(Array(text.utf8))
        #expect((root.line, root.column) == (3, 1))
        let status = try #require(root.childElements.first)
        #expect((status.line, status.column) == (4, 3))
        let textElement = root.childElements[1]
        #expect((textElement.line, textElement.column) == (6, 3))
        let div = try #require(textElement.childElements.first)
        #expect((div.line, div.column) == (6, 9))
        let p = try #require(div.childElements.first)
        #expect((p.line, p.column) == (6, 66))
        let b = try #require(p.childElements.first)
        #expect((b.line, b.column) == (6, 70), "columns count characters, not bytes")
    }

    @Test func mergesTextCDATAAndWhitespaceAndDropsCommentsAndProcessingInstructions() throws {
        let root = try XMLDocumentReader().read(Array("<r>a<!--c-->b<![CDATA[<c> & ]]>d<?pi x?>e <x/> f</r>".utf8))
        #expect(root.children == [.text("ab<c> & de "), .element(XMLElement(localName: "x", line: 1, column: 43)), .text(" f")])
        #expect(root.textContent == "ab<c> & de  f")
    }

    @Test func keepsWhitespaceBetweenElementsAsText() throws {
        let root = try XMLDocumentReader().read(Array("<r>\n  <a/>\n</r>".utf8))
        #expect(root.children.count == 3)
        #expect(root.children.first == .text("\n  "))
    }

    @Test func resolvesCharacterReferencesAndThePredefinedEntities() throws {
        let root = try XMLDocumentReader().read(
            Array(#"<r a="&lt;&gt;&amp;&quot;&apos;&#233;&#xE9;">&lt;&gt;&amp;&quot;&apos;&#233;&#xE9;&#x1F600;</r>"#.utf8))
        #expect(root.attributes.first?.value == "<>&\"'éé")
        #expect(root.children == [.text("<>&\"'éé😀")])
    }

    @Test func readsAttributesInDocumentOrderWithNamespacesButNotNamespaceDeclarations() throws {
        let text = #"<r xmlns="urn:d" xmlns:x="urn:x" b="2" x:a="1" xml:lang="en" a="3"/>"#
        let root = try XMLDocumentReader().read(Array(text.utf8))
        #expect(root.namespaceURI == "urn:d")
        #expect(
            root.attributes == [
                XMLAttribute(localName: "b", value: "2"),
                XMLAttribute(localName: "a", namespaceURI: "urn:x", prefix: "x", value: "1"),
                XMLAttribute(localName: "lang", namespaceURI: "http://www.w3.org/XML/1998/namespace", prefix: "xml", value: "en"),
                XMLAttribute(localName: "a", value: "3"),
            ]
        )
        #expect(root.attribute("a") == "3")
        #expect(root.attribute("a", namespaceURI: "urn:x") == "1")
    }

    @Test func givesPrefixedElementsTheirNamespaceAndPrefix() throws {
        let root = try XMLDocumentReader().read(Array(#"<h:div xmlns:h="http://www.w3.org/1999/xhtml"><h:p/><q/></h:div>"#.utf8))
        #expect(root.localName == "div")
        #expect(root.prefix == "h")
        #expect(root.namespaceURI == Self.xhtml)
        #expect(root.childElements.map(\.namespaceURI) == [Self.xhtml, nil])
    }

    @Test func acceptsAUTF8ByteOrderMarkAndAUTF8Declaration() throws {
        let root = try XMLDocumentReader().read([0xEF, 0xBB, 0xBF] + Array("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<r>é</r>".utf8))
        #expect(root.children == [.text("é")])
        #expect((root.line, root.column) == (2, 1))
    }

    @Test func readsAnElementNestedExactlyToMaxDepth() throws {
        let depth = XMLLimits.default.maxDepth
        let text = String(repeating: "<a>", count: depth) + "x" + String(repeating: "</a>", count: depth)
        var element = try XMLDocumentReader().read(Array(text.utf8))
        var levels = 1
        while let child = element.childElements.first {
            element = child
            levels += 1
        }
        #expect(levels == depth)
        #expect(element.children == [.text("x")])
    }

    @Test func readFragmentReadsASingleElement() throws {
        let div = try XMLDocumentReader().readFragment(#"<div xmlns="http://www.w3.org/1999/xhtml">Hello <b>world</b></div>"#)
        #expect(div.namespaceURI == Self.xhtml)
        #expect(div.textContent == "Hello world")
    }

    @Test func errorDescriptionGivesLineColumnAndMessage() {
        let error = XMLReadError(kind: .notWellFormed, message: "broken", line: 3, column: 7)
        #expect(error.description == "line 3, column 7: broken")
    }
}
