import XCTest

@testable import SPIPlugin

final class MCP3008Tests: XCTestCase {
    /// The datasheet's byte-aligned exchange: [0x01][SGL|ch<<4][0x00] -> the code in
    /// the low 2 bits of the second reply byte and all of the third.
    func testSingleEndedReadingsAre1024VinOverVref() {
        let adc = MCP3008()
        adc.volts = [0, 0.5, 1.0, 1.65, 2.0, 2.5, 3.0, 3.3]
        for ch in 0..<8 {
            adc.select()
            let r = [0x01, UInt8(0x80 | ch << 4), 0x00].map(adc.transfer)
            let code = Int(r[1] & 0x03) << 8 | Int(r[2])
            XCTAssertEqual(code, min(1023, Int(1024 * adc.volts[ch] / 3.3)), "channel \(ch)")
            XCTAssertEqual(r[1] & 0x04, 0, "the null bit precedes B9")
        }
    }

    /// Read continuing past B0 gives the result again LSB first, then zeros.
    func testTheResultRepeatsLSBFirst() {
        let adc = MCP3008()
        adc.volts[3] = 2.0  // code 620 = 0b1001101100
        adc.select()
        var bits: [Int] = []
        let start = [1, 1, 0, 1, 1]  // start, SGL, D2 D1 D0 = 011
        for b in start { _ = adc.clock(b) }
        for _ in 0..<30 { bits.append(adc.clock(0)) }
        let code = 620
        XCTAssertEqual(bits[0], 1)  // sampling: high impedance
        XCTAssertEqual(bits[1], 0)  // null bit
        XCTAssertEqual(Array(bits[2...11]), (0..<10).map { code >> (9 - $0) & 1 })
        XCTAssertEqual(Array(bits[12...20]), (1..<10).map { code >> $0 & 1 })
        XCTAssertEqual(Array(bits[21...]), Array(repeating: 0, count: 9))
    }

    /// SPI.h:45: `SPISettings()` is 1 MHz, LSBFIRST, SPI_MODE0; what a sketch leaves
    /// out of `SPISettings(...)` takes those values.
    func testSPISettingsDefaultsAreTheCores() {
        let s = Settings()
        XCTAssertEqual(s.clock, 1_000_000)
        XCTAssertTrue(s.lsbFirst)
        XCTAssertEqual(s.mode, 0)
    }

    func testLSBFirstReversesBits() {
        XCTAssertEqual(reverse(0x01), 0x80)
        XCTAssertEqual(reverse(0b1100_1010), 0b0101_0011)
    }
}
