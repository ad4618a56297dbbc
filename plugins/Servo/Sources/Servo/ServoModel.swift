/// The core's Servo arithmetic (libraries/Servo/src/Servo.cpp, reference §6):
/// defaults 1000/2000 µs, neutral 1500, a pulse every 20 ms; values below 200 are
/// angles mapped onto [min, max], others microseconds clamped to it.
struct ServoTiming {
    static let defaultMin = 1000, defaultMax = 2000, neutral = 1500, refreshMicros: UInt64 = 20_000

    var min = ServoTiming.defaultMin
    var max = ServoTiming.defaultMax
    var pulse = ServoTiming.neutral

    /// `attach(pin, min, max)`: max clamped to [250, 3000], min to [200, max].
    mutating func setLimits(min newMin: Int, max newMax: Int) {
        max = Swift.max(250, Swift.min(3000, newMax))
        min = Swift.max(200, Swift.min(max, newMin))
    }

    /// `write(value)`: an angle below 200, else microseconds.
    mutating func write(_ value: Int) {
        if value < 200 {
            let angle = Swift.max(0, Swift.min(180, value))
            writeMicroseconds(min + (max - min) * angle / 180)
        } else {
            writeMicroseconds(value)
        }
    }

    mutating func writeMicroseconds(_ us: Int) { pulse = Swift.max(min, Swift.min(max, us)) }

    /// `read()`: the pulse mapped back to 0…180 (Arduino's map(), integer arithmetic).
    var angle: Int { (pulse - min) * 180 / Swift.max(1, max - min) }
}

/// A hobby servo (SG90-like) on a pin: it reads each pulse's width from the pin's
/// edges, aims at the angle that width means on its own 1000–2000 µs scale, and
/// turns there at a finite speed (600 °/s: 0.1 s per 60°, an SG90 at 4.8 V).
final class ServoMotor {
    var minPulse = 1000.0, maxPulse = 2000.0
    var degreesPerSecond = 600.0
    private(set) var lastPulse = 0.0
    private var riseAt: UInt64?
    private var from = 90.0, target = 90.0
    private var since: UInt64 = 0
    /// Called when a new pulse width changes where the servo is heading.
    var onNewTarget: ((Double, UInt64) -> Void)?

    /// The angle at board time `t`, moving from where it was toward the target.
    func angle(at t: UInt64) -> Double {
        let travelled = degreesPerSecond * Double(t &- since) / 1_000_000
        if abs(target - from) <= travelled { return target }
        return from + (target > from ? travelled : -travelled)
    }

    /// When the servo reaches its target.
    var arrivesAt: UInt64 { since + UInt64(abs(target - from) / degreesPerSecond * 1_000_000) }

    func edge(high: Bool, at t: UInt64) {
        if high { riseAt = t; return }
        guard let r = riseAt else { return }
        riseAt = nil
        let width = Double(t - r)
        guard width >= 400, width <= 3000 else { return }  // not a servo pulse: ignored, as a servo would
        lastPulse = width
        let aim = max(0, min(180, (width - minPulse) / (maxPulse - minPulse) * 180))
        guard abs(aim - target) >= 0.5 else { return }
        from = angle(at: t)
        target = aim
        since = t
        onNewTarget?(aim, t)
    }
}
