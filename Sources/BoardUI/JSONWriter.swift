/// A JSON text built piece by piece (esplua links FoundationEssentials only, and
/// the page's messages are small and flat). The caller places commas: `comma()`
/// before every element but the first.
struct JSONWriter {
    private(set) var text = ""

    init(capacity: Int = 1024) { text.reserveCapacity(capacity) }

    mutating func raw(_ s: String) { text += s }

    /// `"key":`
    mutating func key(_ k: String) {
        string(k)
        text += ":"
    }

    mutating func string(_ s: String) {
        // most texts need no escape: appended whole (0xE2 leads U+2028/2029, escaped below)
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x3C || $0 == 0x7F || $0 == 0xE2 }) {
            text += "\""
            text += s
            text += "\""
            return
        }
        text += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "<": text += "\\u003c"  // never "</script>" in a text the page may inline
            default:
                if u.value < 0x20 || u.value == 0x7F || (0x2028...0x2029).contains(u.value) {
                    let hex = String(u.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    text.unicodeScalars.append(u)
                }
            }
        }
        text += "\""
    }

    mutating func number<T: BinaryInteger>(_ n: T) { text += String(n) }

    mutating func bool(_ b: Bool) { text += b ? "true" : "false" }
}
