import Foundation

import Logging
import Testing

@testable import SystemdSupport

@Suite struct LogLineTests {
    @Test func jsonLinesCarryNumbersAndBooleansAsThemselvesAndTheRestAsStrings() throws {
        let line = JournalLogHandler.render(
            level: .info, message: "request",
            fields: [
                "http.status": .stringConvertible(422), "duration.ms": .stringConvertible(1.25), "mutual.tls": .stringConvertible(true),
                "case": "0042", "list": .array([.stringConvertible(1), "a"]),
            ],
            format: .json, time: "2026-12-03T04:05:06.789Z")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["time"] as? String == "2026-12-03T04:05:06.789Z")
        #expect(object["http.status"] as? Int == 422)
        #expect(object["duration.ms"] as? Double == 1.25)
        #expect(object["mutual.tls"] as? Bool == true)
        // A pseudonym that happens to be all digits stays a string.
        #expect(object["case"] as? String == "0042")
        #expect(line.hasPrefix("{\"time\":"))
    }

    @Test func logfmtLinesStartWithTheTimeOnlyWhenGivenOne() {
        let withTime = JournalLogHandler.render(level: .notice, message: "listening", fields: ["port": .stringConvertible(8443)], format: .logfmt, time: "T")
        #expect(withTime == "time=T level=notice msg=listening port=8443")
        let journald = JournalLogHandler.render(level: .notice, message: "listening", fields: [:], format: .logfmt)
        #expect(journald == "level=notice msg=listening")
    }

    @Test func timestampsAreRFC3339InUTCWithMilliseconds() {
        #expect(JournalLogHandler.timestamp(timespec(tv_sec: 0, tv_nsec: 5_000_000)) == "1970-01-01T00:00:00.005Z")
        #expect(JournalLogHandler.timestamp(timespec(tv_sec: 1_795_000_000, tv_nsec: 999_999_999)) == "2026-11-18T11:06:40.999Z")
    }

    @Test func standardErrorIsTheJournalOnlyWhenJournalStreamNamesIt() {
        let stream = JournalLogHandler.standardErrorStream() ?? "no standard error"
        #expect(JournalLogHandler.standardErrorIsJournal(environment: ["JOURNAL_STREAM": stream]))
        #expect(!JournalLogHandler.standardErrorIsJournal(environment: ["JOURNAL_STREAM": stream + "1"]))
        #expect(!JournalLogHandler.standardErrorIsJournal(environment: ["JOURNAL_STREAM": "garbage"]))
        #expect(!JournalLogHandler.standardErrorIsJournal(environment: [:]))
    }
}
