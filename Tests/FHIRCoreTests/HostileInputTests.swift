import FHIRCore
import Testing

/// Hostile documents in both formats are refused with an OperationOutcome, quickly (limits fail
/// fast; the time is not asserted here, the benchmark measures speed) and without crashing.
@Suite struct HostileInputTests {
    func refused(_ text: String, code: FHIRIssue.Code? = nil, words: String) {
        refused(Array(text.utf8), code: code, words: words)
    }

    func refused(_ bytes: [UInt8], code: FHIRIssue.Code? = nil, words: String) {
        let result = FHIRReader().read(bytes)
        #expect(result.resource == nil)
        let fatal = result.issues.first { $0.severity == .fatal }
        #expect(fatal != nil, "\(result.issues)")
        if let code { #expect(fatal?.code == code, "\(result.issues)") }
        #expect(fatal?.diagnostics.contains(words) == true, "\(result.issues)")
        // The refusal is itself a well-formed OperationOutcome.
        let outcome = FHIRJSONWriter().string(result.operationOutcome)
        #expect(FHIRReader().read(Array(outcome.utf8)).isValid)
    }

    @Test func xmlExternalEntityIsRefusedWithoutReadingTheFile() {
        let xml =
            #"<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"><id value="&xxe;"/></Patient>"#
        let result = FHIRReader().read(Array(xml.utf8))
        #expect(result.resource == nil)
        #expect(result.issues.first?.code == .security)
        #expect(!result.issues.contains { $0.diagnostics.contains("root:") })
    }

    @Test func xmlBillionLaughsIsRefused() {
        var dtd = #"<!ENTITY lol "lol">"#
        for level in 1...9 {
            let previous = level == 1 ? "lol" : "lol\(level - 1)"
            dtd += "<!ENTITY lol\(level) \"" + String(repeating: "&\(previous);", count: 10) + "\">"
        }
        refused(
            "<?xml version=\"1.0\"?><!DOCTYPE Patient [\(dtd)]><Patient xmlns=\"http://hl7.org/fhir\"><id value=\"&lol9;\"/></Patient>",
            code: .security, words: "DTDs and entity declarations are not accepted")
    }

    @Test func xmlQuadraticBlowUpIsRefused() {
        let big = String(repeating: "a", count: 50_000)
        let refs = String(repeating: "&a;", count: 5_000)
        refused(
            "<!DOCTYPE Patient [<!ENTITY a \"\(big)\">]><Patient xmlns=\"http://hl7.org/fhir\"><text>\(refs)</text></Patient>", code: .security,
            words: "DTDs and entity declarations are not accepted")
    }

    @Test func deepNestingIsRefusedInBothFormats() {
        refused(String(repeating: "[", count: 100_000), code: .tooLong, words: "Nesting deeper than 64 levels (maxDepth)")
        refused(String(repeating: "{\"a\":", count: 100_000), code: .tooLong, words: "Nesting deeper than 64 levels (maxDepth)")
        refused(String(repeating: "<a>", count: 100_000), code: .tooLong, words: "nested more than maxDepth = 64 levels deep")
    }

    @Test func tenMegabyteStringIsRefusedInBothFormatsByTheDocumentSize() {
        let huge = String(repeating: "x", count: 10 * 1024 * 1024)
        refused("{\"resourceType\":\"Patient\",\"id\":\"\(huge)\"}", code: .tooLong, words: "more than the limit of 8388608 bytes (maxBytes)")
        refused("<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"\(huge)\"/></Patient>", code: .tooLong, words: "more than the limit maxBytes = 8388608")
    }

    @Test func aTwoMegabyteJSONStringIsRefusedByTheStringLimit() {
        let long = String(repeating: "x", count: 2 * 1024 * 1024)
        refused("{\"resourceType\":\"Patient\",\"id\":\"\(long)\"}", code: .tooLong, words: "A string longer than 1048576 bytes (maxStringBytes)")
    }

    @Test func twentyThousandKeysInOneObjectAreRefusedByTheMemberLimit() {
        var json = "{\"resourceType\":\"Patient\""
        for i in 0..<20_000 { json += ",\"k\(i)\":1" }
        json += "}"
        refused(json, code: .tooLong, words: "maxObjectMembers")
    }

    @Test func millionElementsAreRefused() {
        var xml = "<Bundle xmlns=\"http://hl7.org/fhir\">"
        xml += String(repeating: "<link/>", count: 1_000_000)
        xml += "</Bundle>"
        refused(xml, code: .tooLong, words: "more than maxElements = 500000 elements")
    }

    @Test func invalidUTF8IsRefusedInBothFormats() {
        refused(Array("{\"resourceType\":\"Patient\",\"id\":\"a".utf8) + [0xC3, 0x28] + Array("\"}".utf8), words: "UTF-8")
        refused(Array("<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"a".utf8) + [0xFF, 0xFE] + Array("\"/></Patient>".utf8), words: "not proper UTF-8")
    }

    @Test func duplicateKeysAreRefused() {
        refused(#"{"resourceType":"Observation","status":"final","status":"entered-in-error"}"#, code: .duplicate, words: "status")
    }

    @Test func nullOutsidePrimitiveArraysIsRefused() {
        let result = FHIRReader().read(Array(#"{"resourceType":"Patient","active":null}"#.utf8))
        #expect(result.issues.contains { $0.isError && $0.expression == "Patient.active" })
    }

    @Test func nullInsidePrimitiveArrayWithExtensionIsAccepted() {
        let json = #"""
            {"resourceType":"Patient","name":[{"given":["Ann",null],"_given":[null,{"extension":[{"url":"http://example.org/x","valueString":"y"}]}]}]}
            """#
        let result = FHIRReader().read(Array(json.utf8))
        #expect(result.isValid, "\(result.issues)")
    }

    @Test func documentThatIsNeitherFormatIsRefused() {
        refused("hello", words: "neither FHIR JSON")
        refused("", words: "empty")
    }
}
