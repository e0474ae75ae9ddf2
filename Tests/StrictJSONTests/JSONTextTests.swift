import StrictJSON
import Testing

@Suite("JSONText.appendQuoted")
struct JSONTextTests {
    func quoted(_ string: String) -> String {
        var out: [UInt8] = []
        JSONText.appendQuoted(string, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("quotes, backslashes and control characters are escaped; everything else is kept")
    func escaping() {
        #expect(quoted("") == #""""#)
        #expect(quoted("plain") == #""plain""#)
        #expect(quoted("say \"hi\"") == #""say \"hi\"""#)
        #expect(quoted("a\\b") == #""a\\b""#)
        #expect(quoted("\n\r\t\u{8}\u{C}") == #""\n\r\t\b\f""#)
        #expect(quoted("\u{0}\u{1}\u{1F}") == #""\u0000\u0001\u001f""#)
        #expect(quoted("a/b\u{7F}é😀") == "\"a/b\u{7F}é😀\"")
    }

    @Test("appending keeps what is already in the buffer")
    func appends() {
        var out = Array("[".utf8)
        JSONText.appendQuoted("x", to: &out)
        out.append(UInt8(ascii: ","))
        JSONText.appendQuoted("y\n", to: &out)
        out.append(UInt8(ascii: "]"))
        #expect(String(decoding: out, as: UTF8.self) == #"["x","y\n"]"#)
    }

    @Test(
        "tricky strings survive a round trip through the reader",
        arguments: [
            "", "\"", "\\", "\\\"", "\u{0}", "line1\nline2\r\n", "tab\there", "\u{1}\u{2}\u{1E}\u{1F} ",
            "<div xmlns=\"http://www.w3.org/1999/xhtml\">a &amp; b</div>",
            "Müller 東京 😀 \u{10FFFF}", "e\u{301}", "\u{FEFF}bom", "/\\/", "\u{7F}\u{80}\u{2028}\u{2029}",
            String(repeating: "ab\"c\\", count: 100),
        ]
    )
    func roundTrip(_ string: String) throws {
        var out: [UInt8] = []
        JSONText.appendQuoted(string, to: &out)
        let value = try JSONReader().read(out)
        guard case .string(let back) = value else {
            Issue.record("not a string: \(value)")
            return
        }
        #expect(Array(back.utf8) == Array(string.utf8))
    }

    @Test("every control character and ASCII byte round-trips")
    func everyASCIIByteRoundTrips() throws {
        let all = String(decoding: (0..<128).map { UInt8($0) }, as: UTF8.self)
        var out: [UInt8] = []
        JSONText.appendQuoted(all, to: &out)
        #expect(out.allSatisfy { $0 >= 0x20 })
        #expect(try JSONReader().read(out) == .string(all))
    }
}
