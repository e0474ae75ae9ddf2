import FoundationEssentials
import SafeXML
import StrictJSON
import TestSupport
import Testing

/// The narrative parser used for FHIR JSON agrees with libxml2 on every narrative of the corpus
/// and refuses what libxml2 (as we configure it) refuses.
@Suite struct FragmentParserTests {
    /// Every `text.div` string in the JSON examples.
    static func narratives() throws -> [(file: String, div: String)] {
        var found: [(String, String)] = []
        func walk(_ value: JSONValue, file: String) {
            switch value {
            case .object(let members):
                for member in members {
                    if member.key == "div", case .string(let div) = member.value { found.append((file, div)) }
                    walk(member.value, file: file)
                }
            case .array(let items): items.forEach { walk($0, file: file) }
            default: break
            }
        }
        for name in Fixtures.examples("json") {
            walk(try JSONReader().read(try Fixtures.bytes(name)), file: name)
        }
        return found
    }

    @Test func agreesWithLibxml2OnEveryNarrativeOfTheCorpus() throws {
        let all = try Self.narratives()
        #expect(all.count > 100)
        for (file, div) in all {
            let ours = try XMLFragmentParser().parse(div)
            let theirs = try XMLDocumentReader().readFragment(div)
            #expect(
                XMLWriter.serialize(ours, declareNamespace: true) == XMLWriter.serialize(theirs, declareNamespace: true),
                "\(file)"
            )
            #expect(ours.namespaceURI == theirs.namespaceURI)
        }
    }

    @Test(arguments: [
        "<div xmlns=\"http://www.w3.org/1999/xhtml\">&nbsp;</div>",
        "<!DOCTYPE div [<!ENTITY x \"y\">]><div>&x;</div>",
        "<div><p></div>",
        "<div a=\"1\" a=\"2\"/>",
        "<div a=1/>",
        "<div>&#0;</div>",
        "<div>&#xD800;</div>",
        "<div>a & b</div>",
        "<div>text</div>trailing",
        "<div>x</div><!--",
        "<!-- unclosed <div>x</div>",
        "<p:div/>",
        "<div>\u{01}</div>",
        "<div><![CDATA[a\u{0C}b]]></div>",
        "<div><!-- a\u{1D}b --></div>",
        "<div>&#+13;</div>",
        "<div>&#x+D;</div>",
        "<div xmlns:=\"urn:x\"/>",
        "<div a:=\"1\"/>",
        "<div xmlns:0p=\"urn:x\"/>",
        "<div xmlns:p=\"urn:x\" p:-a=\"1\"/>",
        "<div xmlns:p=\"urn:x\"><p:.b/></div>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:t=\"/tph/wc&#13;d\"/>",
        "<div xmlns=\"http://a b/c\"/>",
        "<div xmlns=\"\u{64B}ml\"/>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:t=\"a#b&amp;c\"/>",
        "<\u{37E}9/>",
        "<div\u{37E}/>",
        "<div \u{B7}a=\"1\"/>",
        "<div xmlns:p=\"urn:x\" p:\u{300}a=\"1\"/>",
        "",
        "plain text",
    ])
    func refusesWhatLibxml2Refuses(_ fragment: String) {
        #expect(throws: XMLReadError.self) { try XMLFragmentParser().parse(fragment) }
        #expect(throws: XMLReadError.self) { try XMLDocumentReader().readFragment(fragment) }
    }

    /// libxml2 drops processing instructions; a narrative has no use for one, so ours refuses it.
    /// XML's end-of-line handling: CR LF and a lone CR in text and attribute values are one LF
    /// (then a space in an attribute), as libxml2 reads them; a CR written as `&#13;` stays, and so
    /// does one in CDATA (libxml2's reader keeps it there).
    @Test(arguments: [
        "<div xmlns=\"http://www.w3.org/1999/xhtml\">a\r\nb\rc\r\r\nd&#13;e</div>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><![CDATA[a\r\nb\rc]]>\r</div>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\" title=\"a\r\nb\rc&#13;d\"/>",
    ])
    func readsLineEndsAsLibxml2Does(_ fragment: String) throws {
        let ours = try XMLFragmentParser().parse(fragment)
        let theirs = try XMLDocumentReader().readFragment(fragment)
        #expect(XMLWriter.serialize(ours, declareNamespace: true) == XMLWriter.serialize(theirs, declareNamespace: true))
    }

    @Test func readsCRAndCRLFInTextAsOneLineFeed() throws {
        let div = try XMLFragmentParser().parse("<div xmlns=\"http://www.w3.org/1999/xhtml\" title=\"a\r\nb\">a\r\nb\rc</div>")
        #expect(div.textContent == "a\nb\nc")
        #expect(div.attribute("title") == "a b")
    }

    /// A namespace name libxml2's URI parser reads is taken, relative ones and ones with an
    /// ampersand included, as libxml2 takes them; so are names with characters beyond ASCII that
    /// XML's name ranges allow.
    @Test(arguments: [
        "<div xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:t=\"relative/name\"/>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:t=\"urn:x?a&amp;b\"/>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\" \u{E9}t\u{E9}\u{B7}\u{300}=\"1\" \u{10000}=\"2\"/>",
    ])
    func takesWhatLibxml2Takes(_ fragment: String) throws {
        _ = try XMLFragmentParser().parse(fragment)
        _ = try XMLDocumentReader().readFragment(fragment)
    }

    @Test func refusesProcessingInstructions() {
        #expect(throws: XMLReadError.self) { try XMLFragmentParser().parse("<div><?php echo 1 ?></div>") }
    }

    @Test func refusesDeepNestingWithoutRecursing() {
        let deep = String(repeating: "<b>", count: 100_000)
        #expect {
            try XMLFragmentParser().parse("<div>" + deep)
        } throws: { error in
            (error as? XMLReadError)?.kind == .limitExceeded
        }
    }

    @Test func readsReferencesCommentsAndCDATA() throws {
        let root = try XMLFragmentParser().parse(
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><!-- note --><p class='x' title=\"a&amp;b\">&lt;&#233;&#xE9;<![CDATA[<raw>]]></p><br/></div>"
        )
        #expect(
            XMLWriter.serialize(root, declareNamespace: true)
                == "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p class=\"x\" title=\"a&amp;b\">&lt;éé&lt;raw&gt;</p><br/></div>"
        )
    }
}
