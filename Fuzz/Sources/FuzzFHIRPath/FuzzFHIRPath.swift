import FuzzDriver
import FuzzTargets

/// libFuzzer's entry point: one input through the `fhirpath` target's checks (a trap is a crash).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.fhirPath.run(FuzzInput.bytes(data, size))
    return 0
}

/// The process's `main` (SwiftPM links an executable's `main` to `<module>_main`): libFuzzer's driver.
@_cdecl("FuzzFHIRPath_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzTarget.fhirPath.prepare()
    return FuzzInput.runDriver(argc, argv, testOneInput)
}
