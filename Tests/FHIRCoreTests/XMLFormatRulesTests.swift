import FHIRCore
import Testing

/// Rules of FHIR's XML format beyond the schema's structure.
struct XMLFormatRulesTests {
    static let xsi = #"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#

    @Test func aSchemaLocationOnTheRootIsAcceptedAsRealFHIRXMLCarriesIt() throws {
        let xml = #"""
            <?xml version="1.0" encoding="UTF-8"?>
            <Observation xmlns="http://hl7.org/fhir" \#(Self.xsi) xsi:schemaLocation="http://hl7.org/fhir ../../schema/observation.xsd">
              <status value="final"/><code><text value="x"/></code>
            </Observation>
            """#
        let result = FHIRReader().read(Array(xml.utf8), format: .xml)
        #expect(result.isValid, "\(result.issues)")
        // It is not content: the tree is the same as without it.
        let plain = #"<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="x"/></code></Observation>"#
        #expect(result.resource?.children.map(\.name) == FHIRReader().read(Array(plain.utf8), format: .xml).resource?.children.map(\.name))
    }

    @Test func aSchemaLocationInsideTheResourceIsStillRefused() {
        let xml = #"""
            <Observation xmlns="http://hl7.org/fhir" \#(Self.xsi)><status value="final" xsi:schemaLocation="x"/><code><text value="x"/></code></Observation>
            """#
        let result = FHIRReader().read(Array(xml.utf8), format: .xml)
        #expect(result.issues.contains { $0.isError && $0.diagnostics.contains("Undefined attribute '@xsi:schemaLocation'") }, "\(result.issues)")
    }
}
