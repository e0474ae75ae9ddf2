import Foundation
import Testing

@testable import GatewayServer

/// The ids the gateway gives created resources: RFC 9562 version 7, in time order.
struct TimeOrderedIDTests {
    @Test func idsAreVersion7UUIDsThatSortByTheirTime() throws {
        var generator = SystemRandomNumberGenerator()
        let times: [UInt64] = [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_999, 1_800_000_000_000]
        let ids = times.map { TimeOrderedID.make(milliseconds: $0, using: &generator) }
        for id in ids {
            let uuid = try #require(UUID(uuidString: id))
            #expect(uuid.uuidString.lowercased() == id)
            let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 7, "version 7")
            #expect(bytes[8] >> 6 == 0b10, "RFC 9562 variant")
        }
        // The first 48 bits are the time in milliseconds.
        #expect(ids[0].hasPrefix("018bcfe5-6800-7"))
        #expect(ids == ids.sorted())
    }

    @Test func idsMadeInTheSameMillisecondDifferInTheirRandomBits() {
        var generator = SystemRandomNumberGenerator()
        let ids = (0..<10_000).map { _ in TimeOrderedID.make(milliseconds: 1_700_000_000_000, using: &generator) }
        #expect(Set(ids).count == ids.count)
        #expect(Set(ids.map { $0.prefix(13) }).count == 1)
    }
}
