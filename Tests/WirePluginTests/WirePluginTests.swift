import XCTest

@testable import WirePlugin

final class BMP280Tests: XCTestCase {
    /// The datasheet's worked example (BST-BMP280-DS001, "compensation formula"):
    /// adc_T 519888 -> 25.08 °C (t_fine 128422); adc_P 415148 -> 100653.27 Pa as the
    /// datasheet prints it (its 64-bit integer formula gives 25767233/256 = 100653.254).
    func testTheDatasheetWorkedExample() {
        let (t, tFine) = BMP280.compensateT(519_888)
        XCTAssertEqual(t, 2508)
        XCTAssertEqual(tFine, 128_422)
        XCTAssertEqual(Double(BMP280.compensateP(415_148, tFine: tFine)) / 256, 100_653.27, accuracy: 0.02)
    }

    /// Raw readings are chosen so the datasheet's formulas give back the controls.
    func testRawReadingsCompensateToTheControls() {
        let bmp = BMP280()
        for (t, p) in [(21.5, 1013.25), (-10.0, 950.0), (40.25, 1050.5)] {
            bmp.temperature = t
            bmp.pressure = p
            let (adcT, adcP) = bmp.rawReadings()
            let (c, tFine) = BMP280.compensateT(adcT)
            XCTAssertEqual(Double(c) / 100, t, accuracy: 0.011)
            XCTAssertEqual(Double(BMP280.compensateP(adcP, tFine: tFine)) / 25600, p, accuracy: 0.01)
        }
    }

    func testRegisterMap() {
        let bmp = BMP280()
        XCTAssertTrue(bmp.start(read: false)); XCTAssertTrue(bmp.write(0xD0))
        XCTAssertTrue(bmp.start(read: true)); XCTAssertEqual(bmp.read(), 0x58)
        // calibration: dig_T1 little-endian at 0x88
        XCTAssertTrue(bmp.start(read: false)); XCTAssertTrue(bmp.write(0x88))
        XCTAssertTrue(bmp.start(read: true))
        XCTAssertEqual(UInt16(bmp.read()) | UInt16(bmp.read()) << 8, 27504)
    }
}

final class EEPROMTests: XCTestCase {
    func testPageWriteWrapsWithinItsPageAndTheChipIsBusyFor5ms() {
        var now: UInt64 = 0
        let e = EEPROM24(now: { now })
        // write 4 bytes from address 30: two land at 30, 31, two wrap to 0, 1 of the page
        XCTAssertTrue(e.start(read: false))
        for b: UInt8 in [0x00, 30, 0xA1, 0xA2, 0xA3, 0xA4] { XCTAssertTrue(e.write(b)) }
        e.stop()
        XCTAssertFalse(e.start(read: false), "no ACK during the write cycle")
        now = 4999
        XCTAssertFalse(e.start(read: false))
        now = 5000
        XCTAssertTrue(e.start(read: false))
        XCTAssertEqual(Array(e.memory[30...31]), [0xA1, 0xA2])
        XCTAssertEqual(Array(e.memory[0...1]), [0xA3, 0xA4])
        XCTAssertEqual(e.memory[32], 0xFF)
        // random read: address, then a read transfer
        for b: UInt8 in [0x00, 30] { XCTAssertTrue(e.write(b)) }
        e.stop()
        XCTAssertTrue(e.start(read: true))
        XCTAssertEqual([e.read(), e.read()], [0xA1, 0xA2])
    }
}
