import SafeXML
import Testing

@Suite("FHIR R4 examples")
struct CorpusTests {
    @Test func readsEveryR4Example() throws {
        let files = try Corpus.xmlFiles()
        #expect(files.count == 124, "expected the 124 XML examples in \(Corpus.directory)")
        let reader = XMLDocumentReader()
        for file in files {
            #expect(throws: Never.self, "\(file.name)") {
                let root = try reader.read(file.bytes)
                #expect(root.namespaceURI == "http://hl7.org/fhir", "\(file.name)")
                #expect(file.name.hasPrefix(root.localName + "-"), "\(file.name) has root <\(root.localName)>")
            }
        }
    }

    /// These are invalid FHIR, not invalid XML: all seven are well-formed (checked with
    /// `xmllint --noout --nonet`), so all must read.
    @Test func readsEveryWellFormedInvalidExample() throws {
        let files = try Corpus.xmlFiles(in: "invalid")
        #expect(files.count == 7, "expected the 7 XML files in \(Corpus.directory)/invalid")
        let reader = XMLDocumentReader()
        for file in files {
            #expect(throws: Never.self, "\(file.name)") { try reader.read(file.bytes) }
        }
    }

    @Test func readsTheCorpusOnEightConcurrentTasks() async throws {
        let files = try Corpus.xmlFiles().map(\.bytes)
        let reader = XMLDocumentReader()
        let expected = try files.map { try reader.read($0) }
        // Hostile documents interleaved, so each reader's error capture is exercised concurrently too.
        let hostile: [(bytes: [UInt8], kind: XMLReadError.Kind)] = [
            (Array("<r>&nbsp;</r>".utf8), .entityReferenceForbidden),
            (Array("<a>\n</b>".utf8), .notWellFormed),
            ([UInt8]("<r>".utf8) + [0xFF] + [UInt8]("</r>".utf8), .invalidUTF8),
        ]
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var mismatches = 0
                    for round in 0..<2 {
                        for (index, bytes) in files.enumerated() {
                            if (try? reader.read(bytes)) != expected[index] { mismatches += 1 }
                            let bad = hostile[(index + task + round) % hostile.count]
                            do {
                                _ = try reader.read(bad.bytes)
                                mismatches += 1
                            } catch let error as XMLReadError {
                                if error.kind != bad.kind { mismatches += 1 }
                            } catch {
                                mismatches += 1
                            }
                        }
                    }
                    return mismatches
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}
