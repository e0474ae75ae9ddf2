import FHIRCore
import FHIRPath

/// Invariants compiled by the FHIRPath engine: parsed once when the package is built, evaluated
/// on each element with `%resource` the resource that holds it.
public enum FHIRPathInvariants {
    public static let compile: InvariantCompiler = { text in
        let expression = try FHIRPathExpression(text)
        return { focus, resource in
            try expression.isSatisfied(by: focus, environment: FHIRPathEnvironment(resource: resource))
        }
    }
}
