import Foundation

/// The resources of a case as an interface engine sends them, in FHIR JSON, for the tests that
/// post them to the gateway (in process or to the real binary).
public enum CaseFixtures {
    /// Yesterday (UTC): the day of the tests' studies, well inside cases.maxStudyAgeDays.
    public static let day: String = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: Date().addingTimeInterval(-86_400))
    }()

    public static let iccaCode = #"{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"C22.1"}]}"#

    /// An MR study; `eligible`: its reasonCode is intrahepatic cholangiocarcinoma (ICD-10 C22.1).
    public static func study(_ id: String, patient: String, eligible: Bool = true, status: String = "available", day: String = day) -> String {
        let reason = eligible ? #","reasonCode":[\#(iccaCode)]"# : ""
        return #"""
            {"resourceType":"ImagingStudy","id":"\#(id)","identifier":[{"system":"urn:dicom:uid","value":"urn:oid:1.2.840.99.\#(abs(id.hashValue % 100000))"}],"status":"\#(status)","modality":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"MR"}],"subject":{"reference":"Patient/\#(patient)"},"started":"\#(day)T09:15:00Z"\#(reason)}
            """#
    }

    /// A tumour ADC in the liver.
    public static func adc(
        _ id: String, patient: String, study: String?, value: String = "0.800", unit: String? = "10*-3.mm2/s", status: String = "final",
        code: String = "113041", day: String = day
    ) -> String {
        let quantity = unit.map { #"{"value":\#(value),"system":"http://unitsofmeasure.org","code":"\#($0)"}"# } ?? #"{"value":\#(value)}"#
        let link = study.map { #","derivedFrom":[{"reference":"ImagingStudy/\#($0)"}]"# } ?? ""
        return #"""
            {"resourceType":"Observation","id":"\#(id)","status":"\#(status)","code":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"\#(code)"}]},"subject":{"reference":"Patient/\#(patient)"},"effectiveDateTime":"\#(day)T09:15:00Z","bodySite":{"coding":[{"system":"http://snomed.info/sct","code":"10200004"}]},"valueQuantity":\#(quantity)\#(link)}
            """#
    }

    /// A confirmed, active intrahepatic cholangiocarcinoma.
    public static func condition(_ id: String, patient: String) -> String {
        #"""
        {"resourceType":"Condition","id":"\#(id)","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},"code":\#(iccaCode),"subject":{"reference":"Patient/\#(patient)"}}
        """#
    }
}
