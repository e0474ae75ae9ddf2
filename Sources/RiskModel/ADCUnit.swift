/// The UCUM units an ADC may be reported in, and the factor that brings a value to the model's
/// unit, ×10⁻³ mm²/s (CLINICAL-MODEL.md §3.2).
public enum ADCUnit {
    public static let ucum = "http://unitsofmeasure.org"

    /// Strict UCUM spellings.
    static let strict: [String: Double] = [
        "mm2/s": 1000,
        "10*-3.mm2/s": 1,
        "um2/ms": 1,
        "um2/s": 0.001,
        "10*-6.mm2/s": 0.001,
    ]

    /// Spellings DICOM tools write that strict UCUM does not allow (an exponent on a number).
    static let lenient: [String: Double] = [
        "10-3.mm2/s": 1,
        "10^-3.mm2/s": 1,
        "10-6.mm2/s": 0.001,
        "10^-6.mm2/s": 0.001,
    ]

    /// The factor for `code`, or nil when the unit is not an ADC unit the gateway knows.
    public static func factor(for code: String, acceptLenient: Bool) -> Double? {
        strict[code] ?? (acceptLenient ? lenient[code] : nil)
    }

    /// The accepted spellings, for messages.
    public static func accepted(lenient acceptLenient: Bool) -> [String] {
        Array(strict.keys).sorted() + (acceptLenient ? Array(lenient.keys).sorted() : [])
    }
}
