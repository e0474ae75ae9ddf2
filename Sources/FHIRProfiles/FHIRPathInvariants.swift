// TEMPORARY STUB until the FHIRPath module lands; not to be committed.
public enum FHIRPathInvariants {
    public static let compile: InvariantCompiler = { expression in
        struct Unavailable: Error {}
        return { _, _ in nil }
    }
}
