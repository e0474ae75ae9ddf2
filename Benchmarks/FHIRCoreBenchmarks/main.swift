// Reading + validating throughput of the FHIR readers, side by side with Foundation's
// JSONSerialization on the same bytes, in one run. Prints medians over rounds; build in release:
//   swift build -c release --product FHIRCoreBenchmarks && .build/release/FHIRCoreBenchmarks <R4 dir>
import FHIRCore
import FHIRModels
import FHIRProfiles
import Foundation
import GatewayServer
import SafeXML
import StrictJSON

let directory = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Tests/Fixtures/fhir-examples/R4"
let rounds = 21

func load(_ suffix: String) -> [(name: String, bytes: [UInt8])] {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        .filter { $0.hasPrefix("Observation-") && $0.hasSuffix(suffix) }
        .sorted()
    return names.compactMap { name in
        guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { return nil }
        return (name, Array(data))
    }
}

/// Runs `body` over all documents `repeats` times per round; returns the median seconds per round.
func measure(_ documents: [[UInt8]], repeats: Int, _ body: ([UInt8]) -> Void) -> Double {
    var times: [Double] = []
    for _ in 0..<rounds {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<repeats {
            for document in documents { body(document) }
        }
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return times.sorted()[rounds / 2]
}

func report(_ label: String, seconds: Double, bytes: Int, documents: Int, baseline: Double?) {
    let mb = Double(bytes) / 1_048_576 / seconds
    let perSecond = Double(documents) / seconds
    let micro = seconds / Double(documents) * 1e6
    var line = label.padding(toLength: 44, withPad: " ", startingAt: 0)
    line += String(format: "%8.1f MB/s %10.0f resources/s %8.2f µs/resource", mb, perSecond, micro)
    if let baseline { line += String(format: "   %.2f× JSONSerialization", baseline / seconds) }
    print(line)
}

/// Times two bodies side by side: `rounds` rounds of `many` calls each, alternating which goes
/// first, so that both see the same load on a shared machine. Returns each one's microseconds per
/// call, sorted: the median is `[rounds / 2]`, the minimum (a quiet machine's figure) `[0]`.
func alternate(rounds: Int = 41, many: Int = 2_000, _ first: () -> Void, _ second: () -> Void) -> (first: [Double], second: [Double]) {
    func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<many { body() }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(many)
    }
    var a: [Double] = []
    var b: [Double] = []
    for round in 0..<rounds {
        if round % 2 == 0 {
            a.append(time(first))
            b.append(time(second))
        } else {
            b.append(time(second))
            a.append(time(first))
        }
    }
    return (a.sorted(), b.sorted())
}

let json = load(".json")
let xml = load(".xml")
guard !json.isEmpty, !xml.isEmpty else {
    print("No Observation examples found in \(directory)")
    exit(1)
}
let reader = FHIRReader()
// PROFILE=1 runs only JSON read + validate, for a profiler.
if ProcessInfo.processInfo.environment["PROFILE"] != nil {
    let rounds = Int(ProcessInfo.processInfo.environment["PROFILE"] ?? "") ?? 200
    // PROFILE_FILE=Observation-example.json profiles one document.
    let only = ProcessInfo.processInfo.environment["PROFILE_FILE"]
    let documents = json.filter { only == nil || $0.name == only }
    // The first read outside the loop builds the R4 definitions.
    for document in documents { _ = reader.read(document.bytes, format: .json) }
    for _ in 0..<rounds { for document in documents { _ = reader.read(document.bytes, format: .json) } }
    exit(0)
}

// PROFILE_MODEL=N reads an ADC Observation as the gateway stores it N times, without validation,
// into the typed model: what the store's writer does for each earlier resource of a patient.
if let count = ProcessInfo.processInfo.environment["PROFILE_MODEL"].flatMap(Int.init) {
    let stored = Array(
        #"{"resourceType":"Observation","id":"0195f0a4-1c2b-7d3e-9f40-123456789abc","identifier":[{"system":"urn:load","value":"w1-1"}],"status":"final","code":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"113041"}]},"subject":{"reference":"Patient/load-1"},"effectiveDateTime":"2026-03-02T09:15:00Z","valueQuantity":{"value":0.81,"system":"http://unitsofmeasure.org","code":"10*-3.mm2/s"}}"#
            .utf8)
    var kept = 0
    for _ in 0..<count {
        guard let node = reader.read(stored, format: .json, validate: false).resource, let model = try? AnyResource(node: node) else { exit(1) }
        if case .observation = model { kept += 1 }
    }
    print(kept)
    exit(0)
}

// Check first that every document reads and validates, so the figures are for real work.
for document in json + xml where !reader.read(document.bytes).isValid {
    print("\(document.name) does not validate")
    exit(1)
}

let repeats = 20
let jsonBytes = json.reduce(0) { $0 + $1.bytes.count } * repeats
let xmlBytes = xml.reduce(0) { $0 + $1.bytes.count } * repeats
let jsonDocuments = json.map(\.bytes)
let xmlDocuments = xml.map(\.bytes)
print("\(json.count) Observation examples in JSON (\(jsonBytes / repeats) bytes), \(xml.count) in XML (\(xmlBytes / repeats) bytes)")
print("median of \(rounds) rounds, each reading every example \(repeats) times")
print("")

let foundation = measure(jsonDocuments, repeats: repeats) { bytes in
    _ = try? JSONSerialization.jsonObject(with: Data(bytes))
}
report("JSON  Foundation JSONSerialization", seconds: foundation, bytes: jsonBytes, documents: json.count * repeats, baseline: nil)
let syntax = measure(jsonDocuments, repeats: repeats) { bytes in _ = try? JSONReader().read(bytes) }
report("JSON  StrictJSON reader (syntax only)", seconds: syntax, bytes: jsonBytes, documents: json.count * repeats, baseline: foundation)
let jsonTree = measure(jsonDocuments, repeats: repeats) { bytes in _ = reader.read(bytes, format: .json, validate: false) }
report("JSON  read into the FHIR tree", seconds: jsonTree, bytes: jsonBytes, documents: json.count * repeats, baseline: foundation)
let jsonFull = measure(jsonDocuments, repeats: repeats) { bytes in _ = reader.read(bytes, format: .json) }
report("JSON  read + validate", seconds: jsonFull, bytes: jsonBytes, documents: json.count * repeats, baseline: foundation)

let xmlSyntax = measure(xmlDocuments, repeats: repeats) { bytes in _ = try? XMLDocumentReader().read(bytes) }
report("XML   SafeXML reader (syntax only)", seconds: xmlSyntax, bytes: xmlBytes, documents: xml.count * repeats, baseline: nil)
let xmlFull = measure(xmlDocuments, repeats: repeats) { bytes in _ = reader.read(bytes, format: .xml) }
report("XML   read + validate", seconds: xmlFull, bytes: xmlBytes, documents: xml.count * repeats, baseline: nil)

// A typical Observation of about 2 KB, alternating with JSONSerialization round by round so both
// see the same load on a shared machine; the minimum is the figure for a quiet machine.
if let typical = json.min(by: { abs($0.bytes.count - 2048) < abs($1.bytes.count - 2048) }) {
    let many = 2_000
    let typicalRounds = 41
    let (ours, theirs) = alternate(
        rounds: typicalRounds, many: many,
        { _ = reader.read(typical.bytes, format: .json) },
        { _ = try? JSONSerialization.jsonObject(with: Data(typical.bytes)) })
    print("")
    print(
        String(
            format: "typical Observation %@ (%d bytes), %d alternating rounds of %d reads:",
            typical.name, typical.bytes.count, typicalRounds, many
        )
    )
    print(String(format: "  read + validate    median %6.2f µs   minimum %6.2f µs", ours[typicalRounds / 2], ours[0]))
    print(String(format: "  JSONSerialization  median %6.2f µs   minimum %6.2f µs", theirs[typicalRounds / 2], theirs[0]))
    print(String(format: "  ratio of medians %.2f× (JSONSerialization time / ours)", theirs[typicalRounds / 2] / ours[typicalRounds / 2]))
}

// The tumour ADC Observation of Profiles/examples (the gateway's main input): read + base
// validation, against read + base validation + its profile (icca-adc-observation, invariants in
// FHIRPath), in alternating rounds. The Profiles folder is the second argument (default Profiles).
let profilesFolder = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : "Profiles"
let folder = try? ProfilesFolder(path: profilesFolder)
/// An ADC as interface engines send it (the load script's: no narrative), beside the guide's example.
let engineADC = Array(
    #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"113041"}]},"subject":{"reference":"Patient/case-1"},"effectiveDateTime":"2026-03-02T09:15:00Z","bodySite":{"coding":[{"system":"http://snomed.info/sct","code":"10200004"}]},"valueQuantity":{"value":0.92,"system":"http://unitsofmeasure.org","code":"10*-3.mm2/s"},"derivedFrom":[{"reference":"ImagingStudy/mri-1"}]}"#
        .utf8)
if let folder, let conformance = try? folder.conformance(),
    let profile = conformance.profile("http://fhir-risk-gateway.org/fhir/StructureDefinition/icca-adc-observation"),
    let example = FileManager.default.contents(atPath: profilesFolder + "/examples/Observation-example-adc.json").map(Array.init)
{
    for (label, adc) in [("Profiles/examples/Observation-example-adc.json, with its narrative", example), ("as the load script sends it", engineADC)] {
      let many = 2_000
      let adcRounds = 41
      let validator = ProfileValidator(package: conformance)
      var issues = 0
      let (base, profiled) = alternate(
          rounds: adcRounds, many: many,
          { _ = reader.read(adc, format: .json) },
          { if let node = reader.read(adc, format: .json).resource { issues += validator.validate(node, against: profile).count } })
      print("")
      print("ADC Observation (\(label), \(adc.count) bytes), \(adcRounds) alternating rounds of \(many):")
      print(String(format: "  read + validate              median %6.2f µs   minimum %6.2f µs", base[adcRounds / 2], base[0]))
      print(String(format: "  read + validate + profile    median %6.2f µs   minimum %6.2f µs", profiled[adcRounds / 2], profiled[0]))
      print(String(format: "  the profile's share          %6.2f µs (median difference)", profiled[adcRounds / 2] - base[adcRounds / 2]))
      if issues > 0 { print("  the document gave \(issues / (adcRounds * many)) profile issues per validation") }
    }
} else {
    print("")
    print("No Profiles folder with the ADC profile and its example at \(profilesFolder): the profile figure is skipped")
}

// The door's path, `ConformancePackage.validate(_:at:)`: the profiles that apply chosen and
// checked, with the guide alone against the guide with R4's vital-signs profiles and their
// selection rules, in alternating rounds: what the rules cost an ADC, and what a vital sign costs.
if let folder, let full = try? folder.conformance(),
    let guideOnly = try? ConformancePackage(resources: folder.resources, compile: FHIRPathInvariants.compile),
    let bloodPressure = FileManager.default.contents(atPath: directory + "/Observation-blood-pressure.json").map(Array.init)
{
    let many = 2_000
    let doorRounds = 41
    for (label, bytes) in [("an ADC as the load script sends it", engineADC), ("R4's Observation-blood-pressure.json", bloodPressure)] {
        guard let node = reader.read(bytes, format: .json).resource else { continue }
        var findings = (guide: 0, both: 0)
        let (guide, both) = alternate(
            rounds: doorRounds, many: many,
            { findings.guide += guideOnly.validate(node, at: "Observation").count },
            { findings.both += full.validate(node, at: "Observation").count })
        let per = doorRounds * many
        print("")
        print("The door's profile check of \(label) (already read), \(doorRounds) alternating rounds of \(many):")
        print(String(format: "  the guide's profiles           median %6.2f µs   minimum %6.2f µs   %d findings", guide[doorRounds / 2], guide[0], findings.guide / per))
        print(String(format: "  + R4's vital-signs profiles    median %6.2f µs   minimum %6.2f µs   %d findings", both[doorRounds / 2], both[0], findings.both / per))
    }
}
