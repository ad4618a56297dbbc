/// A Bosch BMP280 on I2C: the register map of the datasheet (BST-BMP280-DS001),
/// with its worked example's calibration words, and raw readings chosen so the
/// datasheet's compensation formulas give back the temperature and pressure set
/// in the controls.
final class BMP280 {
    static let chipID: UInt8 = 0x58
    // calibration words of the datasheet's example (section 3.12, table "compensation")
    static let digT: (UInt16, Int16, Int16) = (27504, 26435, -1000)
    static let digP: (UInt16, Int16, Int16, Int16, Int16, Int16, Int16, Int16, Int16) =
        (36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000)

    var temperature = 21.0  // °C
    var pressure = 1013.25  // hPa
    private var registers = [UInt8](repeating: 0, count: 256)
    private var pointer: UInt8 = 0
    private var gotPointer = false

    init() { reset() }

    func reset() {
        registers = [UInt8](repeating: 0, count: 256)
        registers[0xD0] = BMP280.chipID
        var calibration: [UInt8] = []
        func le(_ v: UInt16) { calibration += [UInt8(v & 0xff), UInt8(v >> 8)] }
        le(BMP280.digT.0); le(UInt16(bitPattern: BMP280.digT.1)); le(UInt16(bitPattern: BMP280.digT.2))
        let p = BMP280.digP
        le(p.0)
        for v in [p.1, p.2, p.3, p.4, p.5, p.6, p.7, p.8] { le(UInt16(bitPattern: v)) }
        for (i, b) in calibration.enumerated() { registers[0x88 + i] = b }
        registers[0xF7] = 0x80; registers[0xFA] = 0x80  // reset values of the data registers
    }

    // MARK: the datasheet's compensation (32-bit temperature, 64-bit pressure)

    static func compensateT(_ adcT: Int32) -> (celsius100: Int32, tFine: Int32) {
        let t1 = Int32(digT.0), t2 = Int32(digT.1), t3 = Int32(digT.2)
        let var1 = (((adcT >> 3) - (t1 << 1)) * t2) >> 11
        let var2 = (((((adcT >> 4) - t1) * ((adcT >> 4) - t1)) >> 12) * t3) >> 14
        let tFine = var1 + var2
        return ((tFine * 5 + 128) >> 8, tFine)
    }

    /// Pressure in Pa as Q24.8 (divide by 256), or 0 (the datasheet's division guard).
    static func compensateP(_ adcP: Int32, tFine: Int32) -> UInt32 {
        let p = digP
        var var1 = Int64(tFine) - 128000
        var var2 = var1 * var1 * Int64(p.5)
        var2 = var2 + ((var1 * Int64(p.4)) << 17)
        var2 = var2 + (Int64(p.3) << 35)
        var1 = ((var1 * var1 * Int64(p.2)) >> 8) + ((var1 * Int64(p.1)) << 12)
        var1 = (((Int64(1) << 47) + var1) * Int64(p.0)) >> 33
        if var1 == 0 { return 0 }
        var pressure = Int64(1048576 - adcP)
        pressure = (((pressure << 31) - var2) * 3125) / var1
        var1 = (Int64(p.8) * (pressure >> 13) * (pressure >> 13)) >> 25
        var2 = (Int64(p.7) * pressure) >> 19
        pressure = ((pressure + var1 + var2) >> 8) + (Int64(p.6) << 4)
        return UInt32(truncatingIfNeeded: pressure)
    }

    /// The 20-bit raw readings that compensate to the controls' values.
    func rawReadings() -> (adcT: Int32, adcP: Int32) {
        // temperature rises with adc_T; pressure falls with adc_P: binary searches
        let wantT = Int32((temperature * 100).rounded())
        var lo: Int32 = 0, hi: Int32 = (1 << 20) - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if BMP280.compensateT(mid).celsius100 < wantT { lo = mid + 1 } else { hi = mid }
        }
        let adcT = lo
        let tFine = BMP280.compensateT(adcT).tFine
        let wantP = UInt32((pressure * 100 * 256).rounded())
        lo = 0; hi = (1 << 20) - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if BMP280.compensateP(mid, tFine: tFine) > wantP { lo = mid + 1 } else { hi = mid }
        }
        return (adcT, lo)
    }

    private func latchReadings() {
        let (t, p) = rawReadings()
        registers[0xF7] = UInt8(p >> 12 & 0xff); registers[0xF8] = UInt8(p >> 4 & 0xff); registers[0xF9] = UInt8((p & 0xf) << 4)
        registers[0xFA] = UInt8(t >> 12 & 0xff); registers[0xFB] = UInt8(t >> 4 & 0xff); registers[0xFC] = UInt8((t & 0xf) << 4)
    }

    // MARK: I2C

    func start(read: Bool) -> Bool {
        if !read { gotPointer = false } else if registers[0xF4] & 0x03 != 0 { latchReadings() }  // normal or forced mode: fresh readings
        return true
    }

    func write(_ byte: UInt8) -> Bool {
        if !gotPointer { pointer = byte; gotPointer = true; return true }
        switch pointer {
        case 0xE0: if byte == 0xB6 { reset() }
        case 0xF4:
            registers[0xF4] = byte
            if byte & 0x03 != 0 { latchReadings() }
            if byte & 0x03 == 0x01 || byte & 0x03 == 0x02 { registers[0xF4] = byte & ~0x03 }  // forced: one measurement, then sleep
        case 0xF5: registers[0xF5] = byte
        default: break  // read-only registers ignore writes
        }
        pointer &+= 1
        return true
    }

    func read() -> UInt8 {
        defer { pointer &+= 1 }
        return registers[Int(pointer)]
    }
}

/// A 24LC32-style I2C EEPROM: 4 KiB, two address bytes, 32-byte pages (a write
/// wraps within its page), and a 5 ms write cycle during which the chip does
/// not acknowledge its address (so the master polls for the ACK).
final class EEPROM24 {
    static let size = 4096, page = 32
    static let writeCycleMicros: UInt64 = 5000
    var memory = [UInt8](repeating: 0xFF, count: EEPROM24.size)
    private var address = 0
    private var received: [UInt8] = []
    private var busyUntil: UInt64 = 0
    private let now: () -> UInt64

    init(now: @escaping () -> UInt64) { self.now = now }

    func start(read: Bool) -> Bool {
        received.removeAll()
        return now() >= busyUntil
    }

    func write(_ byte: UInt8) -> Bool {
        received.append(byte)
        if received.count == 2 { address = (Int(received[0]) << 8 | Int(received[1])) % EEPROM24.size }
        return true
    }

    func read() -> UInt8 {
        defer { address = (address + 1) % EEPROM24.size }
        return memory[address]
    }

    func stop() {
        guard received.count > 2 else { return }  // an address only: a random read follows
        let pageStart = address - address % EEPROM24.page
        var offset = address % EEPROM24.page
        for b in received.dropFirst(2) {
            memory[pageStart + offset] = b
            offset = (offset + 1) % EEPROM24.page
        }
        busyUntil = now() + EEPROM24.writeCycleMicros
        received.removeAll()
    }
}
