/// The board's I2C bus (GPIO4 SDA / GPIO5 SCL on the core's defaults): devices at
/// 7-bit addresses, one master (the Wire library). A transfer to an address no
/// device answers is NACKed, as on the wire.
public final class I2CBus {
    /// One device on the bus, as a part implements it.
    public struct Device {
        public var start: (_ read: Bool) -> Bool  // ACK the address?
        public var write: (UInt8) -> Bool  // ACK the byte?
        public var read: () -> UInt8
        public var stop: () -> Void
        public init(start: @escaping (Bool) -> Bool, write: @escaping (UInt8) -> Bool, read: @escaping () -> UInt8, stop: @escaping () -> Void) {
            self.start = start; self.write = write; self.read = read; self.stop = stop
        }
    }

    public enum WriteResult: Int { case ok = 0, addressNACK = 2, dataNACK = 3, other = 4 }

    private var devices: [UInt8: Device] = [:]
    public init() {}

    /// False if the address is taken or not a 7-bit address.
    public func attach(address: UInt8, _ device: Device) -> Bool {
        guard address < 0x80, devices[address] == nil else { return false }
        devices[address] = device
        return true
    }

    public func detachAll() { devices.removeAll() }
    public var addresses: [UInt8] { devices.keys.sorted() }

    /// A master write (`endTransmission`): address, then the bytes; stop at the end.
    public func write(address: UInt8, _ bytes: [UInt8], stop: Bool = true) -> WriteResult {
        guard let d = devices[address & 0x7f], d.start(false) else { return .addressNACK }
        defer { if stop { d.stop() } }
        for b in bytes where !d.write(b) { return .dataNACK }
        return .ok
    }

    /// A master read (`requestFrom`): nil when no device ACKs the address.
    public func read(address: UInt8, count: Int, stop: Bool = true) -> [UInt8]? {
        guard let d = devices[address & 0x7f], d.start(true) else { return nil }
        defer { if stop { d.stop() } }
        return (0..<count).map { _ in d.read() }
    }
}

/// The board's SPI bus (HSPI: GPIO14 SCK, 12 MISO, 13 MOSI): a device is selected
/// while its chip-select pin is LOW; with none selected, MISO idles high (0xFF).
public final class SPIBus {
    public struct Device {
        public var select: () -> Void
        public var transfer: (UInt8) -> UInt8
        public var deselect: () -> Void
        public init(select: @escaping () -> Void, transfer: @escaping (UInt8) -> UInt8, deselect: @escaping () -> Void) {
            self.select = select; self.transfer = transfer; self.deselect = deselect
        }
    }

    private var devices: [Int: Device] = [:]
    private var selected: Set<Int> = []
    private let pins: Pins
    private var listeners: [Int] = []

    public init(pins: Pins) { self.pins = pins }

    public func attach(csPin: Int, _ device: Device) -> Bool {
        guard (0..<Pins.count).contains(csPin), devices[csPin] == nil else { return false }
        devices[csPin] = device
        listeners.append(
            pins.listen(pin: csPin) { [unowned self] pin, high in
                if !high { selected.insert(pin); devices[pin]?.select() } else if selected.remove(pin) != nil { devices[pin]?.deselect() }
            })
        return true
    }

    public func detachAll() {
        for l in listeners { pins.unlisten(l) }
        listeners.removeAll()
        devices.removeAll()
        selected.removeAll()
    }

    /// Full duplex: each byte out gets the selected device's byte back (0xFF if none).
    public func transfer(_ bytes: [UInt8]) -> [UInt8] {
        let active = selected.sorted().compactMap { devices[$0] }
        return bytes.map { b in
            var miso: UInt8 = 0xFF
            for d in active { miso &= d.transfer(b) }  // several selected: wired-AND, a wiring error
            return miso
        }
    }
}
