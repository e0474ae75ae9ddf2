import FHIRCore
import FHIRPath

/// The FHIRPath parser, and evaluation of what parses against a fixed Observation: an error is an
/// answer, a trap is not. Expressions with a regular expression (`matches`, `matchesFull`,
/// `replaceMatches`) are parsed but not evaluated: Swift's `Regex` backtracks, so a pattern such as
/// `(a+)+$` takes exponential time on a short string. The gateway's patterns come from its profiles
/// (checked by hand not to nest repetitions), never from a request.
enum FHIRPathTarget {
    static let observation: FHIRNode? = FHIRReader().read(Array(observationJSON.utf8), format: .json).resource

    static func check(_ bytes: [UInt8]) throws(FuzzInvariantViolation) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        guard let expression = try? FHIRPathExpression(text) else { return }
        guard !text.contains("atches") else { return }
        guard let observation else {
            try invariant(false, .fhirPath, "the fixed Observation does not read")
            return
        }
        _ = try? expression.evaluate(observation)
    }

    static let observationJSON = """
        {"resourceType":"Observation","id":"f1","meta":{"lastUpdated":"2024-05-01T10:00:00Z"},
        "status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"imaging"}]}],
        "code":{"coding":[{"system":"http://loinc.org","code":"12345-6","display":"ADC"}],"text":"ADC"},
        "subject":{"reference":"Patient/p1"},"effectiveDateTime":"2024-04-30T09:15:00+02:00",
        "valueQuantity":{"value":0.010,"unit":"mm2/s","system":"http://unitsofmeasure.org","code":"mm2/s"},
        "component":[{"code":{"text":"a"},"valueInteger":7},{"code":{"text":"b"},"valueString":"x y"},
        {"code":{"text":"c"},"valueBoolean":true},{"code":{"text":"d"},"valuePeriod":{"start":"2024-01-01","end":"2024-12-31T23:59:59Z"}}],
        "extension":[{"url":"http://example.org/e","valueDecimal":-1.50}]}
        """
}
