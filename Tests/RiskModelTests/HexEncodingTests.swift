import Foundation
import RiskModel
import Testing

struct HexEncodingTests {
    @Test func bytesBecomeLowercaseHexDigitsTwoPerByte() {
        #expect([UInt8]().hexEncoded == "")
        #expect([0x00, 0x0f, 0xa0, 0xff].hexEncoded == "000fa0ff")
        let all = (0...255).map(UInt8.init)
        #expect(all.hexEncoded == all.map { String(format: "%02x", $0) }.joined())
    }
}
