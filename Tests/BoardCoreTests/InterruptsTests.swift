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
