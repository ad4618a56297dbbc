import Foundation
import XCTest

@testable import BoardCore

/// The stand-ins for Foundation's JSONSerialization, String(format:) and NSString
/// paths (esplua links FoundationEssentials only), checked against Foundation itself.
final class TextTests: XCTestCase {
    /// What the world and wiring readers see of a value: the same through Foundation's NSNumbers and through JSON's helpers.
    func seen(_ value: Any, foundation: Bool) -> String {
        switch value {
        case let d as [String: Any]:
            return "{" + d.keys.sorted().map { "\($0): \(seen(d[$0]!, foundation: foundation))" }.joined(separator: ", ") + "}"
        case let a as [Any]:
            return "[" + a.map { seen($0, foundation: foundation) }.joined(separator: ", ") + "]"
        case let s as String:
            return "\"\(s)\""
        case is NSNull, is JSON.Null:
            return "null"
        default:
            if foundation {
                let n = value as? NSNumber
                let integer = n.flatMap { $0.doubleValue == Double($0.intValue) ? $0.intValue : nil }
                return "number(\(integer.map(String.init) ?? "-"), \(n.map { "\($0.doubleValue)" } ?? "-"), \((value as? Bool).map { "\($0)" } ?? "-"))"
            }
            return
                "number(\(JSON.integer(value).map(String.init) ?? "-"), \(JSON.number(value).map { "\($0)" } ?? "-"), \(JSON.boolean(value).map { "\($0)" } ?? "-"))"
        }
    }

    func foundationReading(_ text: [UInt8]) -> String {
        do { return seen(try JSONSerialization.jsonObject(with: Data(text)), foundation: true) } catch {
            return "error: " + ((error as NSError).userInfo["NSDebugDescription"] as? String ?? "?")
        }
    }

    func ourReading(_ text: [UInt8]) -> String {
        do { return seen(try JSON.parse(text), foundation: false) } catch { return "error: \(error.description)" }
    }

    func testJSONReadsAsJSONSerialization() {
        let texts: [String] = [
            "{}", "[]", " { } ", "{\"a\":1}", "[1, 2.5, -3, 0, -0, 1e2, 1E2, 2.5e-3, 1.0, 12345678901234567]",
            "[true, false, null, \"x\", [], {}]", "{\"a\": {\"b\": [1, {\"c\": null}]}}",
            "[9223372036854775807, 9223372036854775808, -9223372036854775808, 18446744073709551615]",
            "[0.5, 0.1, 1e-7, 123.456, 80.0, 80.5, 1, 0, 2]",
            "{\"a\":1,}", "[1,]", "{\"a\":1,\"a\":2}", "[1 , 2 ,\n3\t,\r4]",
            "", " ", "{", "[", "{\"a\"", "{\"a\":", "{\"a\":1", "[1,", "{ nope", "{a:1}", "{\"a\" 1}", "{\"a\":1 \"b\":2}",
            "[1 2]", "[,1]", "{,}", "[01]", "[-01]", "[00]", "[-]", "[1.]", "[.5]", "[1e]", "[1e+]", "[1e5.5]", "[--1]", "[+1]",
            "[1-2]", "[0x10]", "[1.5e400]", "[1e400]", "[-1e400]", "[1e-400]", "[tru]", "[trux]", "[nul]", "[nulx]", "[fals]", "[falsy]",
            "\"str\"", "1", "true", "null", "{} x", "[] ]", "{}\n\n ",
            "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"]", "[\"\\u0041\\u00e9\\u20AC\"]", "[\"\\ud83d\\ude00\"]",
            "[\"\\q\"]", "[\"a\\", "[\"\\u12\"]", "[\"\\u12", "[\"\\uZZZZ\"]", "[\"\\ud800\"]", "[\"\\ud800x\"]", "[\"\\ud800\\u0041\"]",
            "[\"\\udc00\"]", "[\"\\ud800\\", "[\"tab\there\"]", "[\"nl\nhere\"]", "[\"abc", "[\"é\"]",
            String(repeating: "[", count: 512) + String(repeating: "]", count: 512),
            String(repeating: "[", count: 513) + String(repeating: "]", count: 513),
        ]
        var cases = texts.map { Array($0.utf8) }
        cases += [
            [0xEF, 0xBB, 0xBF] + Array("{ }".utf8), [0xEF, 0xBB, 0xBF] + Array("{ x".utf8),
            Array("{\"a\u{00}\": 1}".utf8), Array("[\"a".utf8) + [0xFF] + Array("\"]".utf8),
            Array("[\"a".utf8) + [0xC3] + Array("\\n\"]".utf8), Array("[\"\\".utf8) + [0xC3, 0xA9] + Array("\"]".utf8),
            [0x5B, 0xFF, 0x5D], [0xEF, 0xBB, 0xBF], [0x00], [0x00, 0x7B, 0x7D],
        ]
        // UTF-16 and UTF-32, with and without a byte order mark
        func utf16(_ s: String, bigEndian: Bool) -> [UInt8] {
            s.utf16.flatMap { bigEndian ? [UInt8($0 >> 8), UInt8($0 & 0xFF)] : [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        }
        func utf32(_ s: String, bigEndian: Bool) -> [UInt8] {
            s.unicodeScalars.flatMap { u in (0..<4).map { k in UInt8(u.value >> (8 * (bigEndian ? 3 - k : k)) & 0xFF) } }
        }
        for s in ["{\"a\": \"é😀\", \"b\": [1.5]}", "{\"a\": x}", "[1,"] {
            for bigEndian in [false, true] {
                cases += [
                    utf16(s, bigEndian: bigEndian), utf16("\u{FEFF}" + s, bigEndian: bigEndian), utf16(s, bigEndian: bigEndian) + [0x20],
                    utf32(s, bigEndian: bigEndian), utf32("\u{FEFF}" + s, bigEndian: bigEndian),
                ]
            }
        }
        cases.append([0x7B, 0x00, 0x22, 0x00, 0x00, 0xD8, 0x22, 0x00, 0x7D, 0x00])  // a lone surrogate in UTF-16
        for text in cases {
            XCTAssertEqual(ourReading(text), foundationReading(text), String(decoding: text, as: UTF8.self))
        }
    }

    func testFormatIsPrintf() {
        for v: UInt32 in [0, 1, 0xabc, 0x3fff_ffd0, 0xffff_ffff] {
            XCTAssertEqual(Format.hex(v, digits: 8), String(format: "%08x", v))
            XCTAssertEqual(Format.hex(v, digits: 8, uppercase: true), String(format: "%08X", v))
            XCTAssertEqual(Format.hex(v, digits: 4), String(format: "%04x", v))
        }
        for x in [0, 0.0005, 0.0015, 0.0025, 1.2345, 2.5, 0.05, 0.15, 0.25, 59.9995, 170.000001, 1e15, -0.0004, 123456.7895] {
            XCTAssertEqual(Format.fixed(x, decimals: 3), String(format: "%.3f", x))
            XCTAssertEqual(Format.fixed(x, decimals: 1), String(format: "%.1f", x))
        }
        XCTAssertEqual(Format.fixed(1e300, decimals: 3), String(format: "%.3f", 1e300))
        for s in ["", "abc", "10.0.2.15:80", "255.255.255.255:65535 and more"] {
            for n in [0, 3, 7, 19] {
                XCTAssertEqual(Format.padded(s, to: n), s.padding(toLength: n, withPad: " ", startingAt: 0))
            }
        }
    }

    func testPathsAsNSString() {
        // NSString itself traps on a one-character name ("a", "a/"); the others agree
        for p in [
            "", "/", "ab", "/a", "/a/", "a/b", "a/b/", "a//b", "a//b//", "./a", "../a/b.lua", "/x/y/z.lua",
            "sketches/blink.lua", "///a", "a/./b", "blink.lua", "a/b/c/",
        ] {
            XCTAssertEqual(Path.directory(of: p), (p as NSString).deletingLastPathComponent, p)
        }
        XCTAssertEqual(Path.directory(of: "a"), "")
        XCTAssertEqual(Path.directory(of: "a/"), "")
        for a in ["", "/", "ab", "ab/", "/ab", "ab//", "."] {
            for b in ["", "b", "/b", "b/", "/b/c", "b//c", "."] {
                XCTAssertEqual(Path.join(a, b), (a as NSString).appendingPathComponent(b), "\(a) + \(b)")
            }
        }
    }
}
