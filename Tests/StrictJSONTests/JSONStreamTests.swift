import Foundation
import StrictJSON
import TestSupport
import Testing

/// `JSONStream` must accept exactly what `JSONReader` accepts, read the same values, and refuse
/// with the same first error (without its path).
struct JSONStreamTests {
    /// Builds a `JSONValue` by pulling from the stream, as a decoder would.
    static func pull(_ stream: inout JSONStream) throws(JSONSyntaxError) -> JSONValue {
        let kind = try stream.nextValueKind()
        switch kind {
        case .object:
            try stream.enterObject()
            var members: [JSONMember] = []
            while let key = try stream.nextKey() {
                members.append(JSONMember(key: key.name, value: try pull(&stream), line: key.line, column: key.column))
            }
            stream.endObject()
            return .object(members)
        case .array:
            try stream.enterArray()
            var elements: [JSONValue] = []
            while try stream.nextElement() { elements.append(try pull(&stream)) }
            return .array(elements)
        case .string: return .string(try stream.readString())
        case .number: return .number(try stream.readNumber())
        case .bool: return .bool(try stream.readBool())
        case .null:
            try stream.readNull()
            return .null
        }
    }

    /// Reads a whole document through the stream: the value, or the error.
    static func streamed(_ bytes: [UInt8], limits: JSONLimits = .default, skipping: Bool = false) -> Result<JSONValue, JSONSyntaxError> {
        bytes.withUnsafeBytes { buffer in
            do throws(JSONSyntaxError) {
                var stream = try JSONStream(buffer, limits: limits)
                let value: JSONValue
                if skipping {
                    try stream.skipValue(try stream.nextValueKind())
                    value = .null
                } else {
                    value = try pull(&stream)
                }
                try stream.finish()
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
    }

    static func sameOutcome(_ bytes: [UInt8], limits: JSONLimits = .default) {
        let reader = Result { () throws(JSONSyntaxError) -> JSONValue in try JSONReader(limits: limits).read(bytes) }
        for skipping in [false, true] {
            switch (reader, streamed(bytes, limits: limits, skipping: skipping)) {
            case (.success(let expected), .success(let value)):
                if !skipping { #expect(value == expected) }
            case (.failure(let expected), .failure(let error)):
                #expect(error.kind == expected.kind, "\(error) vs \(expected)")
                #expect(error.message == expected.message)
                #expect(error.line == expected.line && error.column == expected.column, "\(error) vs \(expected)")
            case (let expected, let got):
                Issue.record("JSONReader: \(expected), JSONStream (skipping: \(skipping)): \(got)")
            }
        }
    }

    @Test func everyCorpusDocumentReadsToTheSameValue() throws {
        let directory = Fixtures.r4.path
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }
        #expect(names.count >= 125)
        for name in names {
            let bytes = try #require(FileManager.default.contents(atPath: directory + "/" + name))
            Self.sameOutcome(Array(bytes))
        }
    }

    @Test(arguments: [
        "", "   ", "{", "[", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "[1 2]", "{\"a\":1,\"a\":2}", "[01]", "[925.]",
        "[\"\\x\"]", "[tru]", "[nul]", "{} x", "[1]]", "{\"a\":[{\"b\":{\"c\":[1,2,{\"d\":null}]}}]}", "\u{FEFF}[1]", "[\"a\u{1}\"]",
    ])
    func brokenAndTrickyDocumentsGetTheReadersAnswer(_ text: String) {
        Self.sameOutcome(Array(text.utf8))
    }

    @Test func limitsAreTheReadersLimits() {
        let deep = String(repeating: "[", count: 70) + String(repeating: "]", count: 70)
        Self.sameOutcome(Array(deep.utf8))
        Self.sameOutcome(Array("[1,2,3,4]".utf8), limits: JSONLimits(maxArrayCount: 3))
        Self.sameOutcome(Array("{\"a\":1,\"b\":2,\"c\":3}".utf8), limits: JSONLimits(maxObjectMembers: 2))
        Self.sameOutcome(Array("[1,[2,[3]]]".utf8), limits: JSONLimits(maxTotalValues: 4))
        Self.sameOutcome(Array("[\"abcdef\"]".utf8), limits: JSONLimits(maxStringBytes: 5))
        Self.sameOutcome(Array("[1, 2]".utf8), limits: JSONLimits(maxBytes: 5))
        let keys = "{" + (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k7\":0}"
        Self.sameOutcome(Array(keys.utf8))
    }

    @Test func aMarkReadsTheSameMembersAgain() throws {
        let bytes = Array(#"{"a":[1,{"b":2}],"c":"x","d":{"e":null}}"#.utf8)
        try bytes.withUnsafeBytes { buffer in
            var stream = try JSONStream(buffer, limits: .default)
            #expect(try stream.nextValueKind() == .object)
            try stream.enterObject()
            let mark = stream.mark()
            var first: [String] = []
            while let key = try stream.nextKey() {
                first.append(key.name)
                try stream.skipValue(try stream.nextValueKind())
            }
            #expect(stream.keyPosition("c")?.column == 18)
            #expect(stream.keyPosition("z") == nil)
            stream.reset(to: mark)
            var second: [String] = []
            while let key = try stream.nextKey() {
                second.append(key.name)
                _ = try Self.pull(&stream)
            }
            stream.endObject()
            try stream.finish()
            #expect(first == ["a", "c", "d"])
            #expect(second == first)
        }
    }
}
