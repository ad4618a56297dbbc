import BoardCore
import BoardTesting
import LittleFSCore
import XCTest

@testable import ArduinoLua

/// The plugin ABI from outside SwiftPM: plugins/Demo/demo.c compiled with `cc -shared`
/// against esplua_plugin.h, loaded by a sketch; a copy built for another ABI refused.
final class PluginTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Compiles the C demo plugin into a fresh folder; `abi` overrides the ABI it claims.
    /// `header10` builds the 1.0 demo kept in Fixtures/abi-1.0 against the 1.0 header kept beside it.
    func buildDemo(abi: String? = nil, name: String = "libesplua-demo.so", header10: Bool = false) throws -> String {
        let fixture = Self.root.appendingPathComponent("Tests/ArduinoLuaTests/Fixtures/abi-1.0")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plugins-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let include = header10 ? fixture.path : Self.root.appendingPathComponent("Sources/CPluginABI/include").path
        let source = header10 ? fixture.appendingPathComponent("demo.c").path : Self.root.appendingPathComponent("plugins/Demo/demo.c").path
        var arguments: [String] = ["-shared", "-fPIC", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", include]
        if let abi { arguments.append("-DDEMO_ABI=\(abi)") }
        // 1.1: ESPLUA_PLUGIN_EXPORT exports the entry points even when everything else is hidden
        if !header10 { arguments.append("-fvisibility=hidden") }
        arguments += [source, "-o", "\(dir)/\(name)"]
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        p.arguments = arguments
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "cc failed")
        return dir
    }

    func run(_ source: String, plugins: [String], wiring: String? = nil, for duration: UInt64 = seconds(3)) throws -> SketchRun {
        try SketchHarness.run(source: source, for: duration, files: wiring.map { ["sketch.wiring.json": $0] } ?? [:]) { o in
            o.pluginPaths = plugins
            o.pluginBuildFolder = nil
        }
    }

    static let demoSketch = """
        local Demo = require("Demo")
        function setup()
          print(Demo.version(), Demo.add(2, 3), DEMO_ANSWER)
          local heap = ESP.getFreeHeap()
          local c = Counter(10); c:inc(); c:inc()
          print("counter", c:value(), heap - ESP.getFreeHeap())
          print(pcall(Demo.add, "x"))
          pinMode(0, INPUT_PULLUP)
          for pin = 12, 15 do pinMode(pin, OUTPUT) end
          digitalWrite(12, HIGH); digitalWrite(14, HIGH)
          print("button", digitalRead(0)); delay(2000); print("button", digitalRead(0))
        end
        function loop() delay(1000) end
        """
    static let demoWiring = """
        { "parts": [ { "name": "btn", "part": "button", "pin": 0 }, { "name": "bar", "part": "ledbar", "first": 12, "count": 4 } ],
          "schedule": [ { "at": "1s", "set": "btn.pressed", "value": 1 } ] }
        """

    func testACPluginBuiltOutsideSwiftPMProvidesAModuleAClassAndParts() throws {
        let dir = try buildDemo()
        let r = try run(Self.demoSketch, plugins: [dir], wiring: Self.demoWiring)
        defer { r.finish() }
        // 1.1's arg_error: the message Lua's own luaL_argerror makes
        XCTAssertEqual(
            r.transcript,
            "demo 1.1\t5\t42\ncounter\t12\t24\nfalse\tbad argument #1 to 'Demo.add' (integer expected)\nbutton\t1\nbutton\t0\n",
            r.log.joined())
        XCTAssertEqual(r.device.plugins.part(named: "bar")?.get("value"), 0b0101, "LEDs on pins 12 and 14")
        XCTAssertEqual(r.device.plugins.part(named: "btn")?.get("pressed"), 1)
        XCTAssertEqual(r.device.plugins.loaded.first?.library.abi, 0x0001_0002)
        // 1.2's control_info: the button is one to hold, the LED bar's value a read-out
        let parts = try XCTUnwrap(r.device.plugins.loaded.first?.library.parts)
        let button = try XCTUnwrap(parts.first { $0.name == "button" }?.controlInfo.first)
        XCTAssertEqual([button.name, button.kind.rawValue], ["pressed", "button"])
        XCTAssertEqual(button.range, 0...1)
        let bar = try XCTUnwrap(parts.first { $0.name == "ledbar" }?.controlInfo.first)
        XCTAssertEqual([bar.name, bar.kind.rawValue], ["value", "output"])
        XCTAssertNil(bar.range, "min == max: no range")
    }

    func testAPluginBuiltAgainstThe10HeaderStillLoadsUnder11() throws {
        // Fixtures/abi-1.0: the header and demo.c as ABI 1.0 shipped them; 1.1 only appended
        let dir = try buildDemo(header10: true)
        let lib = try PluginLibrary(path: dir + "/libesplua-demo.so")
        XCTAssertEqual(lib.abi, 0x0001_0000)
        // its part types' reserved slots are not read as 1.2's control_info
        XCTAssertEqual(lib.parts.map(\.controlInfo.count), [0, 0])
        let r = try run(Self.demoSketch, plugins: [dir], wiring: Self.demoWiring)
        defer { r.finish() }
        XCTAssertEqual(
            r.transcript, "demo 1.0\t5\t42\ncounter\t12\t24\nfalse\tDemo.add expects two integers\nbutton\t1\nbutton\t0\n", r.log.joined())
        XCTAssertEqual(r.device.plugins.part(named: "bar")?.get("value"), 0b0101)
    }

    func testTheHostTableKeptItsSizeAndLayoutFrom10() throws {
        // 1.1 took reserved slots: a 1.0 plugin's `host->size >= sizeof(esplua_host)` check
        // still passes, and every 1.0 entry is where the 1.0 header says; 1.2 took a part
        // type's first reserved slot (control_info), so its size is 1.0's
        func layout(_ include: String) throws -> String {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("layout-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let program = """
                #include <stdio.h>
                #include <stddef.h>
                #include "esplua_plugin.h"
                int main(void) {
                    printf("%zu %zu %zu %zu %zu %zu\\n", sizeof(esplua_host), offsetof(esplua_host, log),
                           offsetof(esplua_host, error), offsetof(esplua_host, config_string),
                           sizeof(esplua_part_type), offsetof(esplua_part_type, get_control));
                    return 0;
                }
                """
            try program.write(toFile: dir + "/layout.c", atomically: true, encoding: .utf8)
            let cc = Process()
            cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
            cc.arguments = ["-std=c11", "-I", include, dir + "/layout.c", "-o", dir + "/layout"]
            try cc.run()
            cc.waitUntilExit()
            let run = Process()
            run.executableURL = URL(fileURLWithPath: dir + "/layout")
            let out = Pipe()
            run.standardOutput = out
            try run.run()
            run.waitUntilExit()
            return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        let v10 = try layout(Self.root.appendingPathComponent("Tests/ArduinoLuaTests/Fixtures/abi-1.0").path)
        let v11 = try layout(Self.root.appendingPathComponent("Sources/CPluginABI/include").path)
        XCTAssertFalse(v10.isEmpty)
        XCTAssertEqual(v10, v11)
    }

    func testAPluginBuiltForAnotherABIIsRefusedWithOneClearSentence() throws {
        let dir = try buildDemo(abi: "0x00020000")
        let path = dir + "/libesplua-demo.so"
        XCTAssertThrowsError(try PluginLibrary(path: path)) { error in
            XCTAssertEqual(
                "\(error)", "the plugin \(path) was built for plugin ABI 2.0, but this esplua provides ABI 1.2 (rebuild it against this esplua_plugin.h)")
        }
        let r = try run("local Demo = require('Demo')\nfunction setup() end\nfunction loop() end", plugins: [dir])
        defer { r.finish() }
        // an error of the sketch's top level is a load error (the sketch does not start)
        guard case .loadFailed(let message) = r.outcome else { return XCTFail("\(r.outcome)") }
        XCTAssertTrue(message.contains("module 'Demo' not found"), message)
        XCTAssertTrue(message.contains("was built for plugin ABI 2.0, but this esplua provides ABI 1.2"), message)
    }

    func testALibraryThatIsNotAPluginIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("notplugin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "int answer(void) { return 42; }\n".write(toFile: dir + "/x.c", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        p.arguments = ["-shared", "-fPIC", dir + "/x.c", "-o", dir + "/libx.so"]
        try p.run(); p.waitUntilExit()
        XCTAssertThrowsError(try PluginLibrary(path: dir + "/libx.so")) { error in
            XCTAssertEqual(error as? PluginError, .notAPlugin(path: dir + "/libx.so"))
        }
        XCTAssertThrowsError(try PluginLibrary(path: dir + "/missing.so")) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot load the plugin \(dir)/missing.so:"), "\(error)")
        }
    }

    func testAWiringFileNamingAnUnknownPartListsTheKnownOnes() throws {
        let dir = try buildDemo()
        XCTAssertThrowsError(
            try run(
                "function setup() end function loop() end", plugins: [dir],
                wiring: #"{ "parts": [ { "part": "thermostat", "pin": 4 } ] }"#)
        ) { error in
            XCTAssertEqual("\(error)", "no plugin provides the part 'thermostat' (known parts: button, ledbar)")
        }
        XCTAssertThrowsError(
            try run(
                "function setup() end function loop() end", plugins: [dir],
                wiring: #"{ "parts": [ { "part": "button", "pin": 4, "controls": { "volume": 3 } } ] }"#)
        ) { error in
            XCTAssertEqual("\(error)", "part 'button': no control 'volume' (controls: pressed)")
        }
    }
}

/// The built-in Servo plugin through the board: the waveform on the pin and the part's angle.
final class ServoOnTheBoardTests: XCTestCase {
    func testPulsesEvery20msAndTheServoIsOnItsWay() throws {
        var edges: [(Bool, UInt64)] = []
        let r = try SketchHarness.run(
            source: """
                local Servo = require("Servo")
                local s = Servo()
                function setup() s:attach(D4); delay(200); s:write(180) end
                function loop() delay(1000) end
                """, for: seconds(0.4), files: ["sketch.wiring.json": #"{ "parts": [ { "name": "servo", "part": "servo", "pin": 2 } ] }"#],
            prepare: { d in
                let clock = d.board.clock
                _ = d.board.pins.listen(pin: 2) { _, high in edges.append((high, clock.micros)) }
            })
        defer { r.finish() }
        let rises = edges.filter { $0.0 }.map(\.1)
        let falls = edges.filter { !$0.0 }.map(\.1)
        XCTAssertGreaterThan(rises.count, 10)
        for (a, b) in zip(rises, rises.dropFirst()) { XCTAssertEqual(b - a, 20_000, "a pulse every 20 ms") }
        let widths = zip(rises, falls).map { $1 - $0 }
        XCTAssertEqual(widths.first, 1500, "neutral after attach")
        XCTAssertEqual(widths.last, 2000, "write(180)")
        // write(180) came at ≈0.26 s; from 90° at 600 °/s the servo needs 0.15 s: at 0.4 s it is on its way
        let angle = try XCTUnwrap(r.device.plugins.part(named: "servo")?.get("angle"))
        let firstWide = zip(rises, falls).first { $1 - $0 == 2000 }!.0
        XCTAssertEqual(angle, 90 + 600 * Double(r.device.board.clock.micros - firstWide - 2000) / 1e6, accuracy: 0.5)
        XCTAssertLessThan(angle, 180)
    }
}

/// littlefs's promise through the board: power lost in the middle of a write leaves a
/// file system that mounts, with every file closed before the cut intact.
final class LittleFSPowerLossTests: XCTestCase {
    static let sketch = """
        local LittleFS = require("LittleFS")
        function setup()
          LittleFS.begin()
          local a = LittleFS.open("/a.txt", "w"); a:print(string.rep("A", 300)); a:close()
          -- the close reached the flash only if the file reads back (a cut makes it fail)
          local check = LittleFS.open("/a.txt", "r")
          if check and check:size() == 300 then print("a closed") end
          local b = LittleFS.open("/logs/b.txt", "w")
          for i = 1, 40 do b:println("line " .. i .. " " .. string.rep("b", 40)) end
          b:close()
          LittleFS.rename("/a.txt", "/renamed.txt")
          print("done")
        end
        function loop() delay(1000) end
        """

    func run(cutAt: Int?) throws -> (transcript: String, fsRegion: [UInt8], operations: Int) {
        let r = try SketchHarness.run(source: Self.sketch, for: seconds(1), prepare: { $0.board.flash.cutAt = cutAt })
        defer { r.finish() }
        let region = try XCTUnwrap(r.device.board.flash.read(ESP8266Layout.fsStart, count: ESP8266Layout.fsSize))
        return (r.transcript, region, r.device.board.flash.operations)
    }

    func testEveryCutPointLeavesAMountableFileSystemWithClosedFilesIntact() throws {
        let full = try run(cutAt: nil)
        XCTAssertEqual(full.transcript, "a closed\ndone\n")
        // the flash operations after a's close are the ones worth cutting: find the first
        var firstAfterA = 0
        for n in stride(from: 0, to: full.operations, by: 1) {
            if try run(cutAt: n).transcript.hasPrefix("a closed") { firstAfterA = n; break }
        }
        XCTAssertGreaterThan(firstAfterA, 0)
        var checked = 0
        for n in firstAfterA..<full.operations {
            let r = try run(cutAt: n)
            let fs = try LittleFS.mount(device: MemoryBlockDevice(blockSize: ESP8266Layout.blockSize, image: r.fsRegion))
            let a = (try? fs.readFile("/a.txt")) ?? (try? fs.readFile("/renamed.txt"))
            XCTAssertEqual(a.map { String(decoding: $0, as: UTF8.self) }, String(repeating: "A", count: 300), "cut at operation \(n)")
            XCTAssertFalse(fs.exists("/a.txt") && fs.exists("/renamed.txt"), "a rename is atomic (cut at \(n))")
            checked += 1
        }
        print("LittleFS through the board: \(checked) cut points checked (operations \(firstAfterA)..<\(full.operations))")
        XCTAssertGreaterThanOrEqual(checked, 5, "cut points after the first file was closed")
    }
}
