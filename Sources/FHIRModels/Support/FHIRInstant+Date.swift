import Foundation

extension FHIRInstant {
    /// `2026-03-03T10:00:00.123Z`: a time in UTC with milliseconds, the project's one way of
    /// writing one (in resources, log lines and the command line's output).
    public static func text(_ date: Date) -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).format(date)
    }
}
