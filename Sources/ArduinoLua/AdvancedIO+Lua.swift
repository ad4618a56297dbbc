import BoardCore
import LuaRuntime

// tone(pin, frequency [, duration_ms])   noTone(pin)
// pulseIn(pin, HIGH|LOW [, timeout_us = 1000000]) -> µs, 0 on timeout    pulseInLong(...) the same
// shiftOut(dataPin, clockPin, MSBFIRST|LSBFIRST, value)   shiftIn(dataPin, clockPin, bitOrder) -> 0..255
// Constants: LSBFIRST MSBFIRST
// Models: Board.tone (Tone.swift), Board.pulseIn/shiftOut/shiftIn (PinTiming.swift).
enum AdvancedIOBindings {
    static func register(in state: LuaState, ctx: SketchContext) {
        state.setGlobal("LSBFIRST", integer: 0)  // Arduino.h l.73-74
        state.setGlobal("MSBFIRST", integer: 1)
        let board = ctx.board
        /// A pin error as the first argument's.
        func pinCall<T>(_ body: () throws -> T) throws(LuaError) -> T {
            do { return try body() } catch let e as Pins.PinError { throw e.lua(1) } catch { throw .runtime("\(error)") }
        }
        state.setGlobal("tone") { call throws(LuaError) in
            let pin = try call.integer(1), frequency = try call.number(2)
            let duration = try call.optionalInteger(3, default: 0)
            // the frequency is an unsigned int or a double in the core (Tone.cpp l.50, l.64); both round the same here
            guard frequency >= 0 else { throw .argument(2, "frequency must not be negative") }
            try pinCall { try board.tone.start(pin: pin, frequency: frequency, durationMillis: UInt64(max(0, duration))) }
            return 0
        }
        state.setGlobal("noTone") { call throws(LuaError) in
            let pin = try call.integer(1)
            try pinCall { try board.tone.stop(pin: pin) }
            return 0
        }
        let pulseIn: LuaFunction = { call throws(LuaError) in
            let pin = try call.integer(1)
            let level: Bool
            if call.type(2) == 1 { level = call.boolean(2) } else { level = try call.integer(2) != 0 }  // LUA_TBOOLEAN
            let timeout = try call.optionalInteger(3, default: 1_000_000)
            let us = try pinCall { try board.pulseIn(pin, level: level, timeout: UInt64(max(0, timeout))) }
            call.push(Int(us))
            return 1
        }
        state.setGlobal("pulseIn", pulseIn)
        state.setGlobal("pulseInLong", pulseIn)  // core_esp8266_wiring_pulse.cpp l.53-56: the same function
        state.setGlobal("shiftOut") { call throws(LuaError) in
            let data = try call.integer(1), clock = try call.integer(2), order = try call.integer(3), value = try call.integer(4)
            // the core takes uint8_t: the low byte of the value
            try pinCall { try board.shiftOut(data: data, clock: clock, msbFirst: order == 1, value: UInt8(truncatingIfNeeded: value)) }
            return 0
        }
        state.setGlobal("shiftIn") { call throws(LuaError) in
            let data = try call.integer(1), clock = try call.integer(2), order = try call.integer(3)
            call.push(Int(try pinCall { try board.shiftIn(data: data, clock: clock, msbFirst: order == 1) }))
            return 1
        }
    }
}
