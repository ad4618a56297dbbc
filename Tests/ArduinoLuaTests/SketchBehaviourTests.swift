import BoardCore
import BoardTesting
import XCTest

@testable import ArduinoLua

final class SketchBehaviourTests: XCTestCase {
    /// `lwip.pcbs()` tells the heap each pcb holds, in the figures the heap charged:
    /// a listening pcb (36 B on the ESP8266) is what `begin()` took from `getFreeHeap()`.
    func testLwipPcbsTellTheHeapEachHolds() throws {
        let run = try SketchHarness.run(
            source: """
                local server = WiFiServer(80)
                function setup()
                  local before = ESP.getFreeHeap()
                  server:begin()
                  local took = before - ESP.getFreeHeap()
                  for _, p in ipairs(lwip.pcbs()) do print(p.state .. " " .. p.localPort .. " holds " .. p.heap .. ", begin took " .. took) end
                end
                function loop() delay(100) end
                """, for: seconds(1))
        defer { run.finish() }
        XCTAssertEqual(run.transcript, "LISTEN 80 holds 40, begin took 40\n")
    }

    func testBusyLoopGetsSoftWDTResetAfter3200ms() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() Serial.println("start " .. millis()) end
                function loop() while true do end end
                """, for: seconds(20))
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .crashed(.softWatchdog))
        XCTAssertTrue(run.transcript.contains("\nSoft WDT reset\n"))
        XCTAssertTrue(run.transcript.contains("Exception (4):"))
        // bitten ≈ 3.2 s after the last feed (setup() returned at boot + ~60 ms)
        let elapsed = run.device.board.uptimeMicros
        XCTAssertGreaterThanOrEqual(elapsed, 3_200_000)
        XCTAssertLessThan(elapsed, 3_400_000)
    }

    func testWatchdogRebootsAndSetupRunsAgainWithTheResetReason() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() Serial.println("reason: " .. ESP.getResetReason()) end
                function loop() while true do end end
                """, for: seconds(8), noReboot: false)
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished)
        XCTAssertTrue(run.transcript.hasPrefix("reason: Power On\r\n"))
        XCTAssertTrue(run.transcript.contains("rst cause:2, boot mode:(3,6)"))
        XCTAssertTrue(run.transcript.contains("reason: Software Watchdog\r\n"))
    }

    func testUncaughtErrorPrintsAnExceptionDumpAndReboots() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() Serial.println("reason: " .. ESP.getResetReason()) end
                function loop() delay(100); local t = nil; print(t.field) end
                """, for: seconds(1), noReboot: false)
        defer { run.finish() }
        XCTAssertTrue(run.transcript.contains("Exception (28):"))  // LoadProhibited, like a null pointer
        XCTAssertTrue(run.transcript.contains("reason: Exception\r\n"))
        XCTAssertTrue(run.log.first?.contains("sketch.lua:2: attempt to index a nil value") ?? false, "\(run.log)")
    }

    func testUncaughtErrorUnderNoRebootEndsTheRun() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() end
                function loop() error("boom") end
                """, for: seconds(5))
        defer { run.finish() }
        guard case .crashed(.panic(let file, let line, _)) = run.outcome else { return XCTFail("\(run.outcome)") }
        XCTAssertTrue(file.hasSuffix("sketch.lua"))
        XCTAssertEqual(line, 2)
        XCTAssertTrue(run.transcript.contains("Panic "))
    }

    func testAllocatingWithoutBoundTakesTheOOMPath() throws {
        let run = try SketchHarness.run(
            source: """
                local hoard = {}
                function setup() end
                function loop() hoard[#hoard + 1] = string.rep("x", 1000) .. #hoard end
                """, for: seconds(60)
        ) { $0.luaMemoryLimit = 4 << 20 }
        defer { run.finish() }
        guard case .crashed(.outOfMemory) = run.outcome else { return XCTFail("\(run.outcome)") }
        XCTAssertTrue(run.transcript.contains("User exception (panic/abort/assert)"))
        XCTAssertTrue(run.transcript.contains("Unhandled C++ exception: OOM"))
    }

    func testPcallCannotSwallowTheWatchdog() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() end
                function loop() while true do pcall(function() while true do end end) end end
                """, for: seconds(10))
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .crashed(.softWatchdog))
    }

    func testLongDelayMicrosecondsStarvesTheWatchdog() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() end
                function loop() delayMicroseconds(4000000) end
                """, for: seconds(10))
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .crashed(.softWatchdog))
    }

    func testDelayFeedsTheWatchdog() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() end
                function loop() local t = millis() while millis() - t < 2000 do delay(1) end end
                """, for: seconds(15))
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished)
    }

    func testSyntaxErrorIsALoadFailureWithFileAndLine() throws {
        let run = try SketchHarness.run(source: "function setup()\n  x = = 1\nend\nfunction loop() end", for: seconds(1))
        defer { run.finish() }
        guard case .loadFailed(let m) = run.outcome else { return XCTFail("\(run.outcome)") }
        XCTAssertTrue(m.contains("sketch.lua:2:"), m)
    }

    func testMissingLoopIsALoadFailure() throws {
        let run = try SketchHarness.run(source: "function setup() end", for: seconds(1))
        defer { run.finish() }
        guard case .loadFailed(let m) = run.outcome else { return XCTFail("\(run.outcome)") }
        XCTAssertTrue(m.contains("loop()"), m)
    }

    func testBadArgumentsReadLikeLuasOwnErrors() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() pinMode("two", OUTPUT) end
                function loop() end
                """, for: seconds(1))
        defer { run.finish() }
        XCTAssertTrue(run.log.first?.contains("sketch.lua:1: bad argument #1 to 'pinMode' (number expected, got string)") ?? false, "\(run.log)")
    }

    func testFlashPinsAreAnError() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() pinMode(7, OUTPUT) end
                function loop() end
                """, for: seconds(1))
        defer { run.finish() }
        XCTAssertTrue(run.log.first?.contains("GPIO7 is wired to the flash chip") ?? false, "\(run.log)")
    }

    func testGPIOFromLua() throws {
        let run = try SketchHarness.run(
            source: """
                function setup()
                  pinMode(D1, INPUT_PULLUP); print(digitalRead(D1))
                  pinMode(D2, OUTPUT); digitalWrite(D2, HIGH); print(digitalRead(D2))
                  print(analogRead(A0))
                  Serial.println(3.14159); Serial.println(255, HEX); Serial.println(5, BIN)
                end
                function loop() delay(1000) end
                """, for: seconds(1)
        ) { _ in }
        defer { run.finish() }
        XCTAssertEqual(run.transcript, "1\n1\n0\n3.14\r\nFF\r\n101\r\n")
    }

    func testTheHostIsNotReachable() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() print(io, os, dofile, loadfile, package.loadlib) end
                function loop() delay(1000) end
                """, for: seconds(1))
        defer { run.finish() }
        XCTAssertEqual(run.transcript, "nil\tnil\tnil\tnil\tnil\n")
    }

    func testRequireLoadsFilesBesideTheSketch() throws {
        let run = try SketchHarness.run(
            source: """
                local util = require("util")
                function setup() print(util.greet()) end
                function loop() delay(1000) end
                """, for: seconds(1), files: ["util.lua": "return { greet = function() return 'hi from util' end }"])
        defer { run.finish() }
        XCTAssertEqual(run.transcript, "hi from util\n")
    }

    func testRestartRebootsWithSoftwareRestartReason() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() print(ESP.getResetReason()) end
                local n = 0
                function loop() delay(100); n = n + 1; if n == 3 then ESP.restart() end end
                """, for: seconds(0.5), noReboot: false)
        defer { run.finish() }
        XCTAssertTrue(run.transcript.hasPrefix("Power On\n"))
        XCTAssertTrue(run.transcript.contains("Software/System restart\n"))
    }

    /// The inbox's `reset` (the page's button) is the RST pin: the board boots again,
    /// reason "External System" (REASON_EXT_SYS_RST), wherever the sketch was.
    func testResetCommandRebootsWithExternalSystemReason() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() print(ESP.getResetReason()) end
                function loop() delay(100) end
                """, for: seconds(0.5), noReboot: false,
            prepare: { device in
                _ = device.board.timers.schedule(at: seconds(0.2)) { device.board.loop.inbox.post(.reset) }
            })
        defer { run.finish() }
        XCTAssertTrue(run.transcript.hasPrefix("Power On\n"), run.transcript)
        XCTAssertTrue(run.transcript.hasSuffix("External System\n"), run.transcript)
    }
}
