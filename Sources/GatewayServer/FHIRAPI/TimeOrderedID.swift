import Foundation

/// Logical ids for the resources the gateway names (a create, a Bundle entry without an id):
/// UUIDs of version 7 (RFC 9562), a millisecond timestamp followed by 74 random bits.
///
/// Random (version 4) ids scattered every insert over the store's primary-key index, so each
/// request dirtied its own index page, and every page went to the write-ahead log and through
/// fsync on the single writer. Time-ordered ids land next to each other, and a commit group's
/// inserts share a page or two. They stay unguessable enough for ids that carry no meaning and
/// give nothing away but the time of the create, which `meta.lastUpdated` says anyway.
enum TimeOrderedID {
    /// A new id, in the lowercase 8-4-4-4-12 form.
    static func make(at date: Date = Date()) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(milliseconds: UInt64(max(0, date.timeIntervalSince1970 * 1000)), using: &generator)
    }

    static func make(milliseconds: UInt64, using generator: inout some RandomNumberGenerator) -> String {
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        let time = milliseconds & 0xFFFF_FFFF_FFFF
        let bytes: [UInt8] = [
            UInt8(truncatingIfNeeded: time >> 40), UInt8(truncatingIfNeeded: time >> 32), UInt8(truncatingIfNeeded: time >> 24),
            UInt8(truncatingIfNeeded: time >> 16), UInt8(truncatingIfNeeded: time >> 8), UInt8(truncatingIfNeeded: time),
            // Version 7, then 12 random bits.
            0x70 | UInt8(truncatingIfNeeded: high >> 60), UInt8(truncatingIfNeeded: high >> 52),
            // Variant 0b10, then 62 random bits.
            0x80 | UInt8(truncatingIfNeeded: low >> 58), UInt8(truncatingIfNeeded: low >> 50), UInt8(truncatingIfNeeded: low >> 42),
            UInt8(truncatingIfNeeded: low >> 34), UInt8(truncatingIfNeeded: low >> 26), UInt8(truncatingIfNeeded: low >> 18),
            UInt8(truncatingIfNeeded: low >> 10), UInt8(truncatingIfNeeded: low >> 2),
        ]
        let uuid = UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10], bytes[11],
                bytes[12], bytes[13], bytes[14], bytes[15]
            ))
        return uuid.uuidString.lowercased()
    }
}
