/// `tone()`/`noTone()`: a square wave on a pin from the waveform generator, as the
/// core's Tone.cpp (3.1.2) asks core_esp8266_waveform for one.
///
/// Times are CPU cycles at 80 MHz, as the core computes them: the period is
/// `80 MHz / frequency` (l.54), HIGH for half of it and LOW for the rest (l.55-56),
/// each phase at least 25 µs (a 20 kHz ceiling, l.40-41); a duration in ms is
/// rounded up to whole periods (l.43-45), 0 is forever. The edges are hardware
/// timers (the generator runs from the timer1 NMI), so they come on time while the
/// sketch computes, and a part listening on the pin hears them.
public final class Tone {
    /// CPU cycles per microsecond (`microsecondsToClockCycles`, 80 MHz).
    public static let cyclesPerMicro: UInt64 = 80

    private struct Wave {
        var high: UInt64, low: UInt64
        var start: UInt64
        /// Cycles since `start` of the next edge.
        var nextEdge: UInt64
        var level: Bool
        /// Cycles after `start` when the wave stops (nil: forever).
        var end: UInt64?
        var timer: Timers.ID?
    }

    private unowned let pins: Pins
    private unowned let timers: Timers
    private unowned let clock: BoardClock
    private var waves: [Int: Wave] = [:]

    public init(pins: Pins, timers: Timers, clock: BoardClock) {
        self.pins = pins
        self.timers = timers
        self.clock = clock
    }

    /// The frequency a pin's tone has now (Hz), nil when it has none.
    public func frequency(pin: Int) -> Double? {
        guard let w = waves[pin] else { return nil }
        return Double(Tone.cyclesPerMicro * 1_000_000) / Double(w.high + w.low)
    }

    /// `tone(pin, frequency, duration)`: an integral frequency as the core's
    /// `unsigned int` overload computes it, another as its `double` one; below 1 Hz
    /// is `noTone` (l.51, l.65). A pin above 16 is ignored (l.29).
    public func start(pin: Int, frequency: Double, durationMillis: UInt64) throws {
        guard pin <= 16 else { return }
        try pins.check(pin)
        if frequency < 1 { return try stop(pin: pin) }
        let cyclesPerSecond = Double(Tone.cyclesPerMicro * 1_000_000)
        var high: UInt64, low: UInt64
        if frequency == frequency.rounded(.towardZero) {
            // tone(pin, unsigned int, ...) (l.50-58): integer division
            let period = UInt64(cyclesPerSecond) / UInt64(frequency)
            high = period / 2
            low = period - high
        } else {
            // tone(pin, double, ...) (l.64-72): rounded halves
            let period = cyclesPerSecond / frequency
            high = UInt64(period / 2 + 0.5)
            low = UInt64(period + 0.5) - high
        }
        let minimum = 25 * Tone.cyclesPerMicro
        high = max(high, minimum)
        low = max(low, minimum)
        var end: UInt64?
        if durationMillis > 0 {
            var d = durationMillis * 1000 * Tone.cyclesPerMicro
            d += high + low - 1
            d -= d % (high + low)
            end = d
        }
        if let t = waves[pin]?.timer { timers.cancel(t) }
        // pinMode(OUTPUT) (l.38); the PWM of analogWrite stops (l.34, in write)
        try pins.setMode(pin, Pins.Mode.output.rawValue)
        try pins.write(pin, true)
        waves[pin] = Wave(high: high, low: low, start: clock.micros, nextEdge: high, level: true, end: end)
        schedule(pin)
    }

    /// `noTone(pin)` (l.83): the wave stops and the pin goes LOW.
    public func stop(pin: Int) throws {
        guard pin <= 16 else { return }
        if let t = waves.removeValue(forKey: pin)?.timer { timers.cancel(t) }
        try pins.write(pin, false)
    }

    /// Power-on: no waves.
    public func reset() {
        for w in waves.values { if let t = w.timer { timers.cancel(t) } }
        waves.removeAll()
    }

    private func schedule(_ pin: Int) {
        guard let w = waves[pin] else { return }
        let at = w.start + w.nextEdge / Tone.cyclesPerMicro
        waves[pin]?.timer = timers.schedule(at: at, hardware: true) { [unowned self] in self.edge(pin) }
    }

    private func edge(_ pin: Int) {
        guard var w = waves[pin] else { return }
        w.timer = nil
        if let end = w.end, w.nextEdge >= end {
            waves[pin] = nil
            try? pins.write(pin, false)
            return
        }
        w.level.toggle()
        w.nextEdge += w.level ? w.high : w.low
        waves[pin] = w
        // the generator drives the pin directly (GPOS/GPOC); a sketch's analogWrite
        // or digitalWrite on it meanwhile is the sketch's business
        try? pins.write(pin, w.level)
        schedule(pin)
    }
}
