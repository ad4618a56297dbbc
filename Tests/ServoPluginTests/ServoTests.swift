import XCTest

@testable import ServoPlugin

final class ServoTimingTests: XCTestCase {
    /// The core's defaults and rules (reference §6 Servo).
    func testAnglesBelow200AndMicrosecondsAbove() {
        var t = ServoTiming()
        XCTAssertEqual(t.pulse, 1500)
        t.write(0); XCTAssertEqual(t.pulse, 1000)
        t.write(180); XCTAssertEqual(t.pulse, 2000)
        t.write(90); XCTAssertEqual(t.pulse, 1500); XCTAssertEqual(t.angle, 90)
        t.write(1700); XCTAssertEqual(t.pulse, 1700)
        t.write(2500); XCTAssertEqual(t.pulse, 2000, "clamped to max")
        t.writeMicroseconds(500); XCTAssertEqual(t.pulse, 1000, "clamped to min")
    }

    func testLimitsAreClampedAsTheCoreDoes() {
        var t = ServoTiming()
        t.setLimits(min: 100, max: 5000)
        XCTAssertEqual(t.min, 200); XCTAssertEqual(t.max, 3000)
        t.setLimits(min: 900, max: 100)
        XCTAssertEqual(t.max, 250); XCTAssertEqual(t.min, 250)
    }
}

final class ServoMotorTests: XCTestCase {
    /// 1000–2000 µs is 0–180°, reached at 600 °/s.
    func testTheServoTurnsAtItsSpeed() {
        let m = ServoMotor()
        XCTAssertEqual(m.angle(at: 0), 90)
        m.edge(high: true, at: 1_000_000); m.edge(high: false, at: 1_002_000)  // 2000 µs: 180°
        XCTAssertEqual(m.lastPulse, 2000)
        XCTAssertEqual(m.angle(at: 1_002_000), 90)
        XCTAssertEqual(m.angle(at: 1_052_000), 120, accuracy: 0.001)  // 50 ms at 600 °/s
        XCTAssertEqual(m.angle(at: 1_152_000), 180)
        XCTAssertEqual(m.arrivesAt, 1_152_000)
        // a glitch too short to be a servo pulse is ignored
        m.edge(high: true, at: 2_000_000); m.edge(high: false, at: 2_000_100)
        XCTAssertEqual(m.lastPulse, 2000)
    }
}
