/// Resolves the relative references inside a Bundle the way the Bundle page says (a relative
/// `Type/id` from an entry whose fullUrl is `[base]/Type/id` means `[base]/Type/id`), and reports
/// the references that match more than one entry: the receiver could not know which one is meant.
enum BundleReferences {
    static func ambiguous(in bundle: FHIRNode, entries: [FHIRNode], path: String) -> [FHIRIssue] {
        var byFullUrl: [String: [FHIRNode]] = [:]
        for entry in entries {
            guard let url = entry.value(of: "fullUrl"), let resource = entry.child(named: "resource") else { continue }
            byFullUrl[url, default: []].append(resource)
        }
        guard byFullUrl.values.contains(where: { $0.count > 1 }) else { return [] }

        var issues: [FHIRIssue] = []
        for (i, entry) in entries.enumerated() {
            guard let url = entry.value(of: "fullUrl"), let resource = entry.child(named: "resource"),
                let base = restBase(of: url, type: resource.type.name)
            else { continue }
            var walkPath = FHIRPathBuilder(root: "\(path).entry[\(i)].resource")
            forEachReference(in: resource, path: &walkPath) { reference, referencePath, node in
                let parts = reference.split(separator: "/")
                guard parts.count == 2 || (parts.count == 4 && parts[2] == "_history"), !ReferenceSyntax.hasScheme(reference) else { return }
                let target = base + parts[0] + "/" + parts[1]
                var matches = byFullUrl[target] ?? []
                if parts.count == 4 {
                    matches = matches.filter { $0.child(named: "meta")?.value(of: "versionId") == String(parts[3]) }
                }
                if matches.count > 1 {
                    issues.append(
                        FHIRIssue(
                            severity: .error,
                            code: .multipleMatches,
                            diagnostics: "Multiple matches in bundle for reference \(reference): \(matches.count) entries have the fullUrl \(target)",
                            expression: referencePath,
                            line: node.line > 0 ? node.line : nil,
                            column: node.line > 0 ? node.column : nil
                        )
                    )
                }
            }
        }
        return issues
    }

    /// `http://example.org/fhir/` for `http://example.org/fhir/Patient/1` holding a Patient.
    static func restBase(of fullUrl: String, type: String) -> String? {
        let parts = fullUrl.split(separator: "/", omittingEmptySubsequences: false)
        guard !fullUrl.hasPrefix("urn:"), parts.count >= 3, parts[parts.count - 2] == type, let id = parts.last else { return nil }
        return String(fullUrl.dropLast(type.count + 1 + id.count))
    }

    static func forEachReference(in node: FHIRNode, path: inout FHIRPathBuilder, _ body: (String, String, FHIRNode) -> Void) {
        if node.type.name == "Reference", let reference = node.child(named: "reference"), let value = reference.value {
            body(value, path.appending("reference"), reference)
        }
        var counts: [Int: Int] = [:]
        for child in node.children where !child.type.isPrimitive {
            let repeating = node.type.elements.indices.contains(child.elementIndex) && node.type.elements[child.elementIndex].isRepeating
            let index = counts[child.elementIndex, default: 0]
            counts[child.elementIndex] = index + 1
            path.push(child.name, index: repeating ? index : nil)
            forEachReference(in: child, path: &path, body)
            path.pop()
        }
    }
}
