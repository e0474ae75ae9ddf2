import CLibXML2

/// Strings for libxml2's dictionary-owned names and namespace URIs: the `Const` accessors return
/// pointers into the reader's dictionary, which lives as long as the reader, so equal pointers are
/// equal strings. Short strings are stored inline by Swift and simply made; longer ones are made once.
struct InternedStrings {
    private var lastPointer: UnsafePointer<xmlChar>?
    private var lastString = ""
    private var strings: [UnsafePointer<xmlChar>: String] = [:]

    mutating func string(_ pointer: UnsafePointer<xmlChar>) -> String {
        if pointer == lastPointer { return lastString }
        let length = Int(xmlStrlen(pointer))
        let string: String
        if length <= 15 {
            string = String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
        } else if let known = strings[pointer] {
            string = known
        } else {
            string = String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
            strings[pointer] = string
        }
        lastPointer = pointer
        lastString = string
        return string
    }
}
