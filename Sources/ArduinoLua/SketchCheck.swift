import LuaRuntime

/// One mistake `esplua check` found: `file:line:col: message`.
public struct CheckFinding: Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// `esplua check`'s own passes over a sketch's source (luacheck does the rest with
/// the standard `APIRegistry.luacheckConfig()` makes), and the translation of
/// luacheck's findings into esplua's answers (`APIHelp`).
public enum SketchCheck {
    /// The dot/colon mix-ups a pass over the tokens can see: `Serial:println(x)`
    /// (a module's function called with a colon) and `client.stop()` (an object's
    /// method called with a dot, on a name that is neither an API global, a Lua
    /// library, nor a table or module of the sketch's own).
    public static func dotColon(source: String, file: String, api: APIRegistry) -> [CheckFinding] {
        let tokens = LuaTokens.scan(source)
        let luaLibraries: Set<String> = ["string", "table", "math", "coroutine", "utf8", "package", "_G", "_ENV", "self"]
        // names the sketch makes tables or modules of: `t = {`, `local m = require(…)`, `function t.f`, `t.f =`
        var ownTables: Set<String> = []
        for (i, t) in tokens.enumerated() where t.kind == .name {
            let next = i + 1 < tokens.count ? tokens[i + 1] : nil
            let after = i + 2 < tokens.count ? tokens[i + 2] : nil
            if next?.text == "=", let after, after.text == "{" || after.text == "require" || after.text == "setmetatable" {
                ownTables.insert(t.text)
            }
            if i > 0, tokens[i - 1].text == "function", next?.text == "." || next?.text == ":" { ownTables.insert(t.text) }
            if next?.text == ".", i + 3 < tokens.count, tokens[i + 2].kind == .name, tokens[i + 3].text == "=" { ownTables.insert(t.text) }
        }
        var methodClasses: [String: [String]] = [:]
        for (cls, m) in api.allMethods { methodClasses[m, default: []].append(cls) }
        var out: [CheckFinding] = []
        for i in 0..<max(0, tokens.count - 3) {
            let a = tokens[i], sep = tokens[i + 1], b = tokens[i + 2], call = tokens[i + 3]
            guard a.kind == .name, b.kind == .name, sep.text == "." || sep.text == ":",
                call.text == "(" || call.text == "{" || call.kind == .string
            else { continue }
            if i > 0, [".", ":", "function"].contains(tokens[i - 1].text) { continue }
            if sep.text == ":" {
                guard let g = api.global(a.text), g.kind == .singleton || g.kind == .class, g.functions.contains(b.text) else { continue }
                let what = g.kind == .singleton ? "a module, not an object" : "the class, not an object"
                out.append(
                    CheckFinding(
                        file: file, line: a.line, column: a.column,
                        message: "use a dot: \(a.text).\(b.text)(...), not \(a.text):\(b.text)(...) (\(a.text) is \(what))"))
            } else {
                guard api.global(a.text) == nil, !luaLibraries.contains(a.text), !ownTables.contains(a.text),
                    let classes = methodClasses[b.text]
                else { continue }
                out.append(
                    CheckFinding(
                        file: file, line: a.line, column: a.column,
                        message:
                            "use a colon: \(a.text):\(b.text)(...), not \(a.text).\(b.text)(...) (\(b.text) is a method of \(classes.joined(separator: ", ")))"
                    ))
            }
        }
        return out
    }

    /// esplua's answers for luacheck's findings, from its `--formatter plain --codes`
    /// lines (`file:line:col: (W113) accessing undefined variable map`): an unknown
    /// global, an unknown field of an API global; other findings as luacheck words them.
    public static func translate(luacheckOutput: String, api: APIRegistry) -> [CheckFinding] {
        var out: [CheckFinding] = []
        for line in luacheckOutput.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
            guard parts.count == 4, let l = Int(parts[1]), let c = Int(parts[2]) else { continue }
            var text = parts[3].drop { $0 == " " }
            var code = ""
            if text.hasPrefix("("), let close = text.firstIndex(of: ")") {
                code = String(text[text.index(after: text.startIndex)..<close])
                text = text[text.index(after: close)...].drop { $0 == " " }
            }
            let words = text.split(separator: " ").map { String($0.filter { $0 != "'" }) }
            var message = String(text)
            switch code {
            case "W113" where words.count >= 4:
                message = APIHelp.missingGlobal(words[3], api: api)
            case "W143" where words.count >= 7:
                message = APIHelp.missing(owner: words[6], key: words[3], isMethod: false, api: api)
            default:
                break
            }
            out.append(CheckFinding(file: String(parts[0]), line: l, column: c, message: message))
        }
        return out
    }
}

/// A Lua tokenizer just good enough to find `name . name (` and `name : name (`:
/// comments, strings and long brackets are skipped, punctuation is one or two
/// characters (`..` is not `.`, `::` is not `:`).
enum LuaTokens {
    enum Kind { case name, string, punctuation }
    struct Token {
        let kind: Kind
        let text: String
        let line: Int
        let column: Int
    }

    static func scan(_ source: String) -> [Token] {
        let s = Array(source.utf8)
        var tokens: [Token] = []
        var i = 0, line = 1, lineStart = 0
        func isNameStart(_ c: UInt8) -> Bool { c == 95 || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c >= 128 }
        func isName(_ c: UInt8) -> Bool { isNameStart(c) || (c >= 48 && c <= 57) }
        /// The level of a long bracket `[==[` at `j`, or nil.
        func longBracket(_ j: Int) -> Int? {
            guard j < s.count, s[j] == UInt8(ascii: "[") else { return nil }
            var k = j + 1, level = 0
            while k < s.count, s[k] == UInt8(ascii: "=") { level += 1; k += 1 }
            return k < s.count && s[k] == UInt8(ascii: "[") ? level : nil
        }
        /// Skips a long bracket of `level` opening at `j`; returns the index after it.
        func skipLong(_ j: Int, _ level: Int) -> Int {
            var k = j + level + 2
            while k < s.count {
                if s[k] == 10 { line += 1; lineStart = k + 1 }
                if s[k] == UInt8(ascii: "]") {
                    var e = k + 1, n = 0
                    while e < s.count, s[e] == UInt8(ascii: "="), n < level { n += 1; e += 1 }
                    if n == level, e < s.count, s[e] == UInt8(ascii: "]") { return e + 1 }
                }
                k += 1
            }
            return s.count
        }
        while i < s.count {
            let c = s[i]
            let col = i - lineStart + 1
            if c == 10 { line += 1; lineStart = i + 1; i += 1; continue }
            if c == 32 || c == 9 || c == 13 { i += 1; continue }
            if c == UInt8(ascii: "-"), i + 1 < s.count, s[i + 1] == UInt8(ascii: "-") {
                if let level = longBracket(i + 2) { i = skipLong(i + 2, level); continue }
                while i < s.count, s[i] != 10 { i += 1 }
                continue
            }
            if let level = longBracket(i) {
                let startLine = line
                i = skipLong(i, level)
                tokens.append(Token(kind: .string, text: "", line: startLine, column: col))
                continue
            }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                var k = i + 1
                while k < s.count, s[k] != c, s[k] != 10 {
                    if s[k] == UInt8(ascii: "\\"), k + 1 < s.count {
                        if s[k + 1] == 10 { line += 1; lineStart = k + 2 }
                        k += 1
                    }
                    k += 1
                }
                tokens.append(Token(kind: .string, text: "", line: line, column: col))
                i = k + 1
                continue
            }
            if isNameStart(c) {
                var k = i
                while k < s.count, isName(s[k]) { k += 1 }
                tokens.append(Token(kind: .name, text: String(decoding: s[i..<k], as: UTF8.self), line: line, column: col))
                i = k
                continue
            }
            if c >= 48 && c <= 57 {  // a number (with its exponent, hex digits, fraction)
                var k = i
                while k < s.count, isName(s[k]) || s[k] == UInt8(ascii: ".") { k += 1 }
                tokens.append(Token(kind: .punctuation, text: "0", line: line, column: col))
                i = k
                continue
            }
            var len = 1
            if i + 1 < s.count {
                let two = String(decoding: s[i...(i + 1)], as: UTF8.self)
                if ["..", "::", "==", "~=", "<=", ">=", "//", "<<", ">>"].contains(two) { len = 2 }
            }
            tokens.append(Token(kind: .punctuation, text: String(decoding: s[i..<(i + len)], as: UTF8.self), line: line, column: col))
            i += len
        }
        return tokens
    }
}
