/// The R4 Bundle invariants bdl-1 to bdl-5 and bdl-7 to bdl-12, the fullUrl rules of the Bundle
/// page (required outside transactions and batches, absolute, agreeing with the resource's type
/// and id), `search.mode = outcome` entries being OperationOutcomes, and references inside the
/// Bundle that resolve to more than one entry.
enum BundleRules {
    static func check(_ bundle: FHIRNode, path: String, definitions: R4Definitions) -> [FHIRIssue] {
        var issues: [FHIRIssue] = []
        func fail(
            _ key: String?,
            _ message: String,
            at where_: String,
            _ node: FHIRNode,
            code: FHIRIssue.Code = .invariant,
            severity: FHIRIssue.Severity = .error
        ) {
            let text = key.map { "Constraint failed: \($0): \(message)" } ?? message
            issues.append(
                FHIRIssue(
                    severity: severity,
                    code: code,
                    diagnostics: text,
                    expression: where_,
                    line: node.line > 0 ? node.line : nil,
                    column: node.line > 0 ? node.column : nil
                )
            )
        }
        let type = bundle.value(of: "type") ?? ""
        let entries = bundle.children(named: "entry")

        if let total = bundle.child(named: "total"), type != "searchset", type != "history" {
            fail("bdl-1", "total only when a search or history", at: "\(path).total", total)
        }
        let requestExpected = ["batch", "transaction", "history"].contains(type)
        let responseExpected = ["batch-response", "transaction-response", "history"].contains(type)
        let fullUrlOptional = ["batch", "transaction", "batch-response", "transaction-response"].contains(type)
        for (i, entry) in entries.enumerated() {
            let at = "\(path).entry[\(i)]"
            let resource = entry.child(named: "resource")
            if let search = entry.child(named: "search"), type != "searchset" {
                fail("bdl-2", "entry.search only when a search", at: "\(at).search", search)
            }
            if (entry.child(named: "request") != nil) != requestExpected {
                fail(
                    "bdl-3",
                    requestExpected
                        ? "entry.request mandatory for batch/transaction/history (this entry has none)"
                        : "entry.request is only allowed in batch/transaction/history Bundles, not in a \(type)",
                    at: "\(at).request",
                    entry
                )
            }
            if (entry.child(named: "response") != nil) != responseExpected {
                fail(
                    "bdl-4",
                    responseExpected
                        ? "entry.response mandatory for batch-response/transaction-response/history (this entry has none)"
                        : "entry.response is only allowed in batch-response/transaction-response/history Bundles, not in a \(type)",
                    at: "\(at).response",
                    entry
                )
            }
            if resource == nil, entry.child(named: "request") == nil, entry.child(named: "response") == nil {
                fail("bdl-5", "must be a resource unless there's a request or response", at: at, entry)
            }
            if let fullUrl = entry.child(named: "fullUrl"), let url = fullUrl.value {
                if url.contains("/_history/") {
                    fail("bdl-8", "fullUrl cannot be a version specific reference", at: "\(at).fullUrl", fullUrl)
                }
                if !ReferenceSyntax.hasScheme(url) {
                    fail(nil, "The fullUrl must be an absolute URL (not '\(url)')", at: "\(at).fullUrl", fullUrl, code: .invalid)
                } else if let resource, let id = resource.value(of: "id"), !url.hasPrefix("urn:") {
                    let parts = url.split(separator: "/")
                    if parts.count >= 2, definitions.resourceType(String(parts[parts.count - 2])) != nil,
                        String(parts[parts.count - 2]) != resource.type.name || String(parts[parts.count - 1]) != id
                    {
                        fail(
                            nil,
                            "The fullUrl '\(url)' looks like a RESTful server URL, so it must end with the resource's type and id (\(resource.type.name)/\(id))",
                            at: "\(at).fullUrl",
                            fullUrl,
                            code: .invalid,
                            severity: .warning
                        )
                    }
                }
            } else if resource != nil, !fullUrlOptional, !isSearchOutcome(entry, bundleType: type) {
                fail(
                    nil,
                    "Except for transactions and batches, each entry in a Bundle must have a fullUrl which is the identity of the resource in the entry",
                    at: at,
                    entry,
                    code: .required
                )
            }
            if isSearchOutcome(entry, bundleType: type), let resource, resource.type.name != "OperationOutcome" {
                fail(
                    nil, "An entry with search.mode = outcome must hold an OperationOutcome, not a \(resource.type.name)", at: "\(at).resource",
                    resource, code: .invalid)
            }
        }

        // bdl-7: fullUrl unique, unless entries with the same fullUrl have different meta.versionId.
        if type != "history" {
            var seen: [String: Int] = [:]
            for (i, entry) in entries.enumerated() {
                guard let url = entry.value(of: "fullUrl") else { continue }
                let version = entry.child(named: "resource")?.child(named: "meta")?.value(of: "versionId") ?? ""
                let key = url + "|" + version
                if let first = seen[key] {
                    fail(
                        "bdl-7",
                        "FullUrl must be unique in a bundle, or else entries with the same fullUrl must have different meta.versionId (entries \(first) and \(i) share '\(url)')",
                        at: "\(path).entry[\(i)].fullUrl",
                        entry
                    )
                } else {
                    seen[key] = i
                }
            }
        }
        // bdl-9, bdl-10, bdl-11: documents.
        if type == "document" {
            let identifier = bundle.child(named: "identifier")
            if identifier?.value(of: "system") == nil || identifier?.value(of: "value") == nil {
                fail("bdl-9", "A document must have an identifier with a system and a value", at: "\(path).identifier", bundle)
            }
            if bundle.value(of: "timestamp") == nil {
                fail("bdl-10", "A document must have a date (Bundle.timestamp)", at: "\(path).timestamp", bundle)
            }
            if entries.first?.child(named: "resource")?.type.name != "Composition" {
                fail("bdl-11", "A document must have a Composition as the first resource", at: "\(path).entry[0]", bundle)
            }
        }
        // bdl-12: messages.
        if type == "message", entries.first?.child(named: "resource")?.type.name != "MessageHeader" {
            fail("bdl-12", "A message must have a MessageHeader as the first resource", at: "\(path).entry[0]", bundle)
        }
        issues.append(contentsOf: BundleReferences.ambiguous(in: bundle, entries: entries, path: path))
        return issues
    }

    /// A searchset entry that carries the search's own OperationOutcome (`search.mode = outcome`);
    /// it has no identity of its own, so it needs no fullUrl.
    static func isSearchOutcome(_ entry: FHIRNode, bundleType: String) -> Bool {
        bundleType == "searchset" && entry.child(named: "search")?.value(of: "mode") == "outcome"
    }
}
