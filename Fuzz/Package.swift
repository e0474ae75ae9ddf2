// swift-tools-version: 6.2
import PackageDescription

// libFuzzer executables, one per fuzz target of the root package's FuzzTargets module. A package of
// its own, so that `swift build --build-tests` of the root package never links them (they need
// -sanitize=fuzzer). Built by `make fuzz` (scripts/fuzz.sh):
//   swift build --package-path Fuzz --scratch-path .build-fuzz -c release -Xswiftc -sanitize=fuzzer,address
let common: [Target.Dependency] = ["FuzzDriver", .product(name: "FuzzTargets", package: "fhir-risk-gateway")]
// libFuzzer provides the process's entry; the file holds no top-level code.
let settings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "fhir-risk-gateway-fuzz",
    dependencies: [.package(name: "fhir-risk-gateway", path: "..")],
    targets: [
        // Bytes from libFuzzer's pointer, and libFuzzer's driver called from the process's main.
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzStrictJSON", dependencies: common, swiftSettings: settings),  // strict-json
        .executableTarget(name: "FuzzXMLDocument", dependencies: common, swiftSettings: settings),  // xml-document
        .executableTarget(name: "FuzzNarrativeXHTML", dependencies: common, swiftSettings: settings),  // narrative-xhtml
        .executableTarget(name: "FuzzFHIRJSON", dependencies: common, swiftSettings: settings),  // fhir-json
        .executableTarget(name: "FuzzFHIRXML", dependencies: common, swiftSettings: settings),  // fhir-xml
        .executableTarget(name: "FuzzGzip", dependencies: common, swiftSettings: settings),  // gzip
        .executableTarget(name: "FuzzFHIRPath", dependencies: common, swiftSettings: settings),  // fhirpath
    ],
    swiftLanguageModes: [.v6]
)
