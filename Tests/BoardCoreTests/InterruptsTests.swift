import XCTest

@testable import BoardCore

/// The GPIO interrupt latch and dispatch rule of core_esp8266_wiring_digital.cpp
/// (3.1.2), without Lua: which edges latch, which handlers the ISR calls.
final class InterruptsTests: XCTestCase {
    let pins = Pins()
    lazy var irq = Interrupts(pins: pins)

    func testARisingHandlerRunsOnlyIfThePinIsStillHighWhenTheISRReadsIt() throws {
        // l.149-151: handler->mode == CHANGE || (handler->mode & 1) == !!(levels & (1 << i))
        try pins.setMode(5, Pins.Mode.output.rawValue)
        irq.attach(pin: 5, mode: .rising)
        try pins.write(5, true)
        XCTAssertEqual(irq.pending, 1 << 5)
        XCTAssertEqual(irq.enter(), [5])
        irq.finish()
        try pins.write(5, false)
        XCTAssertEqual(irq.pending, 0, "a falling edge does not latch a RISING interrupt")
        try pins.write(5, true)
        try pins.write(5, false)
        XCTAssertEqual(irq.pending, 1 << 5, "the rise latched")
        XCTAssertEqual(irq.enter(), [], "but the pin is LOW when the ISR reads GPI: no call")
        irq.finish()
    }

    func testEdgesWhileDisabledOrInAHandlerCoalesceIntoOneCall() throws {
        var asked = 0
        irq.onPending = { asked += 1 }
        try pins.setMode(4, Pins.Mode.output.rawValue)
        irq.attach(pin: 4, mode: .change)
        irq.setEnabled(false)  // noInterrupts(): xt_rsil(15)
        for _ in 0..<3 { try pins.write(4, true); try pins.write(4, false) }
        XCTAssertEqual(asked, 0, "nothing runs while interrupts are off")
        XCTAssertFalse(irq.canRun)
        irq.setEnabled(true)
        XCTAssertEqual(asked, 1)
        XCTAssertEqual(irq.enter(), [4], "one status bit: one call")
        try pins.write(4, true)
        XCTAssertEqual(asked, 1, "inside the handler (InterruptLock) an edge only latches")
        irq.finish()
        XCTAssertTrue(irq.canRun)
    }

    func testAscendingPinOrderAndGPIO16HasNone() throws {
        for p in [14, 0, 5] {
            try pins.setMode(p, Pins.Mode.output.rawValue)
            irq.attach(pin: p, mode: .rising)
        }
        irq.attach(pin: 16, mode: .rising)  // ignored: if(pin < 16), l.204
        XCTAssertNil(irq.mode(of: 16))
        try pins.setMode(16, Pins.Mode.output.rawValue)
        try pins.write(16, true)
        XCTAssertEqual(irq.pending, 0)
        for p in [14, 5, 0] { try pins.write(p, true) }
        XCTAssertEqual(irq.enter(), [0, 5, 14], "the ISR walks the status bits from GPIO0 up (l.145-147)")
        irq.finish()
    }

    func testALevelInterruptLatchesAgainWhileItsLevelHolds() throws {
        try pins.setMode(12, Pins.Mode.inputPullup.rawValue)
        irq.attach(pin: 12, mode: .onLow)
        XCTAssertEqual(irq.pending, 0, "the pin idles HIGH")
        try pins.drive(12, false)  // a button pulls it LOW
        XCTAssertEqual(irq.enter(), [12])
        irq.finish()
        XCTAssertEqual(irq.pending, 1 << 12, "still LOW: the hardware latches it again at once")
        _ = irq.enter()
        try pins.drive(12, nil)
        irq.finish()
        XCTAssertEqual(irq.pending, 0, "released")
        // ONLOW_WE is ONLOW with the wake-up bit (0x0C & 7 = 4)
        irq.attach(pin: 12, mode: .onLowWakeup)
        try pins.drive(12, false)
        XCTAssertEqual(irq.enter(), [12])
        irq.finish()
    }

    func testDetachAndResetForgetTheLatch() throws {
        try pins.setMode(2, Pins.Mode.output.rawValue)
        irq.attach(pin: 2, mode: .change)
        try pins.write(2, true)
        irq.detach(pin: 2)
        XCTAssertEqual(irq.pending, 0)
        try pins.write(2, false)
        XCTAssertEqual(irq.pending, 0)
        irq.attach(pin: 2, mode: .change)
        irq.setEnabled(false)
        irq.reset()
        XCTAssertTrue(irq.enabled)
        XCTAssertNil(irq.mode(of: 2))
    }
}

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
