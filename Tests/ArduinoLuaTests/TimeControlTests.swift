import BoardCore
import BoardTesting
import Foundation
import XCTest

@testable import ArduinoLua

/// Virtual time's pause, step and speed (`TimeControl`), commanded through the
/// board's inbox from another thread, as the web page does. Host time is only
/// bounded loosely (a loaded machine is slow, never fast).
final class TimeControlTests: XCTestCase {
    /// Records board time and passes each time the hold services it.
    final class Held: EventSource, @unchecked Sendable {
        var samples: [(t: UInt64, passes: Int)] = []
        weak var loop: BoardLoop?
        func service(now: UInt64) { samples.append((now, loop?.passes ?? -1)) }
        func nextDeadline(now: UInt64) -> UInt64? { nil }
    }

    /// Paused, board time stands still while host time passes (the hold reports every
    /// 100 ms); a step of 250 ms lands on exactly 250 ms later (the sketch sleeps in
    /// `delay(100)`: the wait is cut at the step's end); a step of one pass runs one
    /// `loop()` pass to its end.
    func testPauseHoldsBoardTimeAndStepsAdvanceByExactlyWhatTheyAsk() throws {
        let held = Held()
        let run = try SketchHarness.run(
            source: "function setup() end\nfunction loop() delay(100) end", for: seconds(60),
            prepare: { device in
                let loop = device.board.loop, inbox = loop.inbox
                held.loop = loop
                loop.addHeldWatcher(held)
                inbox.post(.pause)
                Thread {
                    usleep(350_000)
                    inbox.post(.step(.micros(250_000)))
                    usleep(350_000)
                    inbox.post(.step(.passes(1)))
                    usleep(350_000)
                    inbox.post(.stop)
                }.start()
            })
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished)
        var stops: [(t: UInt64, passes: Int, samples: Int)] = []
        for s in held.samples {
            if let last = stops.last, last.t == s.t, last.passes == s.passes {
                stops[stops.count - 1].samples += 1
            } else {
                stops.append((s.t, s.passes, 1))
            }
        }
        XCTAssertEqual(stops.count, 3, "\(stops)")
        guard stops.count == 3 else { return }
        XCTAssertGreaterThanOrEqual(stops[0].samples, 3, "held over 350 ms of host time at one board time")
        XCTAssertEqual(stops[1].t - stops[0].t, 250_000, "the step's board time, exactly")
        XCTAssertEqual(stops[2].passes, stops[1].passes + 1, "one loop() pass")
        XCTAssertGreaterThan(stops[2].t, stops[1].t)
        XCTAssertLessThanOrEqual(stops[2].t - stops[1].t, 100_010, "to the end of the pass's delay(100) and its 10 µs")
        XCTAssertEqual(run.device.board.clock.micros, stops[2].t, "stopped while paused: no board time after")
    }

    /// At 10× board time runs at most ten times the host's: 3 s of board time take
    /// at least 0.3 s of host time (less the boot before the command is read), and
    /// (a generous bound for a loaded machine) not more than 3 s.
    func testTenTimesSpeedHoldsBoardTimeToTenTimesHostTime() throws {
        let start = Date()
        let run = try SketchHarness.run(
            source: "function setup() end\nfunction loop() delay(100) end", for: seconds(3),
            prepare: { device in device.board.loop.inbox.post(.setSpeed(10)) })
        let host = Date().timeIntervalSince(start)
        defer { run.finish() }
        XCTAssertEqual(run.device.board.clock.micros, 3_000_000)
        XCTAssertGreaterThanOrEqual(host, 0.28, "not faster than 10×")
        XCTAssertLessThan(host, 3.0, "about 10× (within a loaded machine's bound)")
        XCTAssertEqual(run.device.board.loop.time.speed, 10)
    }

    /// In real time board time is the host's clock: a pause is ignored and the run ends on time.
    func testRealTimeIgnoresPause() throws {
        let run = try SketchHarness.run(
            source: "function setup() end\nfunction loop() delay(10) end", for: 200_000,
            configure: { $0.board.timeMode = .real },
            prepare: { device in device.board.loop.inbox.post(.pause) })
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished)
        XCTAssertFalse(run.device.board.loop.time.paused)
        XCTAssertGreaterThanOrEqual(run.device.board.clock.micros, 200_000)
    }
}
