import CPluginABI
import PluginKit

/// The SPI plugin: the core's `SPI` (HSPI master) with `SPISettings`, bit order
/// and modes, over the board's SPI bus; and an MCP3008 ADC part.
final class SPIPlugin {
    let host: UnsafePointer<esplua_host>
    let board: OpaquePointer?
    var began = false
    var frequency = 1_000_000
    var lsbFirst = false
    var mode = 0
    init(host: UnsafePointer<esplua_host>, board: OpaquePointer?) { self.host = host; self.board = board }

    func exchange(_ bytes: [UInt8]) -> [UInt8] {
        var data = lsbFirst ? bytes.map(reverse) : bytes
        data.withUnsafeMutableBufferPointer { host.pointee.spi_transfer(board, $0.baseAddress, $0.count) }
        return lsbFirst ? data.map(reverse) : data
    }
}

/// Bit order on the wire: LSBFIRST sends bit 0 first, as a byte with its bits reversed.
func reverse(_ b: UInt8) -> UInt8 {
    var r: UInt8 = 0
    for i in 0..<8 where b & (1 << i) != 0 { r |= 0x80 >> UInt8(i) }
    return r
}

/// `SPISettings(clock, bitOrder, dataMode)` as a Lua object; what is not given is
/// the default constructor's: 1 MHz, LSBFIRST, SPI_MODE0 (SPI.h:45). `SPI.begin()`
/// itself clears SPI1C, MSB first (SPI.cpp:82).
final class Settings { var clock = 1_000_000; var lsbFirst = true; var mode = 0 }

private func spi(_ s: UnsafeMutableRawPointer?) -> SPIPlugin { plugin(s, as: SPIPlugin.self) }

/// SPI_MODE0..3 as the ESP8266 core numbers them.
private let modes: [Int64] = [0x00, 0x01, 0x10, 0x11]

nonisolated(unsafe) private let functions: [esplua_method] = [
    esplua_method(
        name: cstr("begin"),
        fn: { s, _, _ in
            spi(s).began = true; return 0
        }),
    esplua_method(
        name: cstr("end"),
        fn: { s, _, _ in
            spi(s).began = false; return 0
        }),
    esplua_method(
        name: cstr("beginTransaction"),
        fn: { s, _, call in
            let p = spi(s)
            guard let o = p.host.pointee.arg_object(call, 1, "SPISettings") else {
                return p.host.pointee.error(call, "bad argument #1 to 'beginTransaction' (SPISettings expected)")
            }
            let st = Unmanaged<Settings>.fromOpaque(o).takeUnretainedValue()
            p.frequency = st.clock; p.lsbFirst = st.lsbFirst; p.mode = st.mode
            return 0
        }),
    esplua_method(name: cstr("endTransaction"), fn: { _, _, _ in 0 }),
    esplua_method(
        name: cstr("setFrequency"),
        fn: { s, _, call in
            let p = spi(s)
            guard let hz = argInteger(p.host, call, 1), hz > 0 else { return p.host.pointee.error(call, "bad argument #1 to 'setFrequency' (Hz expected)") }
            p.frequency = Int(hz); return 0
        }),
    esplua_method(
        name: cstr("setBitOrder"),
        fn: { s, _, call in
            let p = spi(s)
            guard let o = argInteger(p.host, call, 1), o == 0 || o == 1 else {
                return p.host.pointee.error(call, "bad argument #1 to 'setBitOrder' (LSBFIRST or MSBFIRST expected)")
            }
            p.lsbFirst = o == 0; return 0
        }),
    esplua_method(
        name: cstr("setDataMode"),
        fn: { s, _, call in
            let p = spi(s)
            guard let m = argInteger(p.host, call, 1), let i = modes.firstIndex(of: m) else {
                return p.host.pointee.error(call, "bad argument #1 to 'setDataMode' (SPI_MODE0..SPI_MODE3 expected)")
            }
            p.mode = i; return 0
        }),
    esplua_method(
        name: cstr("transfer"),
        fn: { s, _, call in
            // transfer(byte) -> byte, or transfer(string) -> string of the bytes read
            let p = spi(s)
            if let b = argInteger(p.host, call, 1) {
                p.host.pointee.ret_integer(call, Int64(p.exchange([UInt8(truncatingIfNeeded: b)])[0]))
            } else if let bytes = argBytes(p.host, call, 1) {
                retBytes(p.host, call, p.exchange(bytes))
            } else {
                return p.host.pointee.error(call, "bad argument #1 to 'transfer' (byte or string expected)")
            }
            return 1
        }),
    esplua_method(
        name: cstr("transfer16"),
        fn: { s, _, call in
            // the word goes out MSB first (or LSB first with LSBFIRST), as the core's transfer16
            let p = spi(s)
            guard let w = argInteger(p.host, call, 1) else { return p.host.pointee.error(call, "bad argument #1 to 'transfer16' (16-bit word expected)") }
            let hi = UInt8(truncatingIfNeeded: w >> 8), lo = UInt8(truncatingIfNeeded: w)
            let r = p.exchange(p.lsbFirst ? [lo, hi] : [hi, lo])
            p.host.pointee.ret_integer(call, p.lsbFirst ? Int64(r[1]) << 8 | Int64(r[0]) : Int64(r[0]) << 8 | Int64(r[1]))
            return 1
        }),
    endOfMethods,
]

nonisolated(unsafe) private let settingsMethods: [esplua_method] = [endOfMethods]

nonisolated(unsafe) private let classes: [esplua_class] = [
    esplua_class(
        name: cstr("SPISettings"),
        construct: { s, call in
            let p = spi(s)
            let st = Settings()
            if let c = argInteger(p.host, call, 1) { st.clock = Int(c) }
            if let o = argInteger(p.host, call, 2) { st.lsbFirst = o == 0 }
            if let m = argInteger(p.host, call, 3) {
                guard let i = modes.firstIndex(of: m) else {
                    _ = p.host.pointee.error(call, "bad argument #3 to 'SPISettings' (SPI_MODE0..SPI_MODE3 expected)"); return nil
                }
                st.mode = i
            }
            return Unmanaged.passRetained(st).toOpaque()
        },
        destroy: { _, o in Unmanaged<Settings>.fromOpaque(o!).release() },
        methods: table(settingsMethods), reserved: noReserved),
    esplua_class(name: nil, construct: nil, destroy: nil, methods: nil, reserved: noReserved),
]

nonisolated(unsafe) private let constants: [esplua_constant] = [
    esplua_constant(name: cstr("MSBFIRST"), value: 1), esplua_constant(name: cstr("LSBFIRST"), value: 0),
    esplua_constant(name: cstr("SPI_MODE0"), value: 0x00), esplua_constant(name: cstr("SPI_MODE1"), value: 0x01),
    esplua_constant(name: cstr("SPI_MODE2"), value: 0x10), esplua_constant(name: cstr("SPI_MODE3"), value: 0x11),
    esplua_constant(name: nil, value: 0),
]

nonisolated(unsafe) private let modules: [esplua_module] = [
    esplua_module(name: cstr("SPI"), functions: table(functions), constants: table(constants), classes: table(classes), reserved: noReserved),
    esplua_module(name: nil, functions: nil, constants: nil, classes: nil, reserved: noReserved),
]

// MARK: the MCP3008 part

private let channelNames = (0..<8).map { "ch\($0)" }

nonisolated(unsafe) private let device = table([
    esplua_spi_device(
        select: { p in plugin(p, as: MCP3008.self).select() },
        transfer: { p, b in plugin(p, as: MCP3008.self).transfer(b) },
        deselect: { _ in },
        reserved: noReserved)
])

nonisolated(unsafe) private let parts: [esplua_part_type] = [
    esplua_part_type(
        name: cstr("mcp3008"), summary: cstr("Microchip MCP3008 8-channel 10-bit ADC on SPI (setting \"cs\": its chip-select pin)"),
        controls: names(channelNames + ["vref"]),
        create: { s, board, config in
            let h = spi(s).host.pointee
            var cs: Int64 = 15
            if h.config_integer(config, "cs", &cs) != 0 { cs = 15 }
            let part = Unmanaged.passRetained(MCP3008()).toOpaque()
            guard h.spi_attach(board, Int32(cs), device, part) == 0 else {
                h.log(board, 2, "mcp3008: chip-select pin \(cs) is not free")
                Unmanaged<MCP3008>.fromOpaque(part).release()
                return nil
            }
            return part
        },
        destroy: { _, p in Unmanaged<MCP3008>.fromOpaque(p!).release() },
        set_control: { _, p, name, value in
            let adc = plugin(p, as: MCP3008.self)
            let n = String(cString: name!)
            if n == "vref" { guard value > 0 else { return -1 }; adc.vref = value; return 0 }
            guard let i = channelNames.firstIndex(of: n) else { return -1 }
            adc.volts[i] = value
            return 0
        },
        get_control: { _, p, name, out in
            let adc = plugin(p, as: MCP3008.self)
            let n = String(cString: name!)
            if n == "vref" { out!.pointee = adc.vref; return 0 }
            guard let i = channelNames.firstIndex(of: n) else { return -1 }
            out!.pointee = adc.volts[i]
            return 0
        },
        // an input's volts (the chip reads 0…Vref; its datasheet, DS21295: VDD and Vref up to 5.5 V)
        control_info: controlInfo(
            channelNames.map { ($0, "V", 0, 5.5, ESPLUA_CONTROL_VALUE, 0) } + [("vref", "V", 0.25, 5.5, ESPLUA_CONTROL_VALUE, 0)]),
        reserved: noReservedPart),
    esplua_part_type(
        name: nil, summary: nil, controls: nil, create: nil, destroy: nil, set_control: nil, get_control: nil, control_info: nil,
        reserved: noReservedPart),
]

nonisolated(unsafe) private let info = table([
    esplua_plugin_info(
        name: cstr("SPI"), version: cstr("1.0.0"),
        summary: cstr("the core's SPI (HSPI master) with SPISettings, and an MCP3008 ADC"),
        modules: table(modules), parts: table(parts), reserved: noReserved)
])

/// The entry points, exported under their C names by the SPIEntry target (kept
/// apart so tests can link several plugins into one binary).
public enum SPIExports {
    public static func describe() -> UnsafePointer<esplua_plugin_info> { info }

    public static func start(_ host: UnsafePointer<esplua_host>?, _ board: OpaquePointer?, _ state: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
        startPlugin(host, board, state) { SPIPlugin(host: $0, board: $1) }
    }

    public static func stop(_ state: UnsafeMutableRawPointer?) { stopPlugin(state, SPIPlugin.self) }
}
