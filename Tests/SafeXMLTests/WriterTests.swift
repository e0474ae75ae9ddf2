import SafeXML
import Testing

@Suite("Writing XML")
struct WriterTests {
    @Test func escapesText() {
        #expect(XMLWriter.escapeText("a & b < c > d \r\n\t\"'é") == "a &amp; b &lt; c &gt; d &#xD;\n\t\"'é")
        #expect(XMLWriter.escapeText("plain") == "plain")
    }

    @Test func escapesAttributeValues() {
        #expect(XMLWriter.escapeAttribute("a & b < c > \"d\" '\t\n\r' é") == "a &amp; b &lt; c &gt; &quot;d&quot; '&#x9;&#xA;&#xD;' é")
    }

    @Test func serialisesTheNarrativeDivWithItsNamespaceDeclaration() throws {
        let root = try XMLDocumentReader().read(Array(ReadingTests.observation.utf8))
        let div = try #require(root.childElements.last?.childElements.first)
        let written = XMLWriter.serialize(div, declareNamespace: true)
        #expect(written == #"<div xmlns="http://www.w3.org/1999/xhtml"><p>a &amp; b é</p></div>"#)
        #expect(XMLWriter.serialize(div, declareNamespace: false) == "<div><p>a &amp; b é</p></div>")
        // Round trip: reading what was written gives the same tree.
        let reread = try XMLDocumentReader().readFragment(written)
        #expect(withoutPositions(reread) == withoutPositions(div))
    }

    @Test func keepsEmptyElementsAttributesAndXmlLang() throws {
        let text =
            #"<div xmlns="http://www.w3.org/1999/xhtml" xml:lang="en-GB" lang="en"><p class="a" title="x &quot;y&quot; &amp; &lt;z&gt;">one<br/>two</p><img src="a.png" alt=""/><p></p></div>"#
        let div = try XMLDocumentReader().readFragment(text)
        let written = XMLWriter.serialize(div, declareNamespace: true)
        // <p></p> has no children, so it is written as <p/>; everything else is written as it was.
        #expect(written == text.replacing("<p></p>", with: "<p/>"))
        #expect(withoutPositions(try XMLDocumentReader().readFragment(written)) == withoutPositions(div))
    }

    @Test func declaresNamespacesOnlyWhereTheyChange() throws {
        let text =
            ##"<div xmlns="http://www.w3.org/1999/xhtml"><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><use xlink:href="#a"/></svg><p/></div>"##
        let div = try XMLDocumentReader().readFragment(text)
        let written = XMLWriter.serialize(div, declareNamespace: true)
        #expect(
            written
                == ##"<div xmlns="http://www.w3.org/1999/xhtml"><svg xmlns="http://www.w3.org/2000/svg"><use xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="#a"/></svg><p/></div>"##
        )
        #expect(withoutPositions(try XMLDocumentReader().readFragment(written)) == withoutPositions(div))
    }

    @Test func writesAnUnqualifiedChildOfANamespacedParentWithAnEmptyDefaultNamespace() throws {
        let element = XMLElement(
            localName: "a",
            namespaceURI: "urn:x",
            children: [.element(XMLElement(localName: "b")), .text("t\r")]
        )
        #expect(XMLWriter.serialize(element, declareNamespace: true) == #"<a xmlns="urn:x"><b xmlns=""/>t&#xD;</a>"#)
    }

    @Test func serialisesDeepTreesWithoutRecursion() {
        var element = XMLElement(localName: "a")
        for _ in 0..<1_000 { element = XMLElement(localName: "a", children: [.element(element)]) }
        let written = XMLWriter.serialize(element, declareNamespace: false)
        #expect(written == String(repeating: "<a>", count: 1_000) + "<a/>" + String(repeating: "</a>", count: 1_000))
    }
}
