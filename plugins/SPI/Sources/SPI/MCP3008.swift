/// A Microchip MCP3008: 8-channel 10-bit ADC on SPI, modelled bit by bit from its
/// datasheet's serial protocol. After CS falls, the first 1 clocked in is the start
/// bit; then SGL/DIFF and D2 D1 D0 select the input; one clock samples, a null bit
/// (0) follows, then the 10-bit result MSB first, then again LSB first (B1…B9),
/// then zeros. Before the null bit DOUT is high-impedance (read as 1 here).
/// Code = 1024 · Vin / Vref, at most 1023.
final class MCP3008 {
    var volts = [Double](repeating: 0, count: 8)
    var vref = 3.3
    private var clocks = 0  // bits clocked since the start bit (0 = waiting for it)
    private var config = 0
    private var result = 0

    func select() { clocks = 0; config = 0 }

    func code(_ channel: Int, single: Bool) -> Int {
        let v: Double
        if single {
            v = volts[channel]
        } else {
            // pseudo-differential pairs: CH0-CH1, CH1-CH0, CH2-CH3 …
            let pair = channel & ~1, plus = channel & 1 == 0 ? pair : pair + 1, minus = channel & 1 == 0 ? pair + 1 : pair
            v = volts[plus] - volts[minus]
        }
        return max(0, min(1023, Int((1024 * v / vref).rounded(.down))))
    }

    /// One clock: MOSI bit in, MISO bit out.
    func clock(_ mosi: Int) -> Int {
        if clocks == 0 {
            if mosi == 1 { clocks = 1 }
            return 1
        }
        clocks += 1
        let n = clocks - 1  // clocks after the start bit
        switch n {
        case 1...4:
            config = config << 1 | mosi
            if n == 4 { result = code(config & 7, single: config & 8 != 0) }
            return 1
        case 5: return 1  // sampling
        case 6: return 0  // the null bit
        case 7...16: return result >> (16 - n) & 1  // B9 … B0
        case 17...25: return result >> (n - 16) & 1  // B1 … B9, LSB first
        default: return 0
        }
    }

    func transfer(_ byte: UInt8) -> UInt8 {
        var out: UInt8 = 0
        for bit in (0..<8).reversed() { out = out << 1 | UInt8(clock(Int(byte >> UInt8(bit) & 1))) }
        return out
    }
}
