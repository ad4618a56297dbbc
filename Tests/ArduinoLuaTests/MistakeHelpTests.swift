import BoardCore
import BoardTesting
import XCTest

@testable import ArduinoLua

/// A beginner's mistake gets an answer, not a flood: missing names say whether
/// the core has them, dot/colon mix-ups say which to use, argument numbers count
/// as written, and a crash in setup() does not reboot forever.
final class MistakeHelpTests: XCTestCase {
    func run(_ source: String, for duration: Double = 1, noReboot: Bool = true, configure: (inout DeviceOptions) -> Void = { _ in }) throws -> SketchRun {
        try SketchHarness.run(source: source, for: seconds(duration), noReboot: noReboot, configure: configure)
    }

    /// `analogWriteMode()` is Arduino.h:175 in core 3.1.2; esplua has none: the message says so,
    /// with the sketch's line and where the reference is.
    func testCallingAMissingGlobalNamesItAndTheReference() throws {
        let r = try run("function setup() end\nfunction loop() local v = analogWriteMode(5, 128, true) end")
        defer { r.finish() }
        let line = r.log.first ?? ""
        XCTAssertTrue(
            line.contains(
                "/sketch.lua:2: attempt to call a nil value (global 'analogWriteMode'): analogWriteMode is in the ESP8266 core but not in esplua (yet)"), line)
        XCTAssertTrue(line.contains("README.md"), line)
    }

    func testAMisspelledGlobalSuggestsTheRealName() throws {
        let r = try run("function setup() pinmode(2, OUTPUT) end\nfunction loop() end")
        defer { r.finish() }
        XCTAssertTrue(r.log.first?.contains("(global 'pinmode'): esplua has no pinmode; it has pinMode") ?? false, "\(r.log)")
    }

    /// `WiFi.setSleepMode` is ESP8266WiFiGeneric.h:86; reading it names the call at its line.
    func testAMissingFunctionOfASingletonNamesTheCall() throws {
        let r = try run("function setup() WiFi.setSleepMode(0) end\nfunction loop() end")
        defer { r.finish() }
        XCTAssertTrue(r.log.first?.contains("/sketch.lua:1: WiFi.setSleepMode is in the ESP8266 core but not in esplua (yet)") ?? false, "\(r.log)")
    }

    func testAMissingMethodNamesTheClass() throws {
        let r = try run("function setup() local u = WiFiUDP(); u:println('x') end\nfunction loop() end")
        defer { r.finish() }
        XCTAssertTrue(r.log.first?.contains("sketch.lua:1: WiFiUDP:println is in the ESP8266 core but not in esplua (yet); use udp:print") ?? false, "\(r.log)")
    }

    func testAMethodCalledWithADotSaysUseAColon() throws {
        let r = try run("function setup() local c = WiFiClient(); c.connect('10.0.2.2', 80) end\nfunction loop() end")
        defer { r.finish() }
        XCTAssertTrue(r.log.first?.contains("sketch.lua:1: use a colon: obj:connect(...), not obj.connect(...)") ?? false, "\(r.log)")
    }

    func testAModuleFunctionCalledWithAColonSaysUseADot() throws {
        let r = try run("function setup() Serial:println('hi') end\nfunction loop() end")
        defer { r.finish() }
        XCTAssertTrue(r.log.first?.contains("sketch.lua:1: use a dot: Serial.println(...), not Serial:println(...)") ?? false, "\(r.log)")
        XCTAssertEqual(r.transcript.contains("table"), false, "nothing printed")
    }

    /// Lua's luaL_argerror counts a method's arguments from after the object; the
    /// bindings name stack positions, so `c:connect(h, 70000)` blames #2, the port.
    func testMethodArgumentNumbersCountAsTheSketchWroteThem() throws {
        let r = try run(
            """
            function setup()
              local c, u = WiFiClient(), WiFiUDP()
              print(select(2, pcall(function() c:connect("10.0.2.2", 70000) end)))
              print(select(2, pcall(function() u:begin(70000) end)))
              print(select(2, pcall(function() u:beginPacket("10.0.2.2", 0) end)))
              print(select(2, pcall(function() WiFiServer(70000) end)))
              print(select(2, pcall(function() WiFiServer("x") end)))
            end
            function loop() end
            """)
        defer { r.finish() }
        let lines = r.transcript.split(separator: "\n").map { $0.split(separator: "/").last.map(String.init) ?? "" }
        XCTAssertEqual(
            lines,
            [
                "sketch.lua:3: bad argument #2 to 'connect' (port must be 1-65535)",
                "sketch.lua:4: bad argument #1 to 'begin' (port must be 0-65535)",
                "sketch.lua:5: bad argument #2 to 'beginPacket' (port must be 1-65535)",
                "sketch.lua:6: bad argument #1 to 'WiFiServer' (port must be 0-65535)",
                "sketch.lua:7: bad argument #1 to 'WiFiServer' (number expected, got string)",
            ])
    }

    // MARK: crash loops

    /// An error in the top level (not in setup/loop): the sketch does not load, as a
    /// C++ sketch that does not compile; one message, no dump.
    func testAnErrorInTheMainChunkIsALoadError() throws {
        let r = try run("local x = analogWriteMode(1)\nfunction setup() end\nfunction loop() end", noReboot: false)
        defer { r.finish() }
        guard case .loadFailed(let m) = r.outcome else { return XCTFail("\(r.outcome)") }
        XCTAssertTrue(m.contains("/sketch.lua:1: attempt to call a nil value (global 'analogWriteMode'): analogWriteMode is in the ESP8266 core"), m)
        XCTAssertFalse(m.contains("traceback"), m)
        XCTAssertEqual(r.transcript, "")
    }

    /// A board reboots forever (core_esp8266_postmortem.cpp ends in a reset); esplua
    /// stops after the third crash alike with no loop() pass between: three dumps.
    func testTheSameCrashInSetupThreeTimesStopsTheRun() throws {
        let r = try run("function setup() Serial.println('boot'); analogWriteMode(1) end\nfunction loop() end", for: 60, noReboot: false)
        defer { r.finish() }
        guard case .crashLoop(let line) = r.outcome else { return XCTFail("\(r.outcome)") }
        XCTAssertTrue(line.contains("/sketch.lua:1: attempt to call a nil value (global 'analogWriteMode')"), line)
        XCTAssertTrue(line.contains("the same crash at each of 3 boots"), line)
        XCTAssertTrue(line.contains("--reboot-forever"), line)
        XCTAssertEqual(r.transcript.components(separatedBy: "Exception (28):").count - 1, 3)
        XCTAssertEqual(r.transcript.components(separatedBy: "boot\r\n").count - 1, 3)
        XCTAssertLessThan(r.device.board.clock.micros, seconds(1), "ended by itself, long before --for")
    }

    func testRebootForeverKeepsRebootingAsABoard() throws {
        let r = try run("function setup() analogWriteMode(1) end\nfunction loop() end", for: 2, noReboot: false) { $0.rebootForever = true }
        defer { r.finish() }
        XCTAssertEqual(r.outcome, .finished)
        XCTAssertGreaterThan(r.transcript.components(separatedBy: "Exception (28):").count - 1, 10)
    }

    /// Crashes with loop() passes between them are not a crash loop: a board's
    /// sketch that fails now and then keeps running.
    func testCrashesAfterLoopPassesKeepRebooting() throws {
        let r = try run(
            "function setup() end\nlocal n = 0\nfunction loop() n = n + 1; delay(10); if n == 3 then analogWriteMode(1) end end",
            for: 2, noReboot: false)
        defer { r.finish() }
        XCTAssertEqual(r.outcome, .finished)
        XCTAssertGreaterThan(r.transcript.components(separatedBy: "Exception (28):").count - 1, 3)
    }

    /// The Exception dump of a Lua error names the sketch's line, as the Panic dump does.
    func testTheDumpOfALuaErrorNamesTheSketchLine() throws {
        let r = try run("function setup() end\nfunction loop()\n  local t = nil\n  print(t.x)\nend")
        defer { r.finish() }
        XCTAssertTrue(r.transcript.contains("Exception (28):\nepc1="), r.transcript)
        XCTAssertTrue(r.transcript.contains("\nLua: "), r.transcript)
        XCTAssertTrue(r.transcript.contains("sketch.lua:4 loop\n"), r.transcript)
    }
}
