import BoardCore
import BoardTesting
import LuaRuntime
import XCTest

@testable import ArduinoLua

/// One registry (DESIGN.md decision 16): what the runtime installs, what the
/// checker's standard declares and what the editor file declares are the same names.
final class APIRegistryTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The registry of a state as a sketch gets it, with every built-in plugin module required.
    func registry() throws -> APIRegistry { try APICatalog.registry() }

    /// The table of core names esplua lacks never names one it has (it would answer
    /// "not in esplua" for a name that works).
    func testNoCoreOnlyNameIsRegistered() throws {
        let api = try registry()
        for key in APIHelp.coreOnly.keys.sorted() {
            if let dot = key.firstIndex(of: ".") {
                let owner = String(key[..<dot]), name = String(key[key.index(after: dot)...])
                XCTAssertFalse(api.global(owner)?.functions.contains(name) ?? false, key)
            } else if let colon = key.firstIndex(of: ":") {
                let cls = String(key[..<colon]), name = String(key[key.index(after: colon)...])
                XCTAssertFalse(api.methods[cls]?.contains(name) ?? false, key)
            } else {
                XCTAssertNil(api.global(key), key)
            }
        }
    }

    /// Every global a sketch sees that Lua 5.4 itself does not define (minus what the
    /// sandbox removes) is registered, with its kind; and every registered name is there.
    func testRegistryNamesEveryGlobalTheSketchSees() throws {
        // every plugin module on the search path, as APICatalog requires them
        let modules = PluginHost(board: Board()).discover().libraries.flatMap(\.moduleNames)
        XCTAssertTrue(Set(["Wire", "SPI", "Servo", "LittleFS"]).isSubset(of: modules), "\(modules)")
        let r = try SketchHarness.run(
            source: "for _, m in ipairs({" + modules.map { "\"\($0)\"" }.joined(separator: ", ") + "}) do require(m) end\n"
                + """
                local lua = {}
                for _, k in ipairs({"_G", "_VERSION", "assert", "collectgarbage", "error", "getmetatable", "ipairs", "load",
                  "next", "pairs", "pcall", "print", "rawequal", "rawget", "rawlen", "rawset", "require", "select",
                  "setmetatable", "tonumber", "tostring", "type", "xpcall", "warn", "coroutine", "math", "package",
                  "string", "table", "utf8"}) do lua[k] = true end
                local names = {}
                for k, v in pairs(_G) do
                  if not lua[k] and k ~= "setup" and k ~= "loop" then
                    local kind = type(v)
                    if kind == "table" then
                      local fields = {}
                      for f, fv in pairs(v) do fields[#fields + 1] = f .. "=" .. type(fv) end
                      table.sort(fields)
                      kind = (getmetatable(v) and getmetatable(v).__call and "class" or "singleton") .. " " .. table.concat(fields, ",")
                    end
                    names[#names + 1] = k .. " " .. kind
                  end
                end
                table.sort(names)
                for _, n in ipairs(names) do print(n) end
                function setup() end
                function loop() end
                """, for: seconds(0.1))
        defer { r.finish() }
        let api = try registry()
        var expected: [String] = []
        for g in api.globals {
            switch g.kind {
            case .function: expected.append("\(g.name) function")
            case .constant: expected.append("\(g.name) number")
            case .singleton, .class:
                let fields = (g.functions.map { "\($0)=function" } + g.constants.map { "\($0)=number" }).sorted()
                expected.append("\(g.name) \(g.kind.rawValue) \(fields.joined(separator: ","))")
            }
        }
        XCTAssertEqual(r.transcript.split(separator: "\n").map(String.init), expected.sorted(), r.log.joined())
        // objects' methods: each class's method table holds exactly the registered ones
        XCTAssertEqual(api.methods["WiFiClient"]?.contains("connect"), true)
        XCTAssertEqual(api.methods["File"]?.contains("readStringUntil"), true)
    }

    /// Installing calls record themselves; what host code defines in Lua is
    /// recorded after it runs, so a binding in either style lands in the registry.
    func testInstallingCallsAndLuaDefinitionsAreRecorded() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 16 << 20))
        let baseline = state.globalNames()
        state.setGlobal("f") { _ in 0 }
        state.setGlobal("K", integer: 7)
        state.setLibrary("T", [("a", { _ in 0 })], constants: [("C", 1)])
        state.defineClass("Obj", methods: [("m", { _ in 0 })])
        state.setLibrary("Obj", [("s", { _ in 0 })])
        state.getGlobal("Obj")
        state.setCallMetamethod { _ in 0 }
        state.setTop(state.top - 1)
        XCTAssertNil(state.run("function T.b() end; g = function() end; N = 3", name: "prelude"))
        state.recordLuaDefinitions(baseline: baseline)
        let api = state.api
        XCTAssertEqual(Array(api.globals.map(\.name).prefix(4)), ["f", "K", "T", "Obj"], "installing calls in order")
        XCTAssertEqual(api.global("f")?.kind, .function)
        XCTAssertEqual(api.global("K")?.value, 7)
        XCTAssertEqual(api.global("T")?.kind, .singleton)
        XCTAssertEqual(api.global("T")?.functions, ["a", "b"])
        XCTAssertEqual(api.global("T")?.constants, ["C"])
        XCTAssertEqual(api.global("Obj")?.kind, .class)
        XCTAssertEqual(api.global("Obj")?.functions, ["s"])
        XCTAssertEqual(api.methods["Obj"], ["m"])
        XCTAssertEqual(api.global("g")?.kind, .function)
        XCTAssertEqual(api.global("N")?.kind, .constant)
        XCTAssertEqual(Set(api.globals.map(\.name)), ["f", "K", "T", "Obj", "g", "N"])
    }

    /// The LuaLS file is valid Lua; loaded, it declares every registered name (globals
    /// with their kind, module functions and constants, class methods) and no other.
    func testLuaLSFileDeclaresEveryRegisteredName() throws {
        let api = try registry()
        let text = api.luaLSAnnotations()
        XCTAssertTrue(text.hasPrefix("---@meta"))
        let state = try XCTUnwrap(LuaState(memoryLimit: 64 << 20))
        let before = "local seen = {}; for k in pairs(_G) do seen[k] = true end; _SEEN = seen"
        XCTAssertNil(state.run(before, name: "before"))
        XCTAssertNil(state.run(text, name: "esplua.lua"))
        let dump = """
            local out = {}
            for k, v in pairs(_G) do
              if not _SEEN[k] and k ~= "_SEEN" then
                local fields = {}
                if type(v) == "table" then for f, fv in pairs(v) do fields[#fields + 1] = f .. "=" .. type(fv) end end
                table.sort(fields)
                out[#out + 1] = k .. " " .. type(v) .. " " .. table.concat(fields, ",")
              end
            end
            table.sort(out)
            return table.concat(out, "\\n")
            """
        try state.load(Array(dump.utf8), name: "dump")
        XCTAssertNil(state.protectedCall(nresults: 1))
        let declared = state.string(at: -1) ?? ""
        var expected: [String] = []
        for g in api.globals {
            switch g.kind {
            case .function: expected.append("\(g.name) function ")
            case .constant: expected.append("\(g.name) number ")
            case .singleton, .class:
                // LuaLS declares an object's methods on its class table
                let members =
                    g.functions.map { "\($0)=function" } + g.constants.map { "\($0)=number" }
                    + (api.methods[g.name] ?? []).filter { !g.functions.contains($0) }.map { "\($0)=function" }
                expected.append("\(g.name) table \(Set(members).sorted().joined(separator: ","))")
            }
        }
        XCTAssertEqual(declared.split(separator: "\n", omittingEmptySubsequences: false).map(String.init), expected.sorted())
    }

    /// Every documented signature names a registered function (no stale docs), and
    /// the LuaLS file carries their parameters.
    func testSignatureDocsNameRegisteredFunctions() throws {
        let api = try registry()
        var registered: Set<String> = []
        for g in api.globals {
            registered.insert(g.name)
            for f in g.functions { registered.insert("\(g.name).\(f)") }
        }
        for (c, m) in api.allMethods { registered.insert("\(c):\(m)") }
        XCTAssertEqual(Set(APIDocs.signatures.keys).subtracting(registered), [])
        let text = api.luaLSAnnotations()
        XCTAssertTrue(
            text.contains(
                "--- `client:connect(host, port) -> true/false`\n---@param host any\n---@param port any\n---@return any\nfunction WiFiClient:connect(host, port) end\n"
            ), text)
        XCTAssertTrue(text.contains("---@param port? any\n---@param backlog? any\n---@return any\nfunction WiFiServer:begin(port, backlog) end"), text)
        XCTAssertTrue(text.contains("function WiFiClient:read(n) end"), text)
        XCTAssertTrue(text.contains("---@param n? any"), text)
        XCTAssertTrue(text.contains("function Serial.printf(fmt, ...) end"), text)
        XCTAssertTrue(text.contains("---@overload fun(port: any): WiFiServer"), text)
    }

    /// luacheck with the generated standard accepts a sketch that uses every
    /// registered name (so the checker knows all the runtime has) and flags one more.
    func testLuacheckStandardKnowsEveryRegisteredName() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/luacheck") else { throw XCTSkip("luacheck is not installed (make setup)") }
        let api = try registry()
        var sketch = "function setup()\n"
        for g in api.globals {
            sketch += "  local _ = \(g.name)\n"
            for f in g.functions + g.constants { sketch += "  _ = \(g.name)[\"\(f)\"]\n" }
        }
        sketch += "  _ = WiFi.setSleepMode\nend\nfunction loop() end\n"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("esplua-lc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("rc.lua").path, file = dir.appendingPathComponent("all.lua").path
        try api.luacheckConfig().write(toFile: config, atomically: true, encoding: .utf8)
        try sketch.write(toFile: file, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/luacheck")
        p.arguments = ["--config", config, "--formatter", "plain", "--codes", "--no-color", "--only", "011", "113", "143", "--", file]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let findings = SketchCheck.translate(luacheckOutput: text, api: api)
        XCTAssertEqual(findings.count, 1, text)
        XCTAssertEqual(findings.first?.line, api.globals.reduce(2) { $0 + 1 + $1.functions.count + $1.constants.count })
        XCTAssertTrue(findings.first?.message.hasPrefix("WiFi.setSleepMode is in the ESP8266 core but not in esplua") ?? false, text)
    }

    // MARK: the dot/colon pass

    func testDotColonPassFindsBothMixUpsAndSkipsStringsCommentsAndOwnTables() throws {
        let api = try registry()
        let source = """
            local server = WiFiServer(80)
            local M = {}
            function M.read() return 1 end
            local json = require("json")
            function setup()
              Serial:println("x") -- Serial:println("in a comment")
              local s = "client.stop() in a string"
              local t = [[ client.stop() in a long string ]]
              server.begin()
              M.read(); json.read("{}"); string.format("%d", 1)
              local c = server:accept()
              if c then c.print("hi") end
              Serial.println(c:read())
            end
            """
        let found = SketchCheck.dotColon(source: source, file: "s.lua", api: api)
        XCTAssertEqual(found.map(\.line), [6, 9, 12], found.map(\.description).joined(separator: "\n"))
        XCTAssertEqual(found[0].description, "s.lua:6:3: use a dot: Serial.println(...), not Serial:println(...) (Serial is a module, not an object)")
        XCTAssertTrue(found[1].message.hasPrefix("use a colon: server:begin(...), not server.begin(...)"), found[1].message)
        XCTAssertEqual(found[2].column, 13)
    }

    func testDotColonPassIsQuietOnEveryExampleSketch() throws {
        let api = try registry()
        let dir = Self.root.appendingPathComponent("sketches")
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".lua") {
            let source = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            XCTAssertEqual(SketchCheck.dotColon(source: source, file: name, api: api), [], name)
        }
    }
}
