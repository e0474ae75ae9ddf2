import StrictJSON
import Testing

@Suite("Strings and escapes")
struct StringTests {
    @Test("all RFC 8259 escapes decode")
    func simpleEscapesDecode() throws {
        #expect(try readSingleString(#"["\"\\\/\b\f\n\r\t"]"#) == "\"\\/\u{8}\u{C}\n\r\t")
        #expect(try readSingleString(#"["a\nb\tc"]"#) == "a\nb\tc")
        #expect(try readSingleString(#"[""]"#) == "")
    }

    @Test("\\u escapes decode, including surrogate pairs")
    func unicodeEscapesDecode() throws {
        #expect(try readSingleString(#"["\u00e9\u00E9"]"#) == "éé")
        #expect(try readSingleString(#"["\u0041\u20AC\u0000"]"#) == "A€\u{0}")
        #expect(try readSingleString(#"["\uD83D\uDE00"]"#) == "😀")
        #expect(try readSingleString(#"["x\ud83d\ude00y\uDBFF\uDFFF"]"#) == "x😀y\u{10FFFF}")
        #expect(try readSingleString(#"["\u007F\u0080\u07FF\u0800\uFFFF\uD800\uDC00"]"#) == "\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}")
    }

    @Test("raw non-ASCII text is kept as is")
    func rawNonASCIIKept() throws {
        #expect(try readSingleString("[\"Müller, 東京, 😀\"]") == "Müller, 東京, 😀")
    }

    @Test(
        "lone or mismatched surrogate escapes are refused",
        arguments: [#"\uD800"#, #"\uDC00"#, #"\uD800\u0041"#, #"\uD800x"#, #"\uDBFF\uDBFF"#, #"\uDFFF\uD800"#, #"\uD83D\n"#]
    )
    func loneSurrogatesRefused(_ escape: String) throws {
        let error = try #require(readError("[\"ab\(escape)\"]"))
        #expect(error.kind == .invalidEscape, "\(escape): \(error)")
        #expect(error.column == 5, "\(escape): \(error)")
    }

    @Test("unknown or malformed escapes are refused", arguments: [#"\x"#, #"\u12G4"#, #"\U0041"#, #"\'"#, #"\a"#, #"\u12"#, #"\ "#])
    func invalidEscapesRefused(_ escape: String) throws {
        let error = try #require(readError("[\"\(escape)\"]"))
        #expect(error.kind == .invalidEscape, "\(escape): \(error)")
        #expect(error.column == 3, "\(escape): \(error)")
    }

    @Test("raw control characters inside strings are refused")
    func rawControlCharactersRefused() throws {
        for byte in UInt8(0)..<0x20 {
            let bytes: [UInt8] = Array("[\"abc".utf8) + [byte] + Array("\"]".utf8)
            let error = try #require(readError(bytes))
            #expect(error.kind == .controlCharacterInString, "byte \(byte): \(error)")
            #expect(error.line == 1 && error.column == 6, "byte \(byte): \(error)")
        }
        // DEL (0x7F) is not a control character in JSON's sense.
        #expect(try readSingleString("[\"a\u{7F}b\"]") == "a\u{7F}b")
    }

    @Test("strings that do not end are refused")
    func unterminatedStringsRefused() throws {
        #expect(readError("[\"abc")?.kind == .unexpectedEndOfInput)
        #expect(readError("[\"abc\\")?.kind == .unexpectedEndOfInput)
        #expect(readError("[\"abc\\u12")?.kind == .unexpectedEndOfInput)
        #expect(readError("\"0123456789abcdefghijklmnopqrstuvwxyz")?.kind == .unexpectedEndOfInput)
    }

    @Test("special characters are found at every position of long strings")
    func specialCharactersAtEveryPosition() throws {
        for length in 0..<40 {
            for position in 0..<length {
                // An escape at `position`.
                let prefix = String(repeating: "a", count: position)
                let suffix = String(repeating: "a", count: length - position - 1)
                #expect(try readSingleString("[\"\(prefix)\\n\(suffix)\"]") == prefix + "\n" + suffix)
                #expect(try readSingleString("[\"\(prefix)\\u00e9\(suffix)\"]") == prefix + "é" + suffix)
                var plain = Array(repeating: UInt8(ascii: "a"), count: length)
                // A raw control character at `position`.
                plain[position] = 0x01
                let error = try #require(readError([UInt8(ascii: "["), UInt8(ascii: "\"")] + plain + [UInt8(ascii: "\""), UInt8(ascii: "]")]))
                #expect(error.kind == .controlCharacterInString)
                #expect(error.column == Int32(position + 3))
                // A non-ASCII character at `position`.
                var accented = Array(repeating: UInt8(ascii: "b"), count: length)
                accented.replaceSubrange(position..<position + 1, with: Array("é".utf8))
                let text = String(decoding: accented, as: UTF8.self)
                #expect(try readSingleString("[\"\(text)\"]") == text)
            }
            let plainText = String(repeating: "z", count: length)
            #expect(try readSingleString("[\"\(plainText)\"]") == plainText)
            #expect(try read("\"\(plainText)\"") == .string(plainText))
        }
    }

    @Test("keys are decoded like string values")
    func keysDecodeEscapes() throws {
        let value = try read(#"{"a\u0062c":1,"\n":2}"#)
        #expect(value.members?.map(\.key) == ["abc", "\n"])
    }
}
