import BoardCore
import BoardTesting
import XCTest

@testable import ArduinoLua

/// attachInterrupt and friends through a sketch: handlers run between two Lua
/// instructions, as the core's GPIO ISR interrupts code
/// (core_esp8266_wiring_digital.cpp l.134-176, 3.1.2).
final class InterruptTests: XCTestCase {
    /// The world presses a button on `pin` (pulls it LOW) at each of `at` for `hold` µs:
    /// hardware timers, as a part's are.
    static func presses(_ d: Device, pin: Int, at: [UInt64], hold: UInt64 = 10_000) {
        for t in at {
            d.board.timers.schedule(at: t, hardware: true) { try? d.board.pins.drive(pin, false) }
            d.board.timers.schedule(at: t + hold, hardware: true) { try? d.board.pins.drive(pin, nil) }
        }
    }

    func testAnInterruptCountsPressesWhileLoopComputesWithoutYielding() throws {
        let pressTimes: [UInt64] = [100_000, 150_000, 200_000, 250_000, 300_000]
        let r = try SketchHarness.run(
            source: """
                local presses, at = 0, {}
                function setup()
                  pinMode(D3, INPUT_PULLUP)
                  attachInterrupt(digitalPinToInterrupt(D3), function()
                    presses = presses + 1
                    at[#at + 1] = micros()
                  end, FALLING)
                end
                function loop()
                  local x, t0 = 0, micros()
                  for i = 1, 3000000 do x = x + i % 7 end   -- no yield, no call
                  print("busy", micros() - t0 > 350000, presses, table.concat(at, " "))
                  delay(1000)
                end
                """, for: seconds(1.5), prepare: { d in Self.presses(d, pin: 0, at: pressTimes) })
        defer { r.finish() }
        let line = r.transcript.split(separator: "\n").first.map(String.init) ?? ""
        let fields = line.split(separator: "\t").map(String.init)
        XCTAssertEqual(Array(fields.prefix(3)), ["busy", "true", "5"], r.transcript + r.log.joined())
        let seen = fields.count > 3 ? fields[3].split(separator: " ").compactMap { UInt64($0) } : []
        XCTAssertEqual(seen.count, 5)
        // each handler ran within one hook interval (1000 instructions, 50 µs) of its
        // press, not at the end of the pass (≥ 350 ms later)
        for (press, handled) in zip(pressTimes, seen) {
            XCTAssertGreaterThanOrEqual(handled + 1000, press, "boot takes board time before micros() starts")
            XCTAssertLessThan(handled, press + 100, "press at \(press) µs handled at \(handled) µs (since boot)")
        }
    }

    func testTheSketchsOwnWriteOnAnInterruptPinRunsTheHandlerBeforeTheNextStatement() throws {
        let r = try SketchHarness.run(
            source: """
                local hits = 0
                function setup()
                  pinMode(D5, OUTPUT)
                  attachInterrupt(D5, function() hits = hits + 1 end, RISING)
                  digitalWrite(D5, HIGH); local a = hits
                  digitalWrite(D5, LOW); local b = hits
                  digitalWrite(D5, HIGH); local c = hits
                  print(a, b, c)
                  -- interrupts off: the rise and fall latch one status bit; when they are
                  -- back on the ISR reads the pin LOW and a RISING handler is not called
                  noInterrupts(); digitalWrite(D5, LOW); digitalWrite(D5, HIGH); digitalWrite(D5, LOW)
                  local d = hits; interrupts(); local e = hits
                  print(d, e)
                  detachInterrupt(D5); digitalWrite(D5, HIGH); print(hits)
                  attachInterrupt(D5, function() hits = hits + 10 end, CHANGE)
                  noInterrupts(); digitalWrite(D5, LOW); digitalWrite(D5, HIGH); interrupts(); print(hits)
                end
                function loop() delay(1000) end
                """, for: seconds(0.1))
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "1\t1\t2\n2\t2\n2\n12\n", r.log.joined())
    }

    func testGPIO16HasNoInterruptAndAModeIsChecked() throws {
        let r = try SketchHarness.run(
            source: """
                local hits = 0
                function setup()
                  print(digitalPinToInterrupt(D0), digitalPinToInterrupt(D1), NOT_AN_INTERRUPT)
                  pinMode(D0, OUTPUT)
                  attachInterrupt(D0, function() hits = hits + 1 end, CHANGE)   -- ignored, as the core does
                  digitalWrite(D0, HIGH); print(hits)
                  print(pcall(attachInterrupt, D1, function() end, 7))
                  print(pcall(attachInterrupt, D1, "f", RISING))
                end
                function loop() delay(1000) end
                """, for: seconds(0.1))
        defer { r.finish() }
        let lines = r.transcript.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(2)), ["-1\t5\t-1", "0"], r.transcript)
        XCTAssertTrue(lines.count > 3 && lines[2].contains("bad argument #3 to 'attachInterrupt'"), r.transcript)
        XCTAssertTrue(lines.count > 3 && lines[3].contains("bad argument #2 to 'attachInterrupt' (function expected"), r.transcript)
    }

    func testAnInterruptDuringDelayRunsAtItsEdge() throws {
        let r = try SketchHarness.run(
            source: """
                local at
                function setup()
                  pinMode(D6, INPUT_PULLUP)
                  attachInterrupt(D6, function() at = millis() end, FALLING)
                  delay(5000)
                  print(at)
                end
                function loop() delay(1000) end
                """, for: seconds(6), prepare: { d in Self.presses(d, pin: 12, at: [1_500_000]) })
        defer { r.finish() }
        let at = Int(r.transcript.split(separator: "\n").first ?? "") ?? -1
        XCTAssertTrue((1400...1500).contains(at), "handled at \(at) ms (since boot), pressed at 1500 ms board time: " + r.transcript)
    }

    func testYieldInAHandlerPanicsAsTheCoreDoes() throws {
        // core_esp8266_main.cpp l.185-193 (3.1.2): __yield() outside CONT calls panic()
        let r = try SketchHarness.run(
            source: """
                function setup()
                  pinMode(D5, OUTPUT)
                  attachInterrupt(D5, function() yield() end, RISING)
                  digitalWrite(D5, HIGH)
                  print("not reached")
                end
                function loop() delay(1000) end
                """, for: seconds(1))
        defer { r.finish() }
        XCTAssertTrue(r.transcript.contains("Panic core_esp8266_main.cpp:191 __yield"), r.transcript)
        XCTAssertFalse(r.transcript.contains("not reached"), r.transcript)
    }

    func testDelayInAHandlerSpinsWithoutTheBackground() throws {
        // in SYS esp_suspend() does nothing (core_esp8266_main.cpp l.127-131): esp_delay's
        // loop (coredecls.h l.67-71) spins until the time passed; a Ticker cannot run meanwhile
        let r = try SketchHarness.run(
            source: """
                local ticks = 0
                function setup()
                  local t = Ticker(); t:attach_ms(1, function() ticks = ticks + 1 end)
                  pinMode(D5, OUTPUT)
                  attachInterrupt(D5, function() delay(20) end, RISING)
                  local t0 = millis(); local before = ticks
                  digitalWrite(D5, HIGH)
                  print(millis() - t0 >= 20, ticks - before)
                end
                function loop() delay(1000) end
                """, for: seconds(0.5))
        defer { r.finish() }
        XCTAssertEqual(r.transcript.split(separator: "\n").first, "true\t0", r.transcript + r.log.joined())
    }

    func testALongDelayInAHandlerStarvesTheWatchdog() throws {
        // delay() in SYS does not suspend, so nothing feeds the dog: 4 s in a handler bite,
        // though loop() itself yields every 10 ms
        let r = try SketchHarness.run(
            source: """
                function setup()
                  pinMode(D5, OUTPUT)
                  attachInterrupt(D5, function() delay(4000) end, RISING)
                end
                function loop() digitalWrite(D5, HIGH); digitalWrite(D5, LOW); delay(10) end
                """, for: seconds(10))
        defer { r.finish() }
        guard case .crashed(let c) = r.outcome else { return XCTFail("\(r.outcome)") }
        // which dog bites inside an ISR the core does not document (the soft one is the
        // SDK's and may need interrupts); esplua's model bites with the soft one at 3.2 s
        XCTAssertTrue([Crash.softWatchdog, .hardwareWatchdog].contains(c), "\(c)")
        XCTAssertLessThan(r.device.board.clock.micros, seconds(8.5), "bitten during the handler's delay")
    }

    func testAHandlerThatNeverReturnsIsBittenByTheWatchdog() throws {
        // the handler's own coroutine carries the instruction hook: board time passes
        // in it and the watchdog bites, where a handler run inside the hook could not be stopped
        let r = try SketchHarness.run(
            source: """
                function setup()
                  pinMode(D5, OUTPUT)
                  attachInterrupt(D5, function() while true do end end, RISING)
                  digitalWrite(D5, HIGH)
                end
                function loop() delay(1000) end
                """, for: seconds(20))
        defer { r.finish() }
        guard case .crashed(let c) = r.outcome else { return XCTFail("\(r.outcome)") }
        XCTAssertTrue([Crash.softWatchdog, .hardwareWatchdog].contains(c), "\(c)")
        XCTAssertTrue(r.transcript.contains("WDT reset"), r.transcript)
    }

    func testAnErrorInAHandlerCrashesTheBoard() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  pinMode(D5, OUTPUT)
                  attachInterrupt(D5, function() error("boom in isr") end, RISING)
                  digitalWrite(D5, HIGH)
                  print("not reached")
                end
                function loop() delay(1000) end
                """, for: seconds(1))
        defer { r.finish() }
        guard case .crashed = r.outcome else { return XCTFail("\(r.outcome)") }
        XCTAssertFalse(r.transcript.contains("not reached"), r.transcript)
        XCTAssertTrue((r.transcript + r.log.joined()).contains("boom in isr"), r.transcript + r.log.joined())
    }
}
