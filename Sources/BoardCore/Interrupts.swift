/// The GPIO interrupts of GPIO 0–15, as the core's core_esp8266_wiring_digital.cpp
/// (3.1.2) sets them up and dispatches them.
///
/// The hardware latches a status bit per pin when its edge (or level) comes
/// (`GPC(pin)`'s interrupt type, `mode & 0xF`, l.210); the core's one GPIO ISR
/// (`interrupt_handler`, l.134) takes every latched bit at once, reads the levels
/// *then*, and calls a pin's handler if its mode is CHANGE or if `mode & 1`
/// equals the pin's level now (l.149-151): a RISING handler whose pin went back
/// LOW before the ISR ran is not called. Handlers run with interrupts off
/// (`InterruptLock`, l.154); edges meanwhile latch and run after.
///
/// This type is the latch and the rule; who runs the handlers (between two Lua
/// instructions) is the Lua side's. Single-threaded, as the board.
public final class Interrupts {
    /// Arduino.h l.77-83.
    public enum Mode: Int, Sendable, CaseIterable {
        case rising = 0x01, falling = 0x02, change = 0x03, onLow = 0x04, onHigh = 0x05
        case onLowWakeup = 0x0C, onHighWakeup = 0x0D

        /// The interrupt type the hardware field keeps (3 bits; 0x08 is the wake-up enable).
        var type: Int { rawValue & 0x7 }
        var isLevel: Bool { type == 4 || type == 5 }
    }

    /// `EXTERNAL_NUM_INTERRUPTS`: GPIO16 sits in the RTC block and has none
    /// (`if(pin < 16)`, l.204; variants/generic/common.h l.39).
    public static let count = 16

    private unowned let pins: Pins
    private var modes = [Mode?](repeating: nil, count: Interrupts.count)
    private var listeners = [Int?](repeating: nil, count: Interrupts.count)
    /// `GPIE`: latched status bits of attached pins.
    public private(set) var pending: UInt32 = 0
    /// `interrupts()`/`noInterrupts()` (`xt_rsil(0)`/`xt_rsil(15)`, Arduino.h l.135-136).
    public private(set) var enabled = true
    /// A handler runs now (the core's ISR holds an `InterruptLock`).
    public private(set) var inHandler = false
    /// Called when a latched interrupt may run now (enabled, not inside a handler):
    /// whoever runs the sketch must let it in before the next instruction.
    public var onPending: (() -> Void)?

    public init(pins: Pins) { self.pins = pins }

    /// The mode attached to `pin`, if any.
    public func mode(of pin: Int) -> Mode? { (0..<Interrupts.count).contains(pin) ? modes[pin] : nil }

    /// `attachInterrupt(pin, fn, mode)`: a pin of 16 or more is ignored, as in the core.
    /// Attaching clears a latched status (`GPIEC = (1 << pin)`, l.209).
    public func attach(pin: Int, mode: Mode) {
        guard (0..<Interrupts.count).contains(pin) else { return }
        modes[pin] = mode
        pending &= ~(1 << UInt32(pin))
        if listeners[pin] == nil {
            listeners[pin] = pins.listen(pin: pin) { [unowned self] p, level in self.edge(p, level) }
        }
        if mode.isLevel && levelMatches(pin, mode) { latch(pin) }
    }

    /// `detachInterrupt(pin)` (l.221): the pin's status cleared, its handler off.
    public func detach(pin: Int) {
        guard (0..<Interrupts.count).contains(pin) else { return }
        modes[pin] = nil
        pending &= ~(1 << UInt32(pin))
        if let l = listeners[pin] { pins.unlisten(l) }
        listeners[pin] = nil
    }

    public func setEnabled(_ on: Bool) {
        enabled = on
        if on && pending != 0 && !inHandler { onPending?() }
    }

    /// Power-on: nothing attached, interrupts on.
    public func reset() {
        for pin in 0..<Interrupts.count { detach(pin: pin) }
        enabled = true
        inHandler = false
    }

    /// Whether a latched interrupt could run now.
    public var canRun: Bool { pending != 0 && enabled && !inHandler }

    /// The ISR's entry (l.138-151): takes every latched bit, reads the levels, and
    /// returns the pins whose handlers run, in ascending order. Call `finish()` after them.
    public func enter() -> [Int] {
        let status = pending
        pending = 0
        inHandler = true
        var run: [Int] = []
        for pin in 0..<Interrupts.count where status & (1 << UInt32(pin)) != 0 {
            guard let mode = modes[pin] else { continue }
            if mode == .change || (mode.rawValue & 1 == 1) == pins.currentLevel(pin) { run.append(pin) }
        }
        return run
    }

    /// The ISR's exit (`ETS_GPIO_INTR_ENABLE`, l.175): a level interrupt whose level
    /// still holds latches again at once, as the hardware does.
    public func finish() {
        inHandler = false
        for pin in 0..<Interrupts.count {
            if let mode = modes[pin], mode.isLevel, levelMatches(pin, mode) { pending |= 1 << UInt32(pin) }
        }
    }

    private func levelMatches(_ pin: Int, _ mode: Mode) -> Bool { pins.currentLevel(pin) == (mode.type == 5) }

    private func edge(_ pin: Int, _ level: Bool) {
        guard let mode = modes[pin] else { return }
        let fires: Bool
        switch mode.type {
        case 1: fires = level
        case 2: fires = !level
        case 3: fires = true
        default: fires = levelMatches(pin, mode)
        }
        if fires { latch(pin) }
    }

    private func latch(_ pin: Int) {
        pending |= 1 << UInt32(pin)
        if enabled && !inHandler { onPending?() }
    }
}
