import ArduinoLua
import BoardTesting
import XCTest

/// Ticker against the core's (libraries/Ticker/src/Ticker.cpp, Ticker.h at core 3.1.2+):
/// an os_timer whose callback runs in the SDK's task, that is when the sketch yields.
final class TickerTests: XCTestCase {
    func run(_ source: String, for duration: Double) throws -> String {
        let r = try SketchHarness.run(source: source, for: seconds(duration))
        defer { r.finish() }
        if case .crashed(let c) = r.outcome { XCTFail("crashed: \(c)") }
        return r.transcript
    }

    // attach_ms arms os_timer_arm(ms, repeat=true) (Ticker.cpp:49-77): the first call one
    // period after attach, then every period, in virtual time to the millisecond
    func testAttachMsTicksEveryPeriodFromTheAttach() throws {
        let out = try run(
            """
            local t, start = Ticker(), 0
            function setup()
              start = millis()
              t:attach_ms(250, function(name) print(name, millis() - start) end, "tick")
            end
            function loop() delay(10) end
            """, for: 1.1)
        XCTAssertEqual(out, "tick\t250\ntick\t500\ntick\t750\ntick\t1000\n")
    }

    // attach(seconds) takes a float: 0.1 s = 100 ms (Ticker.h:72-76, duration_cast)
    func testAttachTakesFractionalSeconds() throws {
        let out = try run(
            """
            local t, n = Ticker(), 0
            function setup() t:attach(0.1, function() n = n + 1 end) end
            function loop() delay(1000); print(n, t:active()); t:detach(); print(t:active()) end
            """, for: 1.5)
        XCTAssertEqual(out, "10\ttrue\nfalse\n")
    }

    // The callback runs in the SDK's task, not as an interrupt: a sketch that keeps the
    // CPU (a busy wait) holds every due callback until it yields, then they run in turn
    func testCallbacksWaitUntilTheSketchYields() throws {
        let out = try run(
            """
            local t, ticks = Ticker(), {}
            function setup()
              t:attach_ms(100, function() ticks[#ticks + 1] = millis() end)
              local start = millis()
              delayMicroseconds(350000)         -- busy: no yield
              print("busy", #ticks)
              delay(0)                          -- yield: the three due calls run now
              print("after yield", #ticks, ticks[1] == ticks[3], ticks[1] - start >= 350)
            end
            function loop() delay(1000) end
            """, for: 0.6)
        XCTAssertEqual(out, "busy\t0\nafter yield\t3\ttrue\ttrue\n")
    }

    // once: one call, active() true during it and false after (Ticker.cpp:116-128 detaches
    // after the callback); a callback that attaches again keeps the ticker (Ticker.cpp:113)
    func testOnceRunsOnceAndMayReattachItself() throws {
        let out = try run(
            """
            local o, r, n = Ticker(), Ticker(), 0
            function setup()
              o:once_ms(100, function() print("once", o:active()) end)
              local function again()
                n = n + 1
                if n < 3 then r:once(0.2, again) end
              end
              r:once(0.2, again)
            end
            function loop() delay(1000); print(o:active(), r:active(), n) end
            """, for: 1.1)
        XCTAssertEqual(out, "once\ttrue\nfalse\tfalse\t3\n")
    }

    // detach() inside its own callback stops a repeating ticker (Ticker.cpp:110-113)
    func testDetachInsideTheCallbackStopsIt() throws {
        let out = try run(
            """
            local t, n = Ticker(), 0
            function setup() t:attach_ms(50, function() n = n + 1; if n == 2 then t:detach() end end) end
            function loop() delay(500); print(n, t:active()) end
            """, for: 0.6)
        XCTAssertEqual(out, "2\tfalse\n")
    }

    func testBadArgumentsAreLuaErrors() throws {
        let out = try run(
            """
            function setup()
              print(select(2, pcall(function() Ticker():attach_ms(10) end)))
              print(select(2, pcall(function() Ticker():attach(-1, print) end)))
            end
            function loop() delay(100) end
            """, for: 0.1)
        XCTAssertTrue(out.contains("bad argument #2 to 'attach_ms' (function expected"), out)
        XCTAssertTrue(out.contains("bad argument #1 to 'attach' (period out of range)"), out)
    }

    // The SDK feeds the soft watchdog while the sketch is suspended in delay(), so a
    // callback late in a long delay() is not bitten (the dog bites after 3.2 s without
    // a yield, not 3.2 s into a delay)
    func testCallbacksLateInALongDelayAreNotBittenByTheWatchdog() throws {
        let out = try run(
            """
            local t, n = Ticker(), 0
            function setup() t:attach(1, function() n = n + 1 end) end
            function loop() delay(10000); print(n) end
            """, for: 10.5)
        XCTAssertEqual(out, "10\n")
    }

    // A reboot forgets the SDK's timers: a ticker of the old boot never calls into the new one
    func testARebootForgetsTheTickers() throws {
        let r = try SketchHarness.run(
            source: """
                local t = Ticker()
                function setup()
                  print(ESP.getResetReason())
                  if ESP.getResetReason() == "Power On" then
                    t:attach_ms(100, function() print("old boot") end)
                    delay(150)
                    ESP.restart()
                  end
                end
                function loop() delay(1000) end
                """, for: seconds(1.5), noReboot: false)
        defer { r.finish() }
        XCTAssertEqual(r.transcript.components(separatedBy: "old boot").count - 1, 1, r.transcript)
        XCTAssertTrue(r.transcript.contains("Software/System restart"), r.transcript)
        XCTAssertEqual(r.log.filter { $0.contains("error") }, [])
    }
}
