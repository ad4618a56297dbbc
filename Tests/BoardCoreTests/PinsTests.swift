import XCTest
@testable import BoardCore

final class PinsTests: XCTestCase {
    func testPinsBootAsInputAndPullupIdlesHigh() throws {
        let pins = Pins()
        XCTAssertEqual(try pins.read(5), false)
        try pins.setMode(5, Pins.Mode.inputPullup.rawValue)
        XCTAssertEqual(try pins.read(5), true)
        try pins.drive(5, false)   // a button to ground
        XCTAssertEqual(try pins.read(5), false)
    }

    func testFlashPinsAreRefused() {
        let pins = Pins()
        for p in 6...11 {
            XCTAssertThrowsError(try pins.setMode(p, 1)) { XCTAssertEqual($0 as? Pins.PinError, .flashPin(p)) }
        }
        XCTAssertThrowsError(try pins.write(17, true)) { XCTAssertEqual($0 as? Pins.PinError, .noSuchPin(17)) }
    }

    func testGpio16HasNoPullup() {
        let pins = Pins()
        XCTAssertThrowsError(try pins.setMode(16, Pins.Mode.inputPullup.rawValue))
        XCTAssertNoThrow(try pins.setMode(16, Pins.Mode.inputPulldown16.rawValue))
    }

    func testAnalogWriteClampsToTheCore3Range() throws {
        let pins = Pins()
        try pins.setMode(4, 1)
        try pins.analogWrite(4, 1000)      // range is 255 in core 3.x
        XCTAssertEqual(pins.pwm[4], nil)   // clamped to full on
        XCTAssertEqual(try pins.read(4), true)
        try pins.analogWrite(4, 128)
        XCTAssertEqual(pins.pwm[4], 128)
        try pins.analogWrite(4, 0)         // LOW, PWM stopped
        XCTAssertEqual(try pins.read(4), false)
        XCTAssertEqual(pins.pwm[4], nil)
    }

    func testAnalogReadOfA0AndOfDigitalPins() throws {
        let pins = Pins()
        pins.adc = 512
        XCTAssertEqual(try pins.analogRead(Pins.a0), 512)
        try pins.setMode(2, 1)
        try pins.write(2, true)
        XCTAssertEqual(try pins.analogRead(2), 1023)
    }
}
