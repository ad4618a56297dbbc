import CPluginABI
import Glibc

// The C table a plugin calls (`esplua_host`, esplua_plugin.h): each entry finds its
// PluginHost behind the `esplua_board` pointer and does its work on the board.
extension PluginHost {

    /// A part's settings, read by plugins through config_*.
    final class PartConfig {
        let values: [String: Any]
        var problem: String?
        var strings: [String: UnsafeMutablePointer<CChar>] = [:]
        init(_ values: [String: Any]) { self.values = values }
        deinit { for s in strings.values { free(s) } }
        static func from(_ p: OpaquePointer?) -> PartConfig { Unmanaged<PartConfig>.fromOpaque(UnsafeRawPointer(p!)).takeUnretainedValue() }
    }

    /// The Lua side's call behind an esplua_call pointer.
    public final class CallBox {
        public let call: PluginCall
        public init(_ call: PluginCall) { self.call = call }
        static func from(_ p: OpaquePointer?) -> PluginCall { Unmanaged<CallBox>.fromOpaque(UnsafeRawPointer(p!)).takeUnretainedValue().call }
        public var pointer: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }
    }

    static func makeTable() -> esplua_host {
        var t = esplua_host()
        t.size = UInt32(MemoryLayout<esplua_host>.size)
        t.abi = esplua_host_abi()
        t.log = { b, level, message in
            let h = hostOf(b)
            let kind = level >= 2 ? "error" : level == 1 ? "warning" : "info"
            h.log("esplua: \(h.current) \(kind): \(String(cString: message!))")
        }
        t.micros = { b in hostOf(b).board.clock.micros }
        t.timer_start = { b, after, fn, ctx in
            let h = hostOf(b)
            let id = h.newHandle()
            let fn = fn!
            let ctx = UnsafeMutableRawPointer(ctx)
            h.timers[id] = h.board.timers.schedule(at: h.board.clock.micros + after, hardware: true) { [unowned h] in
                h.timers.removeValue(forKey: id)
                fn(ctx)
            }
            return id
        }
        t.timer_cancel = { b, id in
            let h = hostOf(b)
            if let t = h.timers.removeValue(forKey: id) { h.board.timers.cancel(t) }
        }
        t.pin_level = { b, pin in hostOf(b).board.pins.currentLevel(Int(pin)) ? 1 : 0 }
        t.pin_mode = { b, pin in
            let pins = hostOf(b).board.pins
            guard (0..<Pins.count).contains(Int(pin)) else { return -1 }
            return Int32(pins.modes[Int(pin)].rawValue)
        }
        t.pin_drive = { b, pin, level in
            try? hostOf(b).board.pins.drive(Int(pin), level < 0 ? nil : level != 0)
        }
        t.pin_listen = { b, pin, fn, ctx in
            let h = hostOf(b)
            let fn = fn!
            let ctx = UnsafeMutableRawPointer(ctx)
            let clock = h.board.clock
            let timers = h.board.timers
            let id = h.newHandle()
            h.listeners[id] = h.board.pins.listen(pin: Int(pin)) { p, high in
                fn(ctx, Int32(p), high ? 1 : 0, min(timers.firingDue ?? clock.micros, clock.micros))
            }
            return id
        }
        t.pin_unlisten = { b, id in
            let h = hostOf(b)
            if let l = h.listeners.removeValue(forKey: id) { h.board.pins.unlisten(l) }
        }
        t.pin_write = { b, pin, level in
            let pins = hostOf(b).board.pins
            guard (0..<Pins.count).contains(Int(pin)) else { return }
            if pins.modes[Int(pin)] != .output { try? pins.setMode(Int(pin), Pins.Mode.output.rawValue) }
            try? pins.write(Int(pin), level != 0)
        }
        t.i2c_attach = { b, address, device, part in
            let d = device!.pointee
            let part = UnsafeMutableRawPointer(part)
            let dev = I2CBus.Device(
                start: { read in d.start?(part, read ? 1 : 0) == 0 },
                write: { byte in d.write?(part, byte) == 0 },
                read: { d.read?(part) ?? 0xFF },
                stop: { d.stop?(part) })
            return hostOf(b).board.i2c.attach(address: address, dev) ? 0 : -1
        }
        t.i2c_write = { b, address, data, length, stop in
            let bytes = length == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: length))
            return Int32(hostOf(b).board.i2c.write(address: address, bytes, stop: stop != 0).rawValue)
        }
        t.i2c_read = { b, address, data, length, stop in
            guard let got = hostOf(b).board.i2c.read(address: address, count: length, stop: stop != 0) else { return -1 }
            for (i, v) in got.enumerated() { data![i] = v }
            return Int32(got.count)
        }
        t.spi_attach = { b, cs, device, part in
            let d = device!.pointee
            let part = UnsafeMutableRawPointer(part)
            let dev = SPIBus.Device(select: { d.select?(part) }, transfer: { d.transfer?(part, $0) ?? 0xFF }, deselect: { d.deselect?(part) })
            return hostOf(b).board.spi.attach(csPin: Int(cs), dev) ? 0 : -1
        }
        t.spi_transfer = { b, data, length in
            guard let data, length > 0 else { return }
            let out = hostOf(b).board.spi.transfer(Array(UnsafeBufferPointer(start: data, count: length)))
            for (i, v) in out.enumerated() { data[i] = v }
        }
        t.flash_size = { b in UInt32(hostOf(b).board.flash.size) }
        t.flash_read = { b, address, data, length in
            guard let got = hostOf(b).board.flash.read(Int(address), count: length) else { return -1 }
            got.withUnsafeBytes { data!.copyMemory(from: $0.baseAddress!, byteCount: length) }
            return 0
        }
        t.flash_program = { b, address, data, length in
            let bytes = Array(UnsafeRawBufferPointer(start: data, count: length))
            return hostOf(b).board.flash.program(Int(address), bytes) ? 0 : -1
        }
        t.flash_erase_sector = { b, address in hostOf(b).board.flash.eraseSector(Int(address)) ? 0 : -1 }
        t.heap_charge = { b, bytes in
            let h = hostOf(b)
            guard let c = h.board.heap.allocate(Int(bytes), owner: h.current) else { return 0 }
            let id = h.newHandle()
            h.charges[id] = c
            return id
        }
        t.heap_release = { b, id in
            let h = hostOf(b)
            if let c = h.charges.removeValue(forKey: id) { h.board.heap.free(c) }
        }
        t.register_module = { b, module, state in
            let h = hostOf(b)
            guard let module, let p = h.loaded.first(where: { $0.state == state }) ?? h.loaded.last else { return -1 }
            return h.registrar?.register(module: module, state: state, plugin: p) == true ? 0 : -1
        }
        t.arg_count = { c in Int32(callOf(c).argumentCount) }
        t.arg_integer = { c, i, out in
            guard let v = callOf(c).integer(Int(i)) else { return -1 }
            out?.pointee = v; return 0
        }
        t.arg_number = { c, i, out in
            guard let v = callOf(c).number(Int(i)) else { return -1 }
            out?.pointee = v; return 0
        }
        t.arg_boolean = { c, i, out in
            guard let v = callOf(c).boolean(Int(i)) else { return -1 }
            out?.pointee = v ? 1 : 0; return 0
        }
        t.arg_string = { c, i, bytes, length in
            guard let v = callOf(c).bytes(Int(i)) else { return -1 }
            bytes?.pointee = v.baseAddress?.assumingMemoryBound(to: CChar.self)
            length?.pointee = v.count
            return 0
        }
        t.arg_is_nil = { c, i in callOf(c).isNil(Int(i)) ? 1 : 0 }
        t.arg_object = { c, i, name in callOf(c).object(Int(i), className: String(cString: name!)) }
        t.ret_integer = { c, v in callOf(c).push(integer: v) }
        t.ret_number = { c, v in callOf(c).push(number: v) }
        t.ret_boolean = { c, v in callOf(c).push(boolean: v != 0) }
        t.ret_string = { c, bytes, length in callOf(c).push(bytes: UnsafeRawBufferPointer(start: bytes, count: length)) }
        t.ret_nil = { c in callOf(c).pushNil() }
        t.ret_object = { c, name, object in callOf(c).push(object: object, className: String(cString: name!)) }
        t.ret_table = { c in callOf(c).pushTable() }
        t.set_field_integer = { c, k, v in callOf(c).setField(String(cString: k!), integer: v) }
        t.set_field_number = { c, k, v in callOf(c).setField(String(cString: k!), number: v) }
        t.set_field_string = { c, k, b, n in callOf(c).setField(String(cString: k!), bytes: UnsafeRawBufferPointer(start: b, count: n)) }
        t.set_field_boolean = { c, k, v in callOf(c).setField(String(cString: k!), boolean: v != 0) }
        t.error = { c, message in callOf(c).fail(message.map { String(cString: $0) } ?? "error") }
        t.config_integer = { cfg, key, out in
            let v = configOf(cfg).values[String(cString: key!)]
            if let n = JSON.integer(v) { out?.pointee = Int64(n); return 0 }
            // an integer beyond 64 bits: the end of the range, which the plugin's range check refuses
            if let n = JSON.number(v), n == n.rounded() { out?.pointee = n < 0 ? .min : .max; return 0 }
            if let s = v as? String, let n = Int64(s.hasPrefix("0x") ? String(s.dropFirst(2)) : s, radix: s.hasPrefix("0x") ? 16 : 10) {
                out?.pointee = n; return 0
            }
            return -1
        }
        t.config_number = { cfg, key, out in
            guard let n = JSON.number(configOf(cfg).values[String(cString: key!)]) else { return -1 }
            out?.pointee = n; return 0
        }
        t.config_string = { cfg, key, out in
            let config = configOf(cfg)
            let k = String(cString: key!)
            guard let s = config.values[k] as? String else { return -1 }
            if config.strings[k] == nil { config.strings[k] = strdup(s) }
            out?.pointee = UnsafePointer(config.strings[k]!)
            return 0
        }
        // 1.1
        t.arg_error = { c, i, message in callOf(c).failArgument(Int(i), message.map { String(cString: $0) } ?? "invalid value") }
        t.adc_set = { b, v in hostOf(b).board.pins.adc = Int(max(0, min(v, 1023))) }
        t.uart_write = { b, port, data, length in
            guard port == 0, let data, length > 0 else { return 0 }
            return Int32(hostOf(b).board.uart.receive(UnsafeBufferPointer(start: data, count: length)))
        }
        t.uart_listen = { b, port, fn, ctx in
            let h = hostOf(b)
            guard port == 0, let fn else { return 0 }
            let ctx = UnsafeMutableRawPointer(ctx)
            let clock = h.board.clock
            let id = h.newHandle()
            h.uartTaps[id] = h.board.uart.tap { bytes in
                fn(ctx, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, clock.micros)
            }
            return id
        }
        t.uart_unlisten = { b, id in
            let h = hostOf(b)
            if let t = h.uartTaps.removeValue(forKey: id) { h.board.uart.untap(t) }
        }
        return t
    }
}

private func hostOf(_ p: OpaquePointer?) -> PluginHost { Unmanaged<PluginHost>.fromOpaque(UnsafeRawPointer(p!)).takeUnretainedValue() }
private func callOf(_ p: OpaquePointer?) -> PluginCall { Unmanaged<PluginHost.CallBox>.fromOpaque(UnsafeRawPointer(p!)).takeUnretainedValue().call }
private func configOf(_ p: OpaquePointer?) -> PluginHost.PartConfig { Unmanaged<PluginHost.PartConfig>.fromOpaque(UnsafeRawPointer(p!)).takeUnretainedValue() }
