import Foundation
import StrictJSON
import TestSupport
import Testing

/// The R4 examples of the project's fixtures (Tests/Fixtures): the tests fail when it is missing.
func fhirExamplesDirectory() -> String {
    Fixtures.r4.path
}

/// The bytes of the file at `path`, or nil when it cannot be read.
func readFixture(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}

@Suite("Agreement with JSONSerialization on the FHIR R4 examples")
struct FoundationComparisonTests {
    static func exampleFiles() throws -> [String] {
        let directory = fhirExamplesDirectory()
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        return names.filter { $0.hasSuffix(".json") }.sorted().map { directory + "/" + $0 }
    }

    @Test("the R4 examples folder holds the 125 JSON examples")
    func examplesPresent() throws {
        let files = try Self.exampleFiles()
        #expect(files.count == 125, "expected 125 JSON examples in \(fhirExamplesDirectory()), found \(files.count)")
    }

    @Test("JSONReader and JSONSerialization agree on every R4 JSON example")
    func agreeOnEveryExample() throws {
        let files = try Self.exampleFiles()
        try #require(!files.isEmpty, "no JSON examples in \(fhirExamplesDirectory())")
        var numbersChecked = 0
        var stringsChecked = 0
        for path in files {
            let bytes = try #require(readFixture(path), "cannot read \(path)")
            let ours = try JSONReader().read(bytes)
            let theirs = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            var comparison = Comparison(source: bytes)
            comparison.compare(ours, theirs, path: "$")
            numbersChecked += comparison.numbers
            stringsChecked += comparison.strings
            let name = path.split(separator: "/").last.map(String.init) ?? path
            #expect(comparison.problems.isEmpty, "\(name): \(comparison.problems.prefix(5).joined(separator: "; "))")
        }
        #expect(numbersChecked > 100)
        #expect(stringsChecked > 10_000)
    }
}

/// Walks both trees side by side and records every disagreement.
struct Comparison {
    let source: [UInt8]
    var problems: [String] = []
    var numbers = 0
    var strings = 0

    init(source: [UInt8]) {
        self.source = source
    }

    mutating func compare(_ ours: JSONValue, _ theirs: Any, path: String) {
        switch ours {
        case .object(let members):
            guard let dictionary = theirs as? [String: Any] else {
                problems.append("\(path): object vs \(type(of: theirs))")
                return
            }
            if dictionary.count != members.count {
                problems.append("\(path): \(members.count) members vs \(dictionary.count)")
            }
            for member in members {
                strings += 1
                guard let other = dictionary[member.key] else {
                    problems.append("\(path): key \(member.key) missing in JSONSerialization's result")
                    continue
                }
                compare(member.value, other, path: path + "." + member.key)
            }
        case .array(let elements):
            guard let array = theirs as? [Any] else {
                problems.append("\(path): array vs \(type(of: theirs))")
                return
            }
            if array.count != elements.count {
                problems.append("\(path): \(elements.count) elements vs \(array.count)")
            }
            for (index, (element, other)) in zip(elements, array).enumerated() {
                compare(element, other, path: "\(path)[\(index)]")
            }
        case .string(let string):
            strings += 1
            guard let other = theirs as? String else {
                problems.append("\(path): string vs \(type(of: theirs))")
                return
            }
            if Array(other.utf8) != Array(string.utf8) {
                problems.append("\(path): string \(string.debugDescription) vs \(other.debugDescription)")
            }
        case .number(let text):
            numbers += 1
            guard let ourDouble = Double(text) else {
                problems.append("\(path): number text \(text) is not a Double")
                return
            }
            guard let number = theirs as? NSNumber else {
                problems.append("\(path): number vs \(type(of: theirs))")
                return
            }
            // JSONSerialization does not always round to the nearest Double (it reads 66.899999999999991 as
            // 66.89999999999998), so allow a few units in the last place.
            if abs(number.doubleValue - ourDouble) > 4 * ourDouble.ulp {
                problems.append("\(path): number \(text) = \(ourDouble) vs \(number.doubleValue)")
            }
            if source.firstRange(of: Array(text.utf8)) == nil {
                problems.append("\(path): number text \(text) does not appear in the source")
            }
        case .bool(let bool):
            guard let other = theirs as? Bool else {
                problems.append("\(path): bool vs \(type(of: theirs))")
                return
            }
            if other != bool {
                problems.append("\(path): \(bool) vs \(other)")
            }
        case .null:
            if !(theirs is NSNull) {
                problems.append("\(path): null vs \(type(of: theirs))")
            }
        }
    }
}
