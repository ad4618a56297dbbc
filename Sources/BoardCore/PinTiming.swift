/// The core's timed pin functions over `Pins`: `pulseIn` (core_esp8266_wiring_pulse.cpp)
/// and `shiftIn`/`shiftOut` (core_esp8266_wiring_shift.cpp), 3.1.2.
extension Board {
    /// `clockCyclesToMicroseconds(UINT_MAX)` at 80 MHz: pulseIn's longest timeout (l.40-42).
    public static let pulseInMaxTimeout: UInt64 = UInt64(UInt32.max) / Tone.cyclesPerMicro

    /// `pulseIn(pin, state, timeout)` (l.38-51): waits for the pin to leave `level`,
    /// then to reach it, then measures until it leaves it again; 0 when `timeout` µs
    /// (from the call) pass first. Each wait is the core's `WAIT_FOR_PIN_STATE`: a busy
    /// loop with `optimistic_yield(5000)` (l.29-35), so board time passes, parts' edges
    /// and interrupts come, and the background runs every 5 ms.
    public func pulseIn(_ pin: Int, level: Bool, timeout: UInt64) throws -> UInt64 {
        try pins.check(pin)
        let timeout = min(timeout, Board.pulseInMaxTimeout)
        let start = clock.refresh()
        func waitFor(_ want: Bool) -> Bool {
            while pins.level(pin) != want {
                let now = clock.micros
                if now &- start > timeout || loop.isStopping { return false }
                // nothing changes the pin before the next hardware event, the timeout
                // or the next optimistic_yield: busy-wait to the first of them
                var step = start &+ timeout &+ 1 &- now
                if let t = timers.nextHardwareDue { step = min(step, t > now ? t - now : 0) }
                step = min(step, 5000)
                if step > 0 { clock.busyWait(step) }
                serviceHardware()
                // an idle board sleeps to its next event, but not past the timeout
                loop.optimisticYield(5000, until: start &+ timeout &+ 1)
            }
            return true
        }
        guard waitFor(!level), waitFor(level) else { return 0 }
        let pulseStart = clock.micros
        guard waitFor(!level) else { return 0 }
        return clock.micros - pulseStart
    }

    /// `shiftOut(dataPin, clockPin, bitOrder, val)` (l.46-58): per bit, data then a
    /// HIGH-LOW clock pulse; `msbFirst` is `MSBFIRST` (1), else `LSBFIRST` (0).
    public func shiftOut(data: Int, clock clockPin: Int, msbFirst: Bool, value: UInt8) throws {
        for i in 0..<8 {
            let bit = msbFirst ? 7 - i : i
            try pins.write(data, value & (1 << bit) != 0)
            try pins.write(clockPin, true)
            try pins.write(clockPin, false)
        }
    }

    /// `shiftIn(dataPin, clockPin, bitOrder)` (l.31-44): per bit, clock HIGH, read, clock LOW.
    public func shiftIn(data: Int, clock clockPin: Int, msbFirst: Bool) throws -> UInt8 {
        var value: UInt8 = 0
        for i in 0..<8 {
            try pins.write(clockPin, true)
            if try pins.read(data) { value |= 1 << (msbFirst ? 7 - i : i) }
            try pins.write(clockPin, false)
        }
        return value
    }
}
