import StrictJSON
import Testing

@Suite("Document structure")
struct DocumentStructureTests {
    @Test("a document with every kind of value is read in order")
    func everyKindOfValue() throws {
        let value = try read(#"{"s":"x","n":-1.5E+3,"t":true,"f":false,"z":null,"a":[1,[],{}],"o":{"k":"v"}}"#)
        let expected: JSONValue = .object([
            JSONMember(key: "s", value: .string("x"), line: 1, column: 2),
            JSONMember(key: "n", value: .number("-1.5E+3"), line: 1, column: 10),
            JSONMember(key: "t", value: .bool(true), line: 1, column: 22),
            JSONMember(key: "f", value: .bool(false), line: 1, column: 31),
            JSONMember(key: "z", value: .null, line: 1, column: 41),
            JSONMember(key: "a", value: .array([.number("1"), .array([]), .object([])]), line: 1, column: 50),
            JSONMember(key: "o", value: .object([JSONMember(key: "k", value: .string("v"), line: 1, column: 69)]), line: 1, column: 64),
        ])
        #expect(value == expected)
    }

    @Test("member line and column point at the key's opening quote")
    func memberPositions() throws {
        let document = "{\n  \"resourceType\": \"Observation\",\r\n\t\"code\": {\n      \"text\": \"x\"\n  },\n  \"é\": 1, \"after\": 2\n}"
        let members = try #require(try read(document).members)
        #expect(members.map(\.key) == ["resourceType", "code", "é", "after"])
        #expect(members.map(\.line) == [2, 3, 6, 6])
        #expect(members.map(\.column) == [3, 2, 3, 12])
        let inner = try #require(members[1].value.members?.first)
        #expect(inner.line == 4 && inner.column == 7)
    }

    @Test("literals must be spelled exactly")
    func literals() throws {
        #expect(try read("[true,false,null]") == .array([.bool(true), .bool(false), .null]))
        for bad in ["[True]", "[nul]", "[tru e]", "[falsey]", "[nulll]", "[undefined]"] {
            let error = try #require(readError(bad), "\(bad)")
            #expect(error.kind == .unexpectedCharacter, "\(bad): \(error)")
        }
        #expect(readError("[tru")?.kind == .unexpectedEndOfInput)
        #expect(readError("nul")?.kind == .unexpectedEndOfInput)
    }

    @Test("empty and whitespace-only documents are refused")
    func emptyDocumentRefused() throws {
        #expect(readError("")?.kind == .emptyDocument)
        #expect(readError([UInt8]())?.kind == .emptyDocument)
        let error = try #require(readError(" \n\t\r\n  "))
        #expect(error.kind == .emptyDocument)
        #expect(error.line == 3 && error.column == 3)
        #expect(throws: JSONSyntaxError.self) { try JSONReader().read(UnsafeRawBufferPointer(start: nil, count: 0)) }
    }

    @Test("anything after the value is refused as trailing content")
    func trailingContentRefused() throws {
        for (document, column) in [("{} {}", 4), ("1 2", 3), ("[]x", 3), ("null,", 5), ("\"a\"\"b\"", 4), ("{}}", 3), ("[] //", 4)] {
            let error = try #require(readError(document), "\(document)")
            #expect(error.kind == .trailingContent, "\(document): \(error)")
            #expect(error.column == Int32(column), "\(document): \(error)")
        }
        #expect(try read(" [1] \n\t\r ") == .array([.number("1")]))
    }

    @Test("only space, tab, line feed and carriage return are whitespace")
    func whitespace() throws {
        #expect(try read(" \t\n\r[ \t\n\r1 \t\n\r, \t\n\r2 \t\n\r] \t\n\r") == .array([.number("1"), .number("2")]))
        for other in ["\u{0C}", "\u{0B}", "\u{A0}", "\u{2028}", "\u{FEFF}", "\u{0}"] {
            let error = try #require(readError("[1,\(other)2]"))
            #expect(error.kind == .unexpectedCharacter, "\(other.unicodeScalars.first?.value ?? 0): \(error)")
        }
    }

    @Test("structural mistakes are refused with the position of the problem")
    func structuralMistakes() throws {
        let cases: [(String, JSONSyntaxError.Kind, Int32, Int32)] = [
            ("[1,]", .unexpectedCharacter, 1, 4),
            ("{\"a\":1,}", .unexpectedCharacter, 1, 8),
            ("[1 2]", .unexpectedCharacter, 1, 4),
            ("{\"a\" 1}", .unexpectedCharacter, 1, 6),
            ("{\"a\":1 \"b\":2}", .unexpectedCharacter, 1, 8),
            ("{a:1}", .unexpectedCharacter, 1, 2),
            ("['a']", .unexpectedCharacter, 1, 2),
            ("[1,\n// comment\n2]", .unexpectedCharacter, 2, 1),
            ("{\"a\":1]", .unexpectedCharacter, 1, 7),
            ("[1}", .unexpectedCharacter, 1, 3),
            ("[", .unexpectedEndOfInput, 1, 2),
            ("[1,", .unexpectedEndOfInput, 1, 4),
            ("{", .unexpectedEndOfInput, 1, 2),
            ("{\"a\"", .unexpectedEndOfInput, 1, 5),
            ("{\"a\":", .unexpectedEndOfInput, 1, 6),
            ("{\"a\":1", .unexpectedEndOfInput, 1, 7),
            ("{\"a\":1,\n", .unexpectedEndOfInput, 2, 1),
            ("]", .unexpectedCharacter, 1, 1),
            (":", .unexpectedCharacter, 1, 1),
        ]
        for (document, kind, line, column) in cases {
            let error = try #require(readError(document), "\(document)")
            #expect(error.kind == kind, "\(document): \(error)")
            #expect(error.line == line && error.column == column, "\(document): \(error)")
        }
    }

    @Test("error messages name what was expected and what was found")
    func errorMessages() throws {
        #expect(readError("[1 2]")?.message == "Expected ',' or ']' after an array element but found '2'")
        #expect(readError("{\"a\":1,}")?.message == "Expected a member name in double quotes but found '}' (a trailing comma is not allowed)")
        #expect(readError("{\"a\" 1}")?.message == "Expected ':' after the member name \"a\" but found '1'")
        #expect(readError("[1]x")?.description == "line 1, column 4: Unexpected 'x' after the end of the JSON value")
        #expect(readError("[\"a\tb\"]")?.message.contains("U+0009") == true)
    }

    @Test("the broken fixtures are refused where the Java validator refuses them")
    func brokenFixtures() throws {
        let expectations: [(String, JSONSyntaxError.Kind, Int32, Int32)] = [
            ("bad-json-close-1.json", .unexpectedCharacter, 15, 11),
            ("bad-json-close-2.json", .unexpectedCharacter, 15, 11),
            ("bad-json-close-3.json", .unexpectedCharacter, 16, 9),
            ("observation-with-trailing-dot.json", .invalidNumber, 22, 18),
        ]
        for (name, kind, line, column) in expectations {
            let bytes = try #require(readFixture(fhirExamplesDirectory() + "/invalid/" + name), "\(name) is missing")
            let error = try #require(readError(bytes), "\(name)")
            #expect(error.kind == kind, "\(name): \(error)")
            #expect(error.line == line && error.column == column, "\(name): \(error)")
        }
    }
}

@Test func syntaxErrorCarriesThePathOfTheOpenContainers() {
    let error = readError(#"{"entry":[{"resource":{"name":[{"given":["a"}]}}]}"#)
    #expect(error?.path == [.key("entry"), .index(0), .key("resource"), .key("name"), .index(0), .key("given"), .index(1)])
    #expect(readError("[1, 2, 925.]")?.path == [.index(2)])
    #expect(readError("{} x")?.path == [])
}
