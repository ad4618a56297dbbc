/// A reader for esplua's own JSON files (the world, the wiring), in place of
/// Foundation's JSONSerialization (esplua links FoundationEssentials only). It
/// gives the values JSONSerialization gave, in plain Swift types: objects as
/// `[String: Any]`, arrays as `[Any]`, `String`, `Bool`, numbers as `Int` (an
/// integer that fits) or `Double`, and `JSON.null`; and it accepts and refuses the
/// same texts with the same messages (a trailing comma is accepted, UTF-16 and
/// UTF-32 are read too, the top level must be an object or an array).
///
/// Foundation's numbers were NSNumbers, which convert freely between numbers and
/// booleans; `integer(_:)`, `number(_:)` and `boolean(_:)` keep those
/// conversions for the files' readers.
public enum JSON {
    /// JSON's `null` (NSNull in JSONSerialization's values).
    public struct Null: Sendable, Equatable {
        public init() {}
    }
    public static let null = Null()

    /// Why a text is not JSON, worded as JSONSerialization's NSDebugDescription.
    public struct SyntaxError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The value of the JSON text `bytes`.
    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> Any {
        var reader = Reader(bytes: try utf8(bytes))
        let value = try reader.document()
        guard value is [String: Any] || value is [Any] else {
            throw SyntaxError(description: "JSON text did not start with array or object and option to allow fragments not set.")
        }
        if let text = reader.unrepresentable { throw SyntaxError(description: "Number \(text) is not representable in Swift.") }
        return value
    }

    /// `bytes` as UTF-8 without a byte order mark. A JSON text may also be UTF-16 or
    /// UTF-32, told (as JSONSerialization tells it) by a byte order mark, or by the
    /// zero bytes of its first characters, which are ASCII.
    static func utf8(_ b: [UInt8]) throws(SyntaxError) -> [UInt8] {
        let (width, bigEndian, skip): (Int, Bool, Int)
        if b.count >= 4 && b.starts(with: [0xEF, 0xBB, 0xBF]) {
            return Array(b.dropFirst(3))
        } else if b.count >= 4 && b.starts(with: [0x00, 0x00, 0xFE, 0xFF]) {
            (width, bigEndian, skip) = (4, true, 4)
        } else if b.count >= 4 && b.starts(with: [0xFF, 0xFE, 0x00, 0x00]) {
            (width, bigEndian, skip) = (4, false, 4)
        } else if b.count >= 4 && b.starts(with: [0xFF, 0xFE]) {
            (width, bigEndian, skip) = (2, false, 2)
        } else if b.count >= 4 && b.starts(with: [0xFE, 0xFF]) {
            (width, bigEndian, skip) = (2, true, 2)
        } else if b.count >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0 {
            (width, bigEndian, skip) = (4, true, 0)
        } else if b.count >= 4 && b[1] == 0 && b[2] == 0 && b[3] == 0 {
            (width, bigEndian, skip) = (4, false, 0)
        } else if b.count >= 4 && b[0] == 0 && b[2] == 0 {
            (width, bigEndian, skip) = (2, true, 0)
        } else if b.count >= 4 && b[1] == 0 && b[3] == 0 {
            (width, bigEndian, skip) = (2, false, 0)
        } else if (2...3).contains(b.count) && b[0] == 0 {
            (width, bigEndian, skip) = (2, true, 0)
        } else if (2...3).contains(b.count) && b[1] == 0 {
            (width, bigEndian, skip) = (2, false, 0)
        } else {
            return b
        }
        // code units of `width` bytes; a last incomplete one is dropped
        let units = stride(from: skip, to: b.count - width + 1, by: width).map { i in
            (0..<width).reduce(UInt32(0)) { v, k in v << 8 | UInt32(b[bigEndian ? i + k : i + width - 1 - k]) }
        }
        let text = width == 2 ? String(validating: units.map { UInt16($0) }, as: UTF16.self) : String(validating: units, as: UTF32.self)
        guard let text else { throw SyntaxError(description: "Cannot convert input string to valid utf8 input.") }
        return Array(text.utf8)
    }

    /// An integer: an `Int`, a `Double` with no fraction that fits, or a `Bool` (1 or 0), as NSNumber's `intValue` gave them.
    public static func integer(_ value: Any?) -> Int? {
        switch value {
        case let i as Int: return i
        case let d as Double: return Int(exactly: d)
        case let b as Bool: return b ? 1 : 0
        default: return nil
        }
    }

    /// A number: an `Int`, a `Double` or a `Bool` (1 or 0), as NSNumber's `doubleValue` gave them.
    public static func number(_ value: Any?) -> Double? {
        switch value {
        case let i as Int: return Double(i)
        case let d as Double: return d
        case let b as Bool: return b ? 1 : 0
        default: return nil
        }
    }

    /// A boolean: a `Bool`, or a number that is exactly 1 or 0, as an NSNumber bridged to `Bool`.
    public static func boolean(_ value: Any?) -> Bool? {
        if let b = value as? Bool { return b }
        switch number(value) {
        case 1: return true
        case 0: return false
        default: return nil
        }
    }

    /// The parser: one pass over the bytes; `index` is the next byte.
    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        var depth = 0
        /// The first number too large for a Double (reported once the text is known to be well formed).
        var unrepresentable: String?

        init(bytes: [UInt8]) { self.bytes = bytes }

        static func invalid(at index: Int) -> SyntaxError { SyntaxError(description: "Invalid value around character \(index).") }
        static let endOfFile = SyntaxError(description: "Unexpected end of file during JSON parse.")

        /// A value and nothing but white space after it.
        mutating func document() throws(SyntaxError) -> Any {
            let value = try self.value()
            while index < bytes.count {
                guard Reader.isSpace(bytes[index]) else { throw Reader.invalid(at: index) }
                index += 1
            }
            return value
        }

        static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

        /// Skips white space; the byte after it (not consumed).
        mutating func nonSpace() throws(SyntaxError) -> UInt8 {
            while index < bytes.count {
                if !Reader.isSpace(bytes[index]) { return bytes[index] }
                index += 1
            }
            throw Reader.endOfFile
        }

        mutating func value() throws(SyntaxError) -> Any {
            switch try nonSpace() {
            case UInt8(ascii: "\""): return try string()
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "t"): try literal("true"); return true
            case UInt8(ascii: "f"): try literal("false"); return false
            case UInt8(ascii: "n"): try literal("null"); return JSON.null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw Reader.invalid(at: index)
            }
        }

        /// `true`, `false` or `null`, byte by byte: the first wrong byte is the error
        /// (the end of the file when it is the last byte, as JSONSerialization has it).
        mutating func literal(_ word: StaticString) throws(SyntaxError) {
            for i in 0..<word.utf8CodeUnitCount {
                guard index < bytes.count else { throw Reader.endOfFile }
                guard bytes[index] == word.utf8Start[i] else {
                    throw index + 1 == bytes.count ? Reader.endOfFile : Reader.invalid(at: index)
                }
                index += 1
            }
        }

        mutating func nest() throws(SyntaxError) {
            guard depth < 512 else {
                throw SyntaxError(description: "Too many nested arrays or dictionaries around character \(index + 1).")
            }
            depth += 1
            index += 1
        }

        mutating func array() throws(SyntaxError) -> [Any] {
            try nest()
            defer { depth -= 1 }
            var items: [Any] = []
            if try nonSpace() == UInt8(ascii: "]") { index += 1; return items }
            while true {
                items.append(try value())
                switch try nonSpace() {
                case UInt8(ascii: "]"): index += 1; return items
                case UInt8(ascii: ","):
                    index += 1
                    if try nonSpace() == UInt8(ascii: "]") { index += 1; return items }  // a trailing comma
                default: throw Reader.invalid(at: index)
                }
            }
        }

        mutating func object() throws(SyntaxError) -> [String: Any] {
            try nest()
            defer { depth -= 1 }
            var members: [String: Any] = [:]
            if try nonSpace() == UInt8(ascii: "}") { index += 1; return members }
            while true {
                guard bytes[index] == UInt8(ascii: "\"") else { throw Reader.invalid(at: index) }
                let key = try string()
                guard try nonSpace() == UInt8(ascii: ":") else { throw Reader.invalid(at: index) }
                index += 1
                members[key] = try value()  // the last of repeated keys wins
                switch try nonSpace() {
                case UInt8(ascii: "}"): index += 1; return members
                case UInt8(ascii: ","):
                    index += 1
                    if try nonSpace() == UInt8(ascii: "}") { index += 1; return members }  // a trailing comma
                default: throw Reader.invalid(at: index)
                }
            }
        }

        /// The UTF-8 text of `bytes[range]`.
        func text(_ range: Range<Int>) throws(SyntaxError) -> String {
            guard let s = String(validating: bytes[range], as: UTF8.self) else { throw Reader.notUTF8(range) }
            return s
        }

        static func notUTF8(_ range: Range<Int>) -> SyntaxError {
            SyntaxError(description: "Invalid UTF-8 sequence \(range.count) bytes starting from character \(range.lowerBound).")
        }

        /// A string (at its opening quote): runs of bytes between escapes.
        mutating func string() throws(SyntaxError) -> String {
            index += 1
            var result = ""
            var run = index
            while index < bytes.count {
                let b = bytes[index]
                switch b {
                case UInt8(ascii: "\""):
                    result += try text(run..<index)
                    index += 1
                    return result
                case 0...0x1F:
                    _ = try text(run..<(index + 1))
                    throw SyntaxError(description: "Unescaped control character around character \(index).")
                case UInt8(ascii: "\\"):
                    result += try text(run..<index)
                    result.unicodeScalars.append(try escape())
                    run = index
                default:
                    index += 1
                }
            }
            throw Reader.endOfFile
        }

        /// The character of an escape (at its backslash).
        mutating func escape() throws(SyntaxError) -> Unicode.Scalar {
            let start = index
            /// A wrong escape; first the bytes read so far must be UTF-8, as for JSONSerialization.
            func wrong(_ why: String) -> SyntaxError {
                String(validating: bytes[start..<index], as: UTF8.self) == nil ? Reader.notUTF8(start..<index) : SyntaxError(description: why)
            }
            index += 1
            guard index < bytes.count else { throw Reader.endOfFile }
            let c = bytes[index]
            index += 1
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return Unicode.Scalar(c)
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                let unit = try hex4()
                guard (0xD800..<0xDC00).contains(unit) else {
                    guard let scalar = Unicode.Scalar(unit) else {
                        throw wrong("Unable to convert hex escape sequence (no high character) to UTF8-encoded character.")
                    }
                    return scalar
                }
                let noLow = "Unexpected end of file during string parse (expected low-surrogate code point but did not find one)."
                guard index + 2 <= bytes.count else { index = bytes.count; throw Reader.endOfFile }
                let (backslash, u) = (bytes[index], bytes[index + 1])
                index += 2
                guard backslash == UInt8(ascii: "\\"), u == UInt8(ascii: "u") else { throw wrong(noLow) }
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw wrong(noLow) }
                return Unicode.Scalar(0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00))!
            default:
                throw wrong("Invalid escape sequence around character \(start).")
            }
        }

        /// The four hex digits of a `\u` escape.
        mutating func hex4() throws(SyntaxError) -> UInt16 {
            guard index + 4 <= bytes.count else { index = bytes.count; throw Reader.endOfFile }
            let digits = bytes[index..<(index + 4)]
            defer { index += 4 }
            var unit: UInt16 = 0
            for d in digits {
                let v: UInt8
                switch d {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): v = d - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): v = d - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): v = d - UInt8(ascii: "A") + 10
                default:
                    throw SyntaxError(description: "Invalid hex encoded sequence in \"\(String(decoding: digits, as: UTF8.self))\" at \(index).")
                }
                unit = unit << 4 | UInt16(v)
            }
            return unit
        }

        /// A number: `Int` if it is an integer that fits, `Double` otherwise.
        mutating func number() throws(SyntaxError) -> Any {
            enum Part { case integer, fraction, exponent, exponentSign }
            let start = index
            var part = Part.integer
            var digits = bytes[index] == UInt8(ascii: "-") ? 0 : 1  // digits since the last '.', 'e' or sign
            var leadingZero = bytes[index] == UInt8(ascii: "0")
            index += 1
            scan: while index < bytes.count {
                let b = bytes[index]
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    if leadingZero { throw SyntaxError(description: "Number with leading zero around character \(index).") }
                    if b == UInt8(ascii: "0"), digits == 0, part == .integer { leadingZero = true }
                    digits += 1
                case UInt8(ascii: "."):
                    guard digits > 0, part == .integer else { throw Reader.invalid(at: index) }
                    part = .fraction; digits = 0; leadingZero = false
                case UInt8(ascii: "e"), UInt8(ascii: "E"):
                    guard digits > 0, part == .integer || part == .fraction else { throw Reader.invalid(at: index) }
                    part = .exponent; digits = 0; leadingZero = false
                case UInt8(ascii: "+"), UInt8(ascii: "-"):
                    guard digits == 0, part == .exponent else { throw Reader.invalid(at: index) }
                    part = .exponentSign
                case 0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"):
                    guard digits > 0 else { throw Reader.invalid(at: index) }
                    break scan
                default:
                    throw Reader.invalid(at: index)
                }
                index += 1
            }
            guard digits > 0 else { throw Reader.endOfFile }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if let i = Int(text) { return i }
            guard let d = Double(text), d.isFinite else {
                if unrepresentable == nil { unrepresentable = text }
                return Double.nan
            }
            return d
        }
    }
}
