import StrictJSON
import Testing

@Suite("Hostile input and limits")
struct HostileInputTests {
    @Test("100,000 nested arrays are refused at the depth limit")
    func deepArraysRefused() throws {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        let error = try #require(readError(bytes))
        #expect(error.kind == .limitExceeded)
        #expect(error.message == "Nesting deeper than 64 levels (maxDepth)")
        #expect(error.line == 1 && error.column == 65)
    }

    @Test("100,000 nested objects are refused at the depth limit")
    func deepObjectsRefused() throws {
        let document = String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        let error = try #require(readError(document))
        #expect(error.kind == .limitExceeded)
        #expect(error.message == "Nesting deeper than 64 levels (maxDepth)")
        #expect(error.column == Int32(64 * 5 + 1))
    }

    @Test("nesting up to the depth limit is accepted, one more level is refused")
    func depthLimitBoundary() throws {
        let limits = JSONLimits(maxDepth: 10)
        let ten = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        #expect(readError(ten, limits: limits) == nil)
        let eleven = String(repeating: "[", count: 11) + String(repeating: "]", count: 11)
        #expect(readError(eleven, limits: limits)?.message == "Nesting deeper than 10 levels (maxDepth)")
        let mixed = String(repeating: "{\"a\":[", count: 5) + "1" + String(repeating: "]}", count: 5)
        #expect(readError(mixed, limits: limits) == nil)
        #expect(readError("[" + mixed + "]", limits: limits)?.kind == .limitExceeded)
    }

    @Test("nesting is tracked without recursion: 1,000 levels read when maxDepth allows them")
    func deepNestingWithRaisedLimit() throws {
        let depth = 1_000
        let document = String(repeating: "{\"a\":[", count: depth / 2) + "true" + String(repeating: "]}", count: depth / 2)
        var value = try JSONReader(limits: JSONLimits(maxDepth: depth)).read(Array(document.utf8))
        for _ in 0..<depth / 2 {
            let inner = try #require(value["a"]?.elements?.first)
            value = inner
        }
        #expect(value == .bool(true))
        #expect(readError(document, limits: JSONLimits(maxDepth: depth - 1))?.kind == .limitExceeded)
    }

    @Test("a 10 MB string is refused: by maxBytes by default, by maxStringBytes when maxBytes allows it")
    func hugeStringRefused() throws {
        var bytes: [UInt8] = [UInt8(ascii: "["), UInt8(ascii: "\"")]
        bytes += [UInt8](repeating: UInt8(ascii: "x"), count: 10_000_000)
        bytes += [UInt8(ascii: "\""), UInt8(ascii: "]")]
        let byDefault = try #require(readError(bytes))
        #expect(byDefault.kind == .limitExceeded)
        #expect(byDefault.message == "The document is 10000004 bytes, more than the limit of 8388608 bytes (maxBytes)")
        let raised = try #require(readError(bytes, limits: JSONLimits(maxBytes: 16 * 1024 * 1024)))
        #expect(raised.kind == .limitExceeded)
        #expect(raised.message == "A string longer than 1048576 bytes (maxStringBytes)")
        #expect(raised.line == 1 && raised.column == 2)
    }

    @Test("the string limit counts decoded bytes, in keys and values")
    func stringLimitCountsDecodedBytes() throws {
        let limits = JSONLimits(maxStringBytes: 4)
        #expect(readError(#"["abcd"]"#, limits: limits) == nil)
        #expect(readError(#"["ééé"]"#, limits: limits)?.kind == .limitExceeded)
        #expect(readError(#"["\u00e9\u00e9"]"#, limits: limits) == nil)
        #expect(readError(#"["\n\n\n\n"]"#, limits: limits) == nil)
        #expect(readError(#"["\n\n\n\n\n"]"#, limits: limits)?.kind == .limitExceeded)
        #expect(readError(#"["\uD83D\uDE00"]"#, limits: limits) == nil)
        #expect(readError(#"["abcde"]"#, limits: limits)?.kind == .limitExceeded)
        #expect(readError(#"{"abcde":1}"#, limits: limits)?.kind == .limitExceeded)
        #expect(readError(#"["abcdefghijklmnopqrstuvwxyz"]"#, limits: limits)?.kind == .limitExceeded)
    }

    static func distinctKeysDocument(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(count * 14)
        for index in 0..<count {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += Array("\"k\(index)\":0".utf8)
        }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    @Test("an object with 1,000,000 distinct keys is refused with default limits")
    func millionKeysRefusedByDefault() throws {
        let bytes = Self.distinctKeysDocument(1_000_000)
        #expect(readError(bytes)?.kind == .limitExceeded)
        let error = try #require(readError(bytes, limits: JSONLimits(maxBytes: 64 * 1024 * 1024)))
        #expect(error.kind == .limitExceeded)
        #expect(error.message == "An object with more than 10000 members (maxObjectMembers)")
    }

    @Test("an object with 1,000,000 distinct keys is read when the limits allow it")
    func millionKeysAcceptedWithRaisedLimits() throws {
        let bytes = Self.distinctKeysDocument(1_000_000)
        let limits = JSONLimits(maxBytes: 64 * 1024 * 1024, maxObjectMembers: 1_000_000)
        let members = try #require(try JSONReader(limits: limits).read(bytes).members)
        #expect(members.count == 1_000_000)
        #expect(members.last?.key == "k999999")
        // One duplicate at the very end is still found.
        let duplicate = Array(bytes.dropLast()) + Array(",\"k123456\":1}".utf8)
        #expect(readError(duplicate, limits: JSONLimits(maxBytes: 64 * 1024 * 1024, maxObjectMembers: 2_000_000))?.kind == .duplicateKey)
    }

    @Test("an array over the element limit is refused")
    func arrayCountLimit() throws {
        let document = "[" + Array(repeating: "0", count: 100_001).joined(separator: ",") + "]"
        let error = try #require(readError(document))
        #expect(error.kind == .limitExceeded)
        #expect(error.message == "An array with more than 100000 elements (maxArrayCount)")
        #expect(readError("[" + Array(repeating: "0", count: 100_000).joined(separator: ",") + "]") == nil)
        let limits = JSONLimits(maxArrayCount: 3)
        #expect(readError("[1,2,3]", limits: limits) == nil)
        #expect(readError("[1,2,3,4]", limits: limits)?.column == 8)
        #expect(readError("[[1,2,3],[4,5,6]]", limits: limits) == nil)
    }

    @Test("object members and total values are limited")
    func memberAndValueLimits() throws {
        #expect(readError(#"{"a":1,"b":2}"#, limits: JSONLimits(maxObjectMembers: 2)) == nil)
        #expect(readError(#"{"a":1,"b":2,"c":3}"#, limits: JSONLimits(maxObjectMembers: 2))?.kind == .limitExceeded)
        #expect(readError("[1,2,3]", limits: JSONLimits(maxTotalValues: 4)) == nil)
        let error = try #require(readError("[1,2,[3]]", limits: JSONLimits(maxTotalValues: 4)))
        #expect(error.kind == .limitExceeded)
        #expect(error.message == "More than 4 values in the document (maxTotalValues)")
        #expect(error.column == 7)
    }

    @Test("input over maxBytes is refused before it is read")
    func maxBytesCheckedFirst() throws {
        let error = try #require(readError("[1,2,3", limits: JSONLimits(maxBytes: 5)))
        #expect(error.kind == .limitExceeded)
        #expect(error.message == "The document is 6 bytes, more than the limit of 5 bytes (maxBytes)")
        #expect(readError("[1,2]", limits: JSONLimits(maxBytes: 5)) == nil)
    }

    @Test("truncated documents are refused without crashing at every cut")
    func everyTruncationRefused() throws {
        let document = Array(#"{"a":[1,-2.5e3,true,false,null,"x\u00e9\n😀"],"b":{"c":{}},"d":[]}"#.utf8)
        #expect(readError(document) == nil)
        for cut in 0..<document.count {
            let prefix = Array(document[..<cut])
            let error = readError(prefix)
            #expect(error != nil, "cut at \(cut)")
        }
    }
}
