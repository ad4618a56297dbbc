import CPluginABI
import PluginKit

/// The Wire plugin: the core's `Wire` (TwoWire) over the board's I2C bus, and two
/// parts with real register maps, a BMP280 and a 24LC32 EEPROM.
final class WirePlugin {
    let host: UnsafePointer<esplua_host>
    let board: OpaquePointer?
    /// `BUFFER_LENGTH` of the core's Wire.
    static let bufferLength = 128
    var transmitting: UInt8?
    var tx: [UInt8] = []
    var rx: [UInt8] = []
    var rxIndex = 0
    var clock = 100_000

    init(host: UnsafePointer<esplua_host>, board: OpaquePointer?) { self.host = host; self.board = board }

    static func from(_ p: UnsafeMutableRawPointer?) -> WirePlugin { Unmanaged<WirePlugin>.fromOpaque(p!).takeUnretainedValue() }
    var h: esplua_host { host.pointee }
}

private func arg(_ w: WirePlugin, _ call: OpaquePointer?, _ i: Int32) -> Int64? { argInteger(w.host, call, i) }

nonisolated(unsafe) private let functions: [esplua_method] = [
    esplua_method(
        name: cstr("begin"),
        fn: { s, _, call in
            // begin([sda, scl]): the pins are accepted as given (the emulated bus has no wires)
            let w = WirePlugin.from(s)
            w.tx.removeAll(); w.rx.removeAll(); w.rxIndex = 0; w.transmitting = nil
            _ = call
            return 0
        }),
    esplua_method(
        name: cstr("setClock"),
        fn: { s, _, call in
            let w = WirePlugin.from(s)
            guard let hz = arg(w, call, 1), hz > 0 else { return w.h.error(call, "bad argument #1 to 'setClock' (frequency in Hz expected)") }
            w.clock = Int(hz)
            return 0
        }),
    esplua_method(
        name: cstr("beginTransmission"),
        fn: { s, _, call in
            let w = WirePlugin.from(s)
            guard let a = arg(w, call, 1), (0...127).contains(a) else {
                return w.h.error(call, "bad argument #1 to 'beginTransmission' (7-bit address expected)")
            }
            w.transmitting = UInt8(a)
            w.tx.removeAll()
            return 0
        }),
    esplua_method(
        name: cstr("write"),
        fn: { s, _, call in
            // write(byte) or write(string): bytes queued, at most 128 (BUFFER_LENGTH); returns how many
            let w = WirePlugin.from(s)
            var bytes: [UInt8] = []
            if let b = arg(w, call, 1) {
                bytes = [UInt8(truncatingIfNeeded: b)]
            } else {
                guard let b = argBytes(w.host, call, 1) else { return w.h.error(call, "bad argument #1 to 'write' (byte or string expected)") }
                bytes = b
            }
            let room = max(0, WirePlugin.bufferLength - w.tx.count)
            let taken = w.transmitting == nil ? 0 : min(room, bytes.count)
            w.tx += bytes.prefix(taken)
            w.h.ret_integer(call, Int64(taken))
            return 1
        }),
    esplua_method(
        name: cstr("endTransmission"),
        fn: { s, _, call in
            // 0 ok, 2 address NACK, 3 data NACK, 4 other (no beginTransmission)
            let w = WirePlugin.from(s)
            let stop: Int32 = argBoolean(w.host, call, 1, default: true) ? 1 : 0
            guard let a = w.transmitting else { w.h.ret_integer(call, 4); return 1 }
            let r = w.tx.withUnsafeBufferPointer { w.h.i2c_write(w.board, a, $0.baseAddress, $0.count, stop) }
            w.transmitting = nil
            w.tx.removeAll()
            w.h.ret_integer(call, Int64(r))
            return 1
        }),
    esplua_method(
        name: cstr("requestFrom"),
        fn: { s, _, call in
            // requestFrom(address, quantity [, stop]) -> bytes received (0 on NACK), at most 128
            let w = WirePlugin.from(s)
            guard let a = arg(w, call, 1), (0...127).contains(a) else { return w.h.error(call, "bad argument #1 to 'requestFrom' (7-bit address expected)") }
            guard let q = arg(w, call, 2), q >= 0 else { return w.h.error(call, "bad argument #2 to 'requestFrom' (quantity expected)") }
            let stop: Int32 = argBoolean(w.host, call, 3, default: true) ? 1 : 0
            let n = min(Int(q), WirePlugin.bufferLength)
            var buf = [UInt8](repeating: 0, count: n)
            let got = buf.withUnsafeMutableBufferPointer { w.h.i2c_read(w.board, UInt8(a), $0.baseAddress, n, stop) }
            w.rx = got < 0 ? [] : buf
            w.rxIndex = 0
            w.h.ret_integer(call, Int64(w.rx.count))
            return 1
        }),
    esplua_method(
        name: cstr("available"),
        fn: { s, _, call in
            let w = WirePlugin.from(s)
            w.h.ret_integer(call, Int64(w.rx.count - w.rxIndex))
            return 1
        }),
    esplua_method(
        name: cstr("read"),
        fn: { s, _, call in
            let w = WirePlugin.from(s)
            if w.rxIndex < w.rx.count { w.h.ret_integer(call, Int64(w.rx[w.rxIndex])); w.rxIndex += 1 } else { w.h.ret_integer(call, -1) }
            return 1
        }),
    esplua_method(
        name: cstr("peek"),
        fn: { s, _, call in
            let w = WirePlugin.from(s)
            w.h.ret_integer(call, w.rxIndex < w.rx.count ? Int64(w.rx[w.rxIndex]) : -1)
            return 1
        }),
    esplua_method(
        name: cstr("getClock"),
        fn: { s, _, call in
            let w = WirePlugin.from(s)
            w.h.ret_integer(call, Int64(w.clock))
            return 1
        }),
    esplua_method(name: nil, fn: nil),
]

nonisolated(unsafe) private let modules: [esplua_module] = [
    esplua_module(name: cstr("Wire"), functions: table(functions), constants: nil, classes: nil, reserved: (nil, nil, nil, nil)),
    esplua_module(name: nil, functions: nil, constants: nil, classes: nil, reserved: (nil, nil, nil, nil)),
]

// MARK: parts

/// A part on the bus and the device callbacks the host calls.
private final class I2CPart {
    let bmp: BMP280?
    let eeprom: EEPROM24?
    init(bmp: BMP280? = nil, eeprom: EEPROM24? = nil) { self.bmp = bmp; self.eeprom = eeprom }
    static func from(_ p: UnsafeMutableRawPointer?) -> I2CPart { Unmanaged<I2CPart>.fromOpaque(p!).takeUnretainedValue() }
}

nonisolated(unsafe) private let device = table([
    esplua_i2c_device(
        start: { p, read in
            let part = I2CPart.from(p)
            let ok = part.bmp?.start(read: read != 0) ?? part.eeprom?.start(read: read != 0) ?? false
            return ok ? 0 : -1
        },
        write: { p, byte in
            let part = I2CPart.from(p)
            return (part.bmp?.write(byte) ?? part.eeprom?.write(byte) ?? false) ? 0 : -1
        },
        read: { p in
            let part = I2CPart.from(p)
            return part.bmp?.read() ?? part.eeprom?.read() ?? 0xFF
        },
        stop: { p in I2CPart.from(p).eeprom?.stop() },
        reserved: (nil, nil, nil, nil))
])

private func address(_ w: WirePlugin, _ config: OpaquePointer?, default d: Int64) -> UInt8? {
    var a: Int64 = d
    if w.h.config_integer(config, "address", &a) != 0 { a = d }
    return (0...127).contains(a) ? UInt8(a) : nil
}

/// Puts `part` on the bus at `address`; nil (and a message) if the address is taken.
private func attach(_ w: WirePlugin, _ board: OpaquePointer?, _ address: UInt8, _ part: I2CPart, _ name: String) -> UnsafeMutableRawPointer? {
    let p = Unmanaged.passRetained(part).toOpaque()
    guard w.h.i2c_attach(board, address, device, p) == 0 else {
        w.h.log(board, 2, "\(name): I2C address 0x\(String(address, radix: 16)) is taken")
        Unmanaged<I2CPart>.fromOpaque(p).release()
        return nil
    }
    return p
}

nonisolated(unsafe) private let bmpControls = names(["temperature", "pressure"])
nonisolated(unsafe) private let eepromControls = names([])

nonisolated(unsafe) private let parts: [esplua_part_type] = [
    esplua_part_type(
        name: cstr("bmp280"), summary: cstr("Bosch BMP280 temperature/pressure sensor on I2C (address 0x76 or 0x77)"),
        controls: bmpControls,
        create: { s, board, config in
            let w = WirePlugin.from(s)
            guard let a = address(w, config, default: 0x76) else { w.h.log(board, 2, "bmp280: address must be 0x76 or 0x77"); return nil }
            return attach(w, board, a, I2CPart(bmp: BMP280()), "bmp280")
        },
        destroy: { _, p in Unmanaged<I2CPart>.fromOpaque(p!).release() },
        set_control: { _, p, name, value in
            guard let bmp = I2CPart.from(p).bmp else { return -1 }
            switch String(cString: name!) {
            case "temperature": bmp.temperature = value
            case "pressure": bmp.pressure = value
            default: return -1
            }
            return 0
        },
        get_control: { _, p, name, out in
            guard let bmp = I2CPart.from(p).bmp else { return -1 }
            switch String(cString: name!) {
            case "temperature": out!.pointee = bmp.temperature
            case "pressure": out!.pointee = bmp.pressure
            default: return -1
            }
            return 0
        },
        // the datasheet's operating range (BST-BMP280-DS001: -40…85 °C, 300…1100 hPa)
        control_info: controlInfo([
            ("temperature", "°C", -40, 85, ESPLUA_CONTROL_VALUE, 0), ("pressure", "hPa", 300, 1100, ESPLUA_CONTROL_VALUE, 0),
        ]),
        reserved: (nil, nil, nil)),
    esplua_part_type(
        name: cstr("eeprom24c32"), summary: cstr("24LC32-style 4 KiB I2C EEPROM, 32-byte pages, 5 ms write cycle (address 0x50-0x57)"),
        controls: eepromControls,
        create: { s, board, config in
            let w = WirePlugin.from(s)
            guard let a = address(w, config, default: 0x50) else { return nil }
            let host = w.host
            return attach(w, board, a, I2CPart(eeprom: EEPROM24(now: { host.pointee.micros(board) })), "eeprom24c32")
        },
        destroy: { _, p in Unmanaged<I2CPart>.fromOpaque(p!).release() },
        set_control: { _, _, _, _ in -1 },
        get_control: { _, _, _, _ in -1 },
        control_info: nil,
        reserved: (nil, nil, nil)),
    esplua_part_type(
        name: nil, summary: nil, controls: nil, create: nil, destroy: nil, set_control: nil, get_control: nil, control_info: nil,
        reserved: (nil, nil, nil)),
]

nonisolated(unsafe) private let info = table([
    esplua_plugin_info(
        name: cstr("Wire"), version: cstr("1.0.0"),
        summary: cstr("the core's Wire (I2C master) with a BMP280 sensor and a 24LC32 EEPROM"),
        modules: table(modules), parts: table(parts), reserved: (nil, nil, nil, nil))
])

/// The entry points, exported under their C names by the WireEntry target (kept
/// apart so tests can link several plugins into one binary).
public enum WireExports {
    public static func describe() -> UnsafePointer<esplua_plugin_info> { info }

    public static func start(_ host: UnsafePointer<esplua_host>?, _ board: OpaquePointer?, _ state: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
        startPlugin(host, board, state) { WirePlugin(host: $0, board: $1) }
    }

    public static func stop(_ state: UnsafeMutableRawPointer?) { stopPlugin(state, WirePlugin.self) }
}
