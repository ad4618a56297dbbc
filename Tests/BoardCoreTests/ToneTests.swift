import XCTest

@testable import BoardCore

/// tone()'s square wave as Tone.cpp computes it from CPU cycles at 80 MHz.
final class ToneTests: XCTestCase {
    func edges(_ setup: (Tone) throws -> Void, for us: UInt64) throws -> [(Bool, UInt64)] {
        let clock = BoardClock(mode: .virtual)
        let pins = Pins(), timers = Timers()
        let tone = Tone(pins: pins, timers: timers, clock: clock)
        var edges: [(Bool, UInt64)] = []
        _ = pins.listen(pin: 14) { _, high in edges.append((high, timers.firingDue ?? clock.micros)) }
        try setup(tone)
        while let due = timers.nextDue, due <= us {
            clock.advance(to: due)
            timers.fireHardwareDue(now: due)
        }
        return edges
    }

    func testHalfAPeriodHighHalfLowInBoardTime() throws {
        // 1 kHz: period 80 000 cycles (l.54), high 40 000 = 500 µs, low the rest (l.55-56)
        let e = try edges({ try $0.start(pin: 14, frequency: 1000, durationMillis: 0) }, for: 10_000)
        XCTAssertEqual(e.first?.0, true)
        XCTAssertEqual(e.count, 21, "HIGH at 0, then an edge every 500 µs up to 10 ms")
        for (i, (level, at)) in e.enumerated() {
            XCTAssertEqual(level, i % 2 == 0)
            XCTAssertEqual(at, UInt64(i) * 500)
        }
    }

    func testOddPeriodsKeepCycleTimeAndTheCeilingIs20kHz() throws {
        // 440 Hz: 181 818 cycles; high 90 909, low 90 909 → rises 181 818 cycles apart:
        // 2272.7 µs, so the edge times in µs alternate without drifting
        let e = try edges({ try $0.start(pin: 14, frequency: 440, durationMillis: 0) }, for: 1_000_000)
        let rises = e.filter(\.0).map(\.1)
        XCTAssertEqual(rises.count, 441)
        XCTAssertEqual(rises[440], 440 * 181_818 / 80, "no drift after 440 periods")
        // 30 kHz asks for 1333 cycles each half: raised to 25 µs (l.40-41)
        let fast = try edges({ try $0.start(pin: 14, frequency: 30_000, durationMillis: 0) }, for: 1000)
        XCTAssertEqual(fast.count, 41, "an edge every 25 µs")
    }

    func testAFractionalFrequencyRoundsItsHalvesAsTheDoubleOverload() throws {
        // tone(pin, 440.5): period 181 611.8 cycles, high (uint32_t)(90 805.9 + 0.5) = 90 806,
        // low (uint32_t)(181 612.3) - 90 806 = 90 806 (Tone.cpp l.68-70): rises 181 612 cycles apart
        let e = try edges({ try $0.start(pin: 14, frequency: 440.5, durationMillis: 0) }, for: 100_000)
        let rises = e.filter(\.0).map(\.1)
        XCTAssertEqual(rises.last, (rises.count > 0 ? UInt64(rises.count - 1) : 0) * 181_612 / 80)
        XCTAssertEqual(rises.count, 45)
    }

    func testADurationEndsOnAWholePeriodLow() throws {
        // 1 kHz for 3 ms: 3 periods (l.43-45), then the pin stays LOW
        var tone: Tone?
        let e = try edges(
            {
                tone = $0; try $0.start(pin: 14, frequency: 1000, durationMillis: 3)
            }, for: 100_000)
        XCTAssertEqual(e.map(\.0), [true, false, true, false, true, false])
        XCTAssertEqual(e.last?.1, 2500)
        XCTAssertNil(tone?.frequency(pin: 14), "the wave is over")
    }
}

/// pulseIn and shiftOut on a board in virtual time, without Lua
/// (core_esp8266_wiring_pulse.cpp, core_esp8266_wiring_shift.cpp, 3.1.2).
final class PinTimingTests: XCTestCase {
    func testPulseInWaitsForTheLevelThenMeasuresInBoardTime() throws {
        var config = BoardConfig()
        config.timeMode = .virtual
        let board = Board(config: config) { _ in }
        board.boot(reason: .powerOn)
        // HIGH already when pulseIn starts: the first wait is for LOW (l.46), so this pulse is skipped
        try board.pins.drive(4, true)
        board.timers.schedule(at: 1_000, hardware: true) { try? board.pins.drive(4, false) }
        board.timers.schedule(at: 5_000, hardware: true) { try? board.pins.drive(4, true) }
        board.timers.schedule(at: 5_321, hardware: true) { try? board.pins.drive(4, false) }
        XCTAssertEqual(try board.pulseIn(4, level: true, timeout: 1_000_000), 321)
        XCTAssertEqual(board.clock.micros, 5_321)
        XCTAssertEqual(try board.pulseIn(4, level: true, timeout: 10_000), 0, "no pulse: the timeout")
        XCTAssertEqual(board.clock.micros, 5_321 + 10_001, "the wait ran past the timeout (l.31: > timeout)")
        XCTAssertThrowsError(try board.pulseIn(7, level: true, timeout: 10))
    }

    func testShiftOutSetsDataBeforeEachRisingClock() throws {
        let board = Board { _ in }
        for p in [12, 14] { try board.pins.setMode(p, Pins.Mode.output.rawValue) }
        var sampled: [Bool] = []
        _ = board.pins.listen(pin: 14) { _, high in if high { sampled.append(board.pins.currentLevel(12)) } }
        try board.shiftOut(data: 12, clock: 14, msbFirst: false, value: 0b0000_0110)
        XCTAssertEqual(sampled, [false, true, true, false, false, false, false, false])
        XCTAssertFalse(board.pins.currentLevel(14), "the clock ends LOW")
    }
}
