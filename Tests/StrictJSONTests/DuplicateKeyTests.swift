import StrictJSON
import Testing

@Suite("Duplicate keys")
struct DuplicateKeyTests {
    @Test("a duplicate key in a small object is refused at its second occurrence")
    func smallObjectDuplicateRefused() throws {
        let error = try #require(readError("{\"status\": \"final\",\n \"status\": \"draft\"}"))
        #expect(error.kind == .duplicateKey)
        #expect(error.message == "Duplicate key \"status\" in object")
        #expect(error.line == 2 && error.column == 2)
        #expect(readError("{\"a\":1,\"a\":1}")?.kind == .duplicateKey)
        #expect(readError("{\"a\":1,\"b\":2,\"c\":3,\"b\":4}")?.kind == .duplicateKey)
    }

    @Test("a duplicate key in a 50-member object is refused", arguments: [0, 1, 15, 16, 17, 30, 48])
    func largeObjectDuplicateRefused(_ repeated: Int) throws {
        var members = (0..<49).map { "\"key\($0)\": \($0)" }
        members.append("\"key\(repeated)\": true")
        let document = "{" + members.joined(separator: ",") + "}"
        let error = try #require(readError(document))
        #expect(error.kind == .duplicateKey)
        #expect(error.message == "Duplicate key \"key\(repeated)\" in object")
        let expectedColumn = document.utf8.count - "\"key\(repeated)\": true}".utf8.count + 1
        #expect(error.column == Int32(expectedColumn))
    }

    @Test("a 50-member object with distinct keys is accepted, in document order")
    func largeObjectDistinctAccepted() throws {
        let document = "{" + (0..<50).reversed().map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}"
        let members = try #require(try read(document).members)
        #expect(members.map(\.key) == (0..<50).reversed().map { "k\($0)" })
    }

    @Test("nested objects may reuse the keys of their parents and siblings")
    func nestedObjectsReuseKeys() throws {
        let document = #"{"id":"1","child":{"id":"2","child":{"id":"3"}},"list":[{"id":"4"},{"id":"5"}]}"#
        let value = try read(document)
        #expect(value["child"]?["child"]?["id"] == .string("3"))
        #expect(value["list"]?.elements?.count == 2)
    }

    @Test("keys that are equal after unescaping are duplicates")
    func escapedDuplicatesRefused() throws {
        #expect(readError(#"{"a":1,"\u0061":2}"#)?.kind == .duplicateKey)
        #expect(readError(#"{"\/":1,"/":2}"#)?.kind == .duplicateKey)
        let manyMembers = (0..<20).map { "\"m\($0)\":0" }.joined(separator: ",")
        #expect(readError("{\(manyMembers),\"\\u0061\":1,\"a\":2}")?.kind == .duplicateKey)
    }

    @Test("keys are compared by code points, not by canonical equivalence")
    func canonicallyEquivalentKeysAreDistinct() throws {
        // "é" precomposed (U+00E9) and decomposed (e + U+0301) are different JSON member names.
        #expect(try read("{\"\u{E9}\":1,\"e\u{301}\":2}").members?.count == 2)
        let manyMembers = (0..<20).map { "\"m\($0)\":0" }.joined(separator: ",")
        #expect(try read("{\(manyMembers),\"\u{E9}\":1,\"e\u{301}\":2}").members?.count == 22)
    }
}
