/// The R4 invariants checked per resource type (the README lists them): Observation obs-3, obs-6,
/// obs-7; RiskAssessment ras-1, ras-2; Bundle in `BundleRules`.
enum ResourceInvariants {
    static func check(_ resource: FHIRNode, path: String, definitions: R4Definitions) -> [FHIRIssue] {
        switch resource.type.name {
        case "Observation": observation(resource, path: path)
        case "RiskAssessment": riskAssessment(resource, path: path)
        case "Bundle": BundleRules.check(resource, path: path, definitions: definitions)
        default: []
        }
    }

    static func invariant(_ key: String, _ message: String, at path: String, _ node: FHIRNode) -> FHIRIssue {
        FHIRIssue(
            severity: .error,
            code: .invariant,
            diagnostics: "Constraint failed: \(key): \(message)",
            expression: path,
            line: node.line > 0 ? node.line : nil,
            column: node.line > 0 ? node.column : nil
        )
    }

    static func hasValue(_ node: FHIRNode) -> Bool { node.children.contains { $0.name.hasPrefix("value") } }

    static func observation(_ observation: FHIRNode, path: String) -> [FHIRIssue] {
        var issues: [FHIRIssue] = []
        // obs-3: referenceRange must have at least a low or a high or text.
        for (i, range) in observation.children(named: "referenceRange").enumerated()
        where range.child(named: "low") == nil && range.child(named: "high") == nil && range.child(named: "text") == nil {
            issues.append(invariant("obs-3", "Must have at least a low or a high or text", at: "\(path).referenceRange[\(i)]", range))
        }
        let components = observation.children(named: "component")
        // obs-6: dataAbsentReason SHALL only be present if Observation.value[x] is not present.
        if let absent = observation.child(named: "dataAbsentReason"), hasValue(observation) {
            issues.append(
                invariant(
                    "obs-6", "dataAbsentReason SHALL only be present if Observation.value[x] is not present", at: "\(path).dataAbsentReason", absent)
            )
        }
        for (i, component) in components.enumerated() {
            if let absent = component.child(named: "dataAbsentReason"), hasValue(component) {
                issues.append(
                    invariant(
                        "obs-6",
                        "dataAbsentReason SHALL only be present if value[x] is not present",
                        at: "\(path).component[\(i)].dataAbsentReason",
                        absent
                    )
                )
            }
        }
        // obs-7: if Observation.code is the same as a component.code, Observation.value[x] SHALL NOT be present.
        if !components.isEmpty, hasValue(observation), let code = observation.child(named: "code") {
            let codings = Set(code.children(named: "coding"))
            for (i, component) in components.enumerated() {
                guard let componentCode = component.child(named: "code") else { continue }
                if componentCode.children(named: "coding").contains(where: codings.contains) {
                    issues.append(
                        invariant(
                            "obs-7",
                            "If Observation.code is the same as an Observation.component.code then the value element associated with the code SHALL NOT be present",
                            at: "\(path).component[\(i)].code",
                            componentCode
                        )
                    )
                }
            }
        }
        return issues
    }

    static func riskAssessment(_ assessment: FHIRNode, path: String) -> [FHIRIssue] {
        var issues: [FHIRIssue] = []
        for (i, prediction) in assessment.children(named: "prediction").enumerated() {
            // ras-2: probability is decimal implies (probability as decimal) <= 100.
            if let probability = prediction.child(named: "probabilityDecimal"), let text = probability.value, let value = Double(text),
                value > 100
            {
                issues.append(invariant("ras-2", "Must be <= 100 (found \(text))", at: "\(path).prediction[\(i)].probabilityDecimal", probability))
            }
            // ras-1: low and high must be percentages (UCUM '%'), if present.
            if let range = prediction.child(named: "probabilityRange") {
                for bound in ["low", "high"] {
                    guard let quantity = range.child(named: bound) else { continue }
                    if quantity.value(of: "code") != "%" || quantity.value(of: "system") != "http://unitsofmeasure.org" {
                        issues.append(
                            invariant(
                                "ras-1",
                                "low and high must be percentages, if present (code '%' in system http://unitsofmeasure.org)",
                                at: "\(path).prediction[\(i)].probabilityRange.\(bound)",
                                quantity
                            )
                        )
                    }
                }
            }
        }
        return issues
    }
}
