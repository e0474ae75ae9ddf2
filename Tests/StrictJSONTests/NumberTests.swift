import StrictJSON
import Testing

@Suite("Numbers")
struct NumberTests {
    @Test(
        "numbers keep their exact source text",
        arguments: [
            "0.010", "1E-22", "-1.000000000000000000E+245", "-0", "0", "-0.0", "1e5", "1E+5", "1.5e-3", "925.0", "10",
            "123456789012345678901234567890", "0.1234567890123456789", "2e308",
        ]
    )
    func numbersKeepExactText(_ text: String) throws {
        #expect(try read("[\(text)]") == .array([.number(text)]))
        #expect(try read(text) == .number(text))
        #expect(try read("{\"v\":\(text)}")["v"] == .number(text))
    }

    @Test(
        "forbidden numbers are refused as invalid numbers",
        arguments: [
            "01", "-01", "00", "925.", ".5", "+1", "1.e5", "-", "NaN", "Infinity", "-Infinity", "0x1F", "1e", "1e+", "1E-",
            "--1", "1.5.3", "1e5e3", "1-2", "1a", "-.5", "0.", "1.5e", "-e5",
        ]
    )
    func forbiddenNumbersRefused(_ text: String) throws {
        let error = try #require(readError("[\(text)]"))
        #expect(error.kind == .invalidNumber, "\(text): \(error)")
        #expect(error.line == 1 && error.column == 2, "\(text): \(error)")
        let topLevel = try #require(readError(text))
        #expect(topLevel.kind == .invalidNumber, "\(text): \(topLevel)")
    }

    @Test("a trailing decimal point is reported at the number, with the line and column")
    func trailingDecimalPointPosition() throws {
        let document = "{\n  \"low\": 210.0,\n  \"high\": 925.,\n  \"unit\": \"pg/mL\"\n}"
        let error = try #require(readError(document))
        #expect(error.kind == .invalidNumber)
        #expect(error.line == 3)
        #expect(error.column == 11)
        #expect(error.message == "The number '925.' is not valid JSON: a decimal point must be followed by digits")
        #expect(error.description == "line 3, column 11: The number '925.' is not valid JSON: a decimal point must be followed by digits")
    }

    @Test("leading zeros, hexadecimal and NaN have their own messages")
    func numberMessages() throws {
        #expect(readError("[01]")?.message == "The number '01' is not valid JSON: leading zeros are not allowed")
        #expect(readError("[0x1F]")?.message == "The number '0x1F' is not valid JSON: hexadecimal numbers are not allowed")
        #expect(readError("[-]")?.message == "The number '-' is not valid JSON: a minus sign must be followed by digits")
        #expect(readError("[1e+]")?.message == "The number '1e+' is not valid JSON: an exponent must have digits")
        #expect(readError("[1x5]")?.message == "The number '1x5' is not valid JSON: 'x' cannot follow '1'")
        #expect(readError("[1.5.3]")?.message == "The number '1.5.3' is not valid JSON: '.' cannot follow '1.5'")
        #expect(readError("[NaN]")?.message.contains("NaN and Infinity are not allowed") == true)
        #expect(readError("[-Infinity]")?.message.contains("NaN and Infinity are not allowed") == true)
    }

    @Test("a number ends at a delimiter, whitespace or the end of the input")
    func numberDelimiters() throws {
        #expect(try read("[1,2 ,3\n,4\t]") == .array([.number("1"), .number("2"), .number("3"), .number("4")]))
        #expect(try read("{\"a\":-12.5e+7}")["a"] == .number("-12.5e+7"))
        #expect(try read(" 42 ") == .number("42"))
    }
}
