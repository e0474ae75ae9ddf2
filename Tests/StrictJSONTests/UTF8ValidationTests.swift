import StrictJSON
import Testing

@Suite("UTF-8 validation")
struct UTF8ValidationTests {
    /// Ill-formed sequences, one of each class.
    static let invalidSequences: [(String, [UInt8])] = [
        ("overlong 2-byte", [0xC0, 0xAF]),
        ("overlong 2-byte C1", [0xC1, 0xBF]),
        ("overlong 3-byte", [0xE0, 0x80, 0xAF]),
        ("overlong 4-byte", [0xF0, 0x80, 0x80, 0xAF]),
        ("UTF-8-encoded high surrogate", [0xED, 0xA0, 0x80]),
        ("UTF-8-encoded low surrogate", [0xED, 0xBF, 0xBF]),
        ("above U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
        ("byte F5", [0xF5, 0x80, 0x80, 0x80]),
        ("byte FF", [0xFF]),
        ("byte FE", [0xFE]),
        ("lone continuation byte", [0x80]),
        ("truncated 2-byte", [0xC3]),
        ("truncated 3-byte", [0xE2, 0x82]),
        ("truncated 4-byte", [0xF0, 0x9F, 0x98]),
        ("lead byte followed by ASCII", [0xC3, 0x41]),
    ]

    @Test("invalid UTF-8 inside strings is refused at the offending byte", arguments: invalidSequences)
    func invalidUTF8InStrings(_ name: String, _ sequence: [UInt8]) throws {
        let bytes = Array("[\"ab".utf8) + sequence + Array("cd\"]".utf8)
        let error = try #require(readError(bytes), "\(name)")
        #expect(error.kind == .invalidUTF8, "\(name): \(error)")
        #expect(error.line == 1 && error.column == 5, "\(name): \(error)")
        let key = Array("{\"".utf8) + sequence + Array("\":1}".utf8)
        #expect(readError(key)?.kind == .invalidUTF8, "\(name) in a key")
        // Long enough that the eight-bytes-at-a-time scan meets it.
        let long = Array("[\"0123456789abcdef".utf8) + sequence + Array("0123456789abcdef\"]".utf8)
        #expect(readError(long)?.kind == .invalidUTF8, "\(name) in a long string")
    }

    @Test("invalid UTF-8 outside strings is refused", arguments: invalidSequences)
    func invalidUTF8OutsideStrings(_ name: String, _ sequence: [UInt8]) throws {
        #expect(readError(Array("[1, ".utf8) + sequence + Array("]".utf8))?.kind == .invalidUTF8, "\(name) as a value")
        #expect(readError(sequence)?.kind == .invalidUTF8, "\(name) as the document")
        #expect(readError(Array("{\"a\":1}".utf8) + sequence)?.kind == .invalidUTF8, "\(name) after the value")
        #expect(readError(Array("[\"a\\".utf8) + sequence + Array("\"]".utf8))?.kind == .invalidUTF8, "\(name) after a backslash")
    }

    @Test("well-formed UTF-8 at the edges of each length is accepted")
    func validUTF8Accepted() throws {
        let scalars: [Unicode.Scalar] = ["\u{80}", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}", "\u{FFFD}", "\u{FFFF}", "\u{10000}", "\u{10FFFF}"]
        for scalar in scalars {
            let text = String(Character(scalar))
            #expect(try readSingleString("[\"\(text)\"]") == text)
            #expect(try readSingleString("[\"0123456789\(text)0123456789\"]") == "0123456789\(text)0123456789")
        }
    }

    @Test("a leading byte order mark is skipped")
    func byteOrderMarkAccepted() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        #expect(try JSONReader().read(bom + Array("{\"a\":true}".utf8)) == .object([JSONMember(key: "a", value: .bool(true), line: 1, column: 5)]))
        #expect(try JSONReader().read(bom + Array(" 1".utf8)) == .number("1"))
        #expect(readError(bom)?.kind == .emptyDocument)
    }

    @Test("a byte order mark anywhere else is refused")
    func byteOrderMarkElsewhereRefused() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        #expect(readError(Array(" ".utf8) + bom + Array("1".utf8))?.kind == .unexpectedCharacter)
        #expect(readError(bom + bom + Array("1".utf8))?.kind == .unexpectedCharacter)
        #expect(readError(Array("[1,".utf8) + bom + Array("2]".utf8))?.kind == .unexpectedCharacter)
    }
}
