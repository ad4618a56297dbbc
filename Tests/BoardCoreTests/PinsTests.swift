import XCTest

@testable import BoardCore

final class PinsTests: XCTestCase {
    func testPinsBootAsInputAndPullupIdlesHigh() throws {
        let pins = Pins()
        XCTAssertEqual(try pins.read(5), false)
        try pins.setMode(5, Pins.Mode.inputPullup.rawValue)
        XCTAssertEqual(try pins.read(5), true)
        try pins.drive(5, false)  // a button to ground
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
        try pins.analogWrite(4, 1000)  // range is 255 in core 3.x
        XCTAssertEqual(pins.pwm[4], nil)  // clamped to full on
        XCTAssertEqual(try pins.read(4), true)
        try pins.analogWrite(4, 128)
        XCTAssertEqual(pins.pwm[4], 128)
        try pins.analogWrite(4, 0)  // LOW, PWM stopped
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

    // MARK: the storage shared with C (CLuaShim's clua_pins)

    func testTheStorageLayoutIsTheOneCLuaShimReads() {
        // the same numbers LuaRuntimeTests checks clua_pins against
        XCTAssertEqual(Pins.count, 17)
        XCTAssertEqual(
            [Pins.Storage.mode, Pins.Storage.output, Pins.Storage.external, Pins.Storage.slow, Pins.Storage.size],
            [0, 17, 34, 51, 68])
        XCTAssertEqual([Pins.Storage.listened, Pins.Storage.pwm, Pins.Storage.nobody], [1, 2, 2])
    }

    func byte(_ pins: Pins, _ row: Int, _ pin: Int) -> UInt8 { pins.storage.load(fromByteOffset: row + pin, as: UInt8.self) }

    func testTheStorageHoldsModesLevelsAndWhatIsDriven() throws {
        let pins = Pins()
        XCTAssertEqual(byte(pins, Pins.Storage.external, 4), Pins.Storage.nobody)
        try pins.setMode(4, Pins.Mode.outputOpenDrain.rawValue)
        try pins.write(4, true)
        try pins.drive(4, false)
        XCTAssertEqual(byte(pins, Pins.Storage.mode, 4), 3)
        XCTAssertEqual(byte(pins, Pins.Storage.output, 4), 1)
        XCTAssertEqual(byte(pins, Pins.Storage.external, 4), 0)
        XCTAssertEqual(try pins.read(4), false)
        XCTAssertEqual(pins.modes[4], .outputOpenDrain)
        XCTAssertEqual(pins.outputs[4], true)
        XCTAssertEqual(pins.external[4], false)
        XCTAssertEqual(pins.external[5], nil)
        try pins.drive(4, nil)
        XCTAssertEqual(try pins.read(4), true)
        // a level stored as the C fast path stores it is what Pins reads
        try pins.setMode(5, Pins.Mode.output.rawValue)
        pins.storage.storeBytes(of: 1, toByteOffset: Pins.Storage.output + 5, as: UInt8.self)
        XCTAssertEqual(try pins.read(5), true)
        XCTAssertEqual(pins.currentLevel(5), true)
    }

    func testListenersAndPWMSetTheSlowBits() throws {
        let pins = Pins()
        XCTAssertEqual(byte(pins, Pins.Storage.slow, 2), 0)
        let id = pins.listen(pin: 2) { _, _ in }
        XCTAssertEqual(byte(pins, Pins.Storage.slow, 2), Pins.Storage.listened)
        XCTAssertEqual(byte(pins, Pins.Storage.slow, 3), 0)
        pins.unlisten(id)
        XCTAssertEqual(byte(pins, Pins.Storage.slow, 2), 0)
        pins.onChange = { _, _ in }
        for p in 0..<Pins.count { XCTAssertEqual(byte(pins, Pins.Storage.slow, p), Pins.Storage.listened) }
        pins.onChange = nil
        XCTAssertEqual(byte(pins, Pins.Storage.slow, 2), 0)
        try pins.setMode(4, 1)
        try pins.analogWrite(4, 100)
        XCTAssertEqual(byte(pins, Pins.Storage.slow, 4), Pins.Storage.pwm)
        try pins.write(4, true)
        XCTAssertEqual(byte(pins, Pins.Storage.slow, 4), 0)
        XCTAssertEqual(pins.pwm[4], nil)
        try pins.analogWrite(4, 100)
        pins.reset()
        XCTAssertEqual(byte(pins, Pins.Storage.slow, 4), 0)
        XCTAssertEqual(pins.modes[4], .input)
    }

    func testAListenerHearsEachChangeOnceInTheOrderListenersWereAdded() throws {
        let pins = Pins()
        var heard: [String] = []
        _ = pins.listen(pin: 2) { p, high in heard.append("a\(p)\(high ? 1 : 0)") }
        _ = pins.listen(pin: 3) { p, high in heard.append("x\(p)\(high ? 1 : 0)") }
        _ = pins.listen(pin: 2) { p, high in heard.append("b\(p)\(high ? 1 : 0)") }
        var changes: [String] = []
        pins.onChange = { p, high in changes.append("\(p)\(high ? 1 : 0)") }
        try pins.setMode(2, Pins.Mode.output.rawValue)
        for level in [true, true, false, false, true] { try pins.write(2, level) }
        try pins.setMode(2, Pins.Mode.inputPullup.rawValue)  // shows HIGH still: no change
        try pins.drive(2, false)
        XCTAssertEqual(heard, ["a21", "b21", "a20", "b20", "a21", "b21", "a20", "b20"])
        XCTAssertEqual(changes, ["21", "20", "21", "20"])
    }
}
