import FuzzDriver
import FuzzTargets

/// libFuzzer's entry point: one input through the `fhir-xml` target's checks (a trap is a crash).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.fhirXML.run(FuzzInput.bytes(data, size))
    return 0
}

/// The process's `main` (SwiftPM links an executable's `main` to `<module>_main`): libFuzzer's driver.
@_cdecl("FuzzFHIRXML_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzTarget.fhirXML.prepare()
    return FuzzInput.runDriver(argc, argv, testOneInput)
}
