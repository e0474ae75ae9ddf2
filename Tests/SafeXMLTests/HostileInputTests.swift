import FoundationEssentials
@_spi(Testing) import SafeXML
import Testing

/// Each hostile document is refused with the right kind, quickly, without expansion and without
/// reading a file, both with the Swift prolog check (production) and by libxml2 and the reader's
/// node checks alone (prolog check off).
@Suite("Hostile input")
struct HostileInputTests {
    static let doctypeOrEntity: Set<XMLReadError.Kind> = [.doctypeForbidden, .entityReferenceForbidden]

    /// A file whose content must never show up anywhere.
    static let secretFile: (path: String, content: String) = {
        let content = "SAFEXML-SECRET-\(UInt64.random(in: 0...UInt64.max))"
        let path = FileManager.default.temporaryDirectory.path + "/safexml-secret-\(content).txt"
        _ = FileManager.default.createFile(atPath: path, contents: Data(content.utf8))
        return (path, content)
    }()

    func expectNoLeak(_ error: XMLReadError?, sourceLocation: SourceLocation = #_sourceLocation) {
        let text = error.map { "\($0)" } ?? ""
        #expect(!text.contains("root:"), sourceLocation: sourceLocation)
        #expect(!text.contains(Self.secretFile.content), sourceLocation: sourceLocation)
    }

    @Test func refusesAnInternalEntity() {
        let error = expectRefused(
            Array(#"<!DOCTYPE r [<!ENTITY greet "hi">]><r>&greet;</r>"#.utf8),
            as: .doctypeForbidden,
            withoutPrologCheck: Self.doctypeOrEntity
        )
        #expect(error?.message.contains("DOCTYPE") == true)
        #expect(error.map { [$0.line, $0.column] } == [1, 1])
    }

    @Test func refusesAnExternalEntityWithoutReadingTheFile() {
        for target in ["file:///etc/passwd", "file://" + Self.secretFile.path, Self.secretFile.path] {
            for body in ["<r>&xxe;</r>", #"<r a="&xxe;"/>"#] {
                let document = #"<!DOCTYPE r [<!ENTITY xxe SYSTEM "\#(target)">]>"# + body
                expectNoLeak(expectRefused(Array(document.utf8), as: .doctypeForbidden, withoutPrologCheck: Self.doctypeOrEntity))
                for checksProlog in [true, false] {
                    let reader = XMLDocumentReader(checksProlog: checksProlog)
                    #expect(throws: XMLReadError.self) { try reader.read(Array(document.utf8)) }
                }
            }
        }
    }

    @Test func refusesAnExternalEntityThroughAParameterEntity() {
        let secret = "file://" + Self.secretFile.path
        let documents = [
            #"<!DOCTYPE r [<!ENTITY % p SYSTEM "\#(secret)"> %p;]><r/>"#,
            #"<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"><!ENTITY % q "<!ENTITY e '%p;'>"> %q;]><r>&e;</r>"#,
            #"<!DOCTYPE r [<!ENTITY % d SYSTEM "http://example.invalid/evil.dtd"> %d;]><r>&e;</r>"#,
        ]
        for document in documents {
            expectNoLeak(expectRefused(Array(document.utf8), as: .doctypeForbidden, withoutPrologCheck: Self.doctypeOrEntity))
        }
    }

    @Test func refusesAnExternalDTD() {
        for document in [
            #"<!DOCTYPE r SYSTEM "http://example.invalid/x.dtd"><r/>"#,
            #"<?xml version="1.0"?>\#n<!-- c --><!DOCTYPE r PUBLIC "-//X//Y" "file://\#(Self.secretFile.path)"><r/>"#,
        ] {
            expectNoLeak(expectRefused(Array(document.utf8), as: .doctypeForbidden))
        }
    }

    @Test func refusesBillionLaughs() {
        var document = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol0 \"lol\">\n"
        for level in 1...10 {
            document += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level - 1);", count: 10) + "\">\n"
        }
        document += "]>\n<lolz>&lol10;</lolz>"
        let error = expectRefused(Array(document.utf8), as: .doctypeForbidden, withoutPrologCheck: Self.doctypeOrEntity)
        #expect(error.map { [$0.line, $0.column] } == [2, 1])
    }

    @Test func refusesQuadraticBlowUp() {
        let document =
            #"<!DOCTYPE r [<!ENTITY a ""# + String(repeating: "x", count: 50_000) + #"">]><r>"#
            + String(repeating: "&a;", count: 5_000) + "</r>"
        expectRefused(Array(document.utf8), as: .doctypeForbidden, withoutPrologCheck: Self.doctypeOrEntity)
    }

    @Test func refusesAnUndefinedEntity() {
        let error = expectRefused(Array("<r>a&nbsp;b</r>".utf8), as: .entityReferenceForbidden)
        #expect(error?.message.contains("nbsp") == true)
        expectRefused(Array(#"<r a="&nbsp;"/>"#.utf8), as: .entityReferenceForbidden)
    }

    @Test func refusesDeepNesting() {
        let deep = String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)
        let error = expectRefused(Array(deep.utf8), as: .limitExceeded)
        #expect(error?.message.contains("maxDepth") == true)
        #expect(error.map { [$0.line, $0.column] } == [1, 3 * 64 + 1], "at the 65th start tag")
        // Beyond libxml2's own limit of 256 levels, that limit still holds whatever maxDepth says.
        let error300 = expectRefused(
            Array((String(repeating: "<a>", count: 300) + String(repeating: "</a>", count: 300)).utf8),
            limits: XMLLimits(maxDepth: 1_000),
            as: .limitExceeded
        )
        #expect(error300?.message.contains("256") == true)
    }

    @Test func refusesATextNodeLargerThanMaxBytesBeforeParsing() {
        let document = Array(("<r>" + String(repeating: "x", count: 10 * 1024 * 1024) + "</r>").utf8)
        let error = expectRefused(document, as: .limitExceeded)
        #expect(error?.message.contains("maxBytes") == true)
        #expect(error?.message.contains("10485767") == true)
    }

    @Test func refusesATextNodeLargerThanMaxTextBytesWhenMaxBytesIsRaised() {
        let raised = XMLLimits(maxBytes: 64 * 1024 * 1024)
        // 10 MB: libxml2's own 10,000,000-byte text node limit is reached before the text node is complete.
        let tenMB = Array(("<r>" + String(repeating: "x", count: 10 * 1024 * 1024) + "</r>").utf8)
        expectRefused(tenMB, limits: raised, as: .limitExceeded, within: 10)
        // Between 1 MiB and 10,000,000 bytes: maxTextBytes is the limit that fires.
        let twoMB = Array(("<r>" + String(repeating: "x", count: 2 * 1024 * 1024) + "</r>").utf8)
        let error = expectRefused(twoMB, limits: raised, as: .limitExceeded, within: 10)
        #expect(error?.message.contains("maxTextBytes") == true)
        let attribute = Array((#"<r a=""# + String(repeating: "x", count: 2 * 1024 * 1024) + #""/>"#).utf8)
        let attributeError = expectRefused(attribute, limits: raised, as: .limitExceeded, within: 10)
        #expect(attributeError?.message.contains("maxTextBytes") == true)
        // Text split by comments and CDATA counts as one text node.
        let pieces = Array(("<r>" + Array(repeating: String(repeating: "y", count: 300_000), count: 4).joined(separator: "<!---->") + "</r>").utf8)
        #expect(expectRefused(pieces, as: .limitExceeded)?.message.contains("maxTextBytes") == true)
    }

    @Test func refusesAMillionElements() {
        let document = Array(("<r>" + String(repeating: "<a/>", count: 1_000_000) + "</r>").utf8)
        #expect(document.count < 8 * 1024 * 1024, "maxBytes is not the limit that fires")
        let error = expectRefused(document, limits: XMLLimits(maxBytes: 64 * 1024 * 1024), as: .limitExceeded, within: 20)
        #expect(error?.message.contains("maxElements") == true)
        let small = expectRefused(document, limits: XMLLimits(maxElements: 1_000), as: .limitExceeded)
        #expect(small.map { [$0.line, $0.column] } == [1, 4 + 4 * 999], "the 1,001st element is the 1,000th <a/>")
    }

    @Test func refusesTooManyAttributes() {
        let document = "<r " + (0..<65).map { "a\($0)=\"1\"" }.joined(separator: " ") + "/>"
        #expect(expectRefused(Array(document.utf8), as: .limitExceeded)?.message.contains("maxAttributes") == true)
        let namespaces = "<r " + (0..<70).map { "xmlns:p\($0)=\"urn:\($0)\"" }.joined(separator: " ") + "/>"
        #expect(throws: Never.self, "namespace declarations are not attributes") { try XMLDocumentReader().read(Array(namespaces.utf8)) }
    }

    @Test func refusesInvalidUTF8() {
        let error = expectRefused([UInt8]("<r>a".utf8) + [0xC3, 0x28] + [UInt8]("</r>".utf8), as: .invalidUTF8)
        #expect(error?.message.contains("UTF-8") == true)
        expectRefused([UInt8](#"<r a=""#.utf8) + [0xFF] + [UInt8](#""/>"#.utf8), as: .invalidUTF8)
        // Overlong forms, a surrogate, beyond U+10FFFF, a lone continuation byte, a truncated sequence, FE.
        for bad: [UInt8] in [[0xC0, 0xBC], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xE2, 0x82], [0xFE]] {
            expectRefused([UInt8]("<r>".utf8) + bad + [UInt8]("</r>".utf8), as: .invalidUTF8)
        }
    }

    @Test func refusesADeclaredEncodingOtherThanUTF8() {
        let latin1 = [UInt8](#"<?xml version="1.0" encoding="ISO-8859-1"?><r>caf"#.utf8) + [0xE9] + [UInt8]("</r>".utf8)
        let error = expectRefused(latin1, as: .invalidUTF8)
        #expect(error?.message.contains("ISO-8859-1") == true)
        let utf16: [UInt8] = [0xFF, 0xFE] + "<r/>".utf8.flatMap { byte -> [UInt8] in [byte, 0] }
        expectRefused(utf16, as: .invalidUTF8, withoutPrologCheck: [.invalidUTF8, .notWellFormed])
    }

    @Test func refusesEmptyInput() {
        expectRefused([], as: .emptyDocument)
        expectRefused(Array(" \n\t".utf8), as: .emptyDocument)
        expectRefused(Array("<?xml version=\"1.0\"?><!-- nothing -->".utf8), as: .emptyDocument)
        #expect(throws: XMLReadError.self) { try XMLDocumentReader().readFragment("") }
    }

    @Test func refusesMismatchedTagsWithTheLineNumber() {
        let error = expectRefused(Array("<a>\n<b>\n</a>".utf8), as: .notWellFormed)
        #expect(error?.line == 3)
        #expect(error?.message.contains("mismatch") == true)
        #expect(error?.description.hasPrefix("line 3, column ") == true)
    }

    @Test func refusesOtherMalformedDocuments() {
        for document in ["<a>", "<a></b>", "<a/><b/>", "<a/>text", "<p:a/>", "<a x='1' x='2'/>", "<a>&#0;</a>", "<a b=c/>", "text"] {
            expectRefused(Array(document.utf8), as: .notWellFormed)
        }
    }

    @Test func keepsErrorMessagesShortWhenTheyQuoteLongNames() {
        let name = String(repeating: "n", count: 40_000)
        let error = expectRefused(Array("<\(name)></b>".utf8), as: .notWellFormed)
        #expect((error?.message.count ?? .max) < 400)
    }

    @Test func readFragmentHasTheSameProtections() {
        let reader = XMLDocumentReader()
        #expect(
            throws: XMLReadError(
                kind: .doctypeForbidden, message: "the document has a DOCTYPE declaration; DTDs and entity declarations are not accepted", line: 1,
                column: 1)
        ) {
            try reader.readFragment(#"<!DOCTYPE div [<!ENTITY e "x">]><div>&e;</div>"#)
        }
        #expect(throws: XMLReadError.self) { try reader.readFragment("<div>&nbsp;</div>") }
        #expect(throws: XMLReadError.self) { try reader.readFragment("<div>a</div><div>b</div>") }
    }

    @Test func doesNotProcessXInclude() throws {
        let document = #"<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file://\#(Self.secretFile.path)" parse="text"/></r>"#
        let root = try XMLDocumentReader().read(Array(document.utf8))
        #expect(root.childElements.first?.localName == "include")
        #expect(!root.textContent.contains(Self.secretFile.content))
    }
}
