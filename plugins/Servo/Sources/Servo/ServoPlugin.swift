import CPluginABI
import PluginKit

/// The Servo plugin: the core's `Servo` class, driving its pin with a real pulse
/// every 20 ms through the host (as the core's waveform generator does), and a
/// servo part that reads those pulses and turns at a realistic speed.
final class ServoPlugin {
    let host: UnsafePointer<esplua_host>
    let board: OpaquePointer?
    init(host: UnsafePointer<esplua_host>, board: OpaquePointer?) { self.host = host; self.board = board }
    var h: esplua_host { host.pointee }
}

/// One `Servo` object of the sketch: its timing and its waveform.
final class ServoChannel {
    unowned let plugin: ServoPlugin
    var timing = ServoTiming()
    var pin = -1
    var cycleTimer: esplua_handle = 0
    var fallTimer: esplua_handle = 0
    init(plugin: ServoPlugin) { self.plugin = plugin }

    var ctx: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// A period: HIGH now, LOW after the pulse, the next period in 20 ms.
    func cycle() {
        guard pin >= 0 else { return }
        let h = plugin.h
        h.pin_write(plugin.board, Int32(pin), 1)
        fallTimer = h.timer_start(
            plugin.board, UInt64(timing.pulse),
            { c in
                let ch = PluginKit.plugin(c, as: ServoChannel.self)
                ch.fallTimer = 0
                if ch.pin >= 0 { ch.plugin.h.pin_write(ch.plugin.board, Int32(ch.pin), 0) }
            }, ctx)
        cycleTimer = h.timer_start(
            plugin.board, ServoTiming.refreshMicros,
            { c in
                PluginKit.plugin(c, as: ServoChannel.self).cycle()
            }, ctx)
    }

    func stop() {
        let h = plugin.h
        if cycleTimer != 0 { h.timer_cancel(plugin.board, cycleTimer); cycleTimer = 0 }
        if fallTimer != 0 {
            // finish the pulse in progress, as detach() does
            h.timer_cancel(plugin.board, fallTimer); fallTimer = 0
            if pin >= 0 { h.pin_write(plugin.board, Int32(pin), 0) }
        }
        pin = -1
    }
}

private func channel(_ s: UnsafeMutableRawPointer?) -> ServoChannel { plugin(s, as: ServoChannel.self) }
private func int(_ p: ServoPlugin, _ call: OpaquePointer?, _ i: Int32) -> Int? { argInteger(p.host, call, i).map { Int($0) } }

nonisolated(unsafe) private let methods: [esplua_method] = [
    esplua_method(
        name: cstr("attach"),
        fn: { _, o, call in
            // attach(pin [, min, max [, value]]) -> pin
            let ch = channel(o)
            let p = ch.plugin
            guard let pin = int(p, call, 1), (0...16).contains(pin), !(6...11).contains(pin) else {
                return p.h.error(call, "bad argument #1 to 'attach' (GPIO 0-5, 12-16 expected)")
            }
            ch.stop()
            if let mn = int(p, call, 2), let mx = int(p, call, 3) { ch.timing.setLimits(min: mn, max: mx) }
            ch.timing.writeMicroseconds(ServoTiming.neutral)
            if let v = int(p, call, 4) { ch.timing.write(v) }
            ch.pin = pin
            p.h.pin_write(p.board, Int32(pin), 0)
            ch.cycle()
            p.h.ret_integer(call, Int64(pin))
            return 1
        }),
    esplua_method(
        name: cstr("write"),
        fn: { _, o, call in
            let ch = channel(o)
            guard let v = int(ch.plugin, call, 1) else { return ch.plugin.h.error(call, "bad argument #1 to 'write' (angle or microseconds expected)") }
            ch.timing.write(v)
            return 0
        }),
    esplua_method(
        name: cstr("writeMicroseconds"),
        fn: { _, o, call in
            let ch = channel(o)
            guard let v = int(ch.plugin, call, 1) else { return ch.plugin.h.error(call, "bad argument #1 to 'writeMicroseconds' (microseconds expected)") }
            ch.timing.writeMicroseconds(v)
            return 0
        }),
    esplua_method(
        name: cstr("read"),
        fn: { _, o, call in
            let ch = channel(o); ch.plugin.h.ret_integer(call, Int64(ch.timing.angle)); return 1
        }),
    esplua_method(
        name: cstr("readMicroseconds"),
        fn: { _, o, call in
            let ch = channel(o); ch.plugin.h.ret_integer(call, Int64(ch.timing.pulse)); return 1
        }),
    esplua_method(
        name: cstr("attached"),
        fn: { _, o, call in
            let ch = channel(o); ch.plugin.h.ret_boolean(call, ch.pin >= 0 ? 1 : 0); return 1
        }),
    esplua_method(
        name: cstr("detach"),
        fn: { _, o, _ in
            channel(o).stop(); return 0
        }),
    endOfMethods,
]

nonisolated(unsafe) private let classes: [esplua_class] = [
    esplua_class(
        name: cstr("Servo"),
        construct: { s, _ in Unmanaged.passRetained(ServoChannel(plugin: plugin(s, as: ServoPlugin.self))).toOpaque() },
        destroy: { _, o in
            channel(o).stop()
            Unmanaged<ServoChannel>.fromOpaque(o!).release()
        },
        methods: table(methods), reserved: noReserved),
    esplua_class(name: nil, construct: nil, destroy: nil, methods: nil, reserved: noReserved),
]

nonisolated(unsafe) private let functions: [esplua_method] = [endOfMethods]

nonisolated(unsafe) private let modules: [esplua_module] = [
    esplua_module(name: cstr("Servo"), functions: table(functions), constants: nil, classes: table(classes), reserved: noReserved),
    esplua_module(name: nil, functions: nil, constants: nil, classes: nil, reserved: noReserved),
]

// MARK: the servo part

final class MotorPart {
    let motor = ServoMotor()
    let plugin: ServoPlugin
    let name: String
    init(plugin: ServoPlugin, name: String) { self.plugin = plugin; self.name = name }

    /// One line in the run's log per new heading: when, where to, and when it gets there.
    func announce(_ aim: Double, at t: UInt64) {
        let pulse = Int(motor.lastPulse.rounded())
        let when = seconds(t), there = seconds(motor.arrivesAt)
        let msg = "\(name): pulse \(pulse) us at \(when) s, turning to \(Int(aim.rounded())) degrees (there at \(there) s)"
        plugin.h.log(plugin.board, 0, msg)
    }

    private func seconds(_ t: UInt64) -> String {
        let ms = t / 1000
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}

nonisolated(unsafe) private let parts: [esplua_part_type] = [
    esplua_part_type(
        name: cstr("servo"),
        summary: cstr("a hobby servo (SG90-like): 1000-2000 us = 0-180 degrees, 600 degrees/s (settings: pin, degreesPerSecond)"),
        controls: names(["angle", "pulse"]),
        create: { s, board, config in
            let p = plugin(s, as: ServoPlugin.self)
            var pin: Int64 = -1
            guard p.h.config_integer(config, "pin", &pin) == 0, (0...16).contains(pin) else {
                p.h.log(board, 2, "servo: \"pin\" (GPIO 0-16) is missing")
                return nil
            }
            let part = MotorPart(plugin: p, name: "servo on GPIO\(pin)")
            var rate = 0.0
            if p.h.config_number(config, "degreesPerSecond", &rate) == 0, rate > 0 { part.motor.degreesPerSecond = rate }
            part.motor.onNewTarget = { [unowned part] aim, t in part.announce(aim, at: t) }
            let ctx = Unmanaged.passRetained(part).toOpaque()
            _ = p.h.pin_listen(
                board, Int32(pin),
                { c, _, level, at in
                    plugin(c, as: MotorPart.self).motor.edge(high: level != 0, at: at)
                }, ctx)
            return ctx
        },
        destroy: { _, o in Unmanaged<MotorPart>.fromOpaque(o!).release() },
        set_control: { _, _, _, _ in -1 },  // outputs only: the servo is driven by its pulses
        get_control: { _, o, name, out in
            let part = plugin(o, as: MotorPart.self)
            switch String(cString: name!) {
            case "angle": out!.pointee = part.motor.angle(at: part.plugin.h.micros(part.plugin.board))
            case "pulse": out!.pointee = part.motor.lastPulse
            default: return -1
            }
            return 0
        },
        // the arm's angle as it turns, and the width of the last pulse it read
        control_info: controlInfo([
            ("angle", "°", 0, 180, ESPLUA_CONTROL_OUTPUT, 0), ("pulse", "µs", 0, 3000, ESPLUA_CONTROL_OUTPUT, 0),
        ]),
        reserved: noReservedPart),
    esplua_part_type(
        name: nil, summary: nil, controls: nil, create: nil, destroy: nil, set_control: nil, get_control: nil, control_info: nil,
        reserved: noReservedPart),
]

nonisolated(unsafe) private let info = table([
    esplua_plugin_info(
        name: cstr("Servo"), version: cstr("1.0.0"),
        summary: cstr("the core's Servo (pulses every 20 ms) and a hobby servo that turns at a finite speed"),
        modules: table(modules), parts: table(parts), reserved: noReserved)
])

/// The entry points, exported under their C names by the ServoEntry target.
public enum ServoExports {
    public static func describe() -> UnsafePointer<esplua_plugin_info> { info }

    public static func start(_ host: UnsafePointer<esplua_host>?, _ board: OpaquePointer?, _ state: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
        startPlugin(host, board, state) { ServoPlugin(host: $0, board: $1) }
    }

    public static func stop(_ state: UnsafeMutableRawPointer?) { stopPlugin(state, ServoPlugin.self) }
}
