import BoardCore
import LuaRuntime

// attachInterrupt(pin, fn, mode)     mode: RISING FALLING CHANGE ONLOW ONHIGH ONLOW_WE ONHIGH_WE
// detachInterrupt(pin)               digitalPinToInterrupt(pin) -> pin, or NOT_AN_INTERRUPT (-1)
// interrupts()  noInterrupts()
// The handler runs between two Lua instructions, as an ISR interrupts code (ISR.swift).
enum InterruptBindings {
    static let constants: [(String, Int)] =
        [("ONLOW", 0x04), ("ONHIGH", 0x05), ("ONLOW_WE", 0x0C), ("ONHIGH_WE", 0x0D), ("NOT_AN_INTERRUPT", -1)]

    static func register(in state: LuaState, ctx: SketchContext) {
        for (k, v) in constants { state.setGlobal(k, integer: v) }
        let isr = ctx.isr, interrupts = ctx.board.interrupts
        // variants/generic/common.h l.39: p < EXTERNAL_NUM_INTERRUPTS (16) ? p : NOT_AN_INTERRUPT
        state.setGlobal("digitalPinToInterrupt", kind: .poll) { call throws(LuaError) in
            let pin = try call.integer(1)
            call.push((0..<Interrupts.count).contains(pin) ? pin : -1)
            return 1
        }
        state.setGlobal("attachInterrupt") { call throws(LuaError) in
            let pin = try call.integer(1)
            guard call.type(2) == 6 else { _ = try call.functionRef(2); return 0 }  // LUA_TFUNCTION; raises the usual message
            let raw = try call.integer(3)
            guard let mode = Interrupts.Mode(rawValue: raw) else {
                throw .argument(3, "RISING, FALLING, CHANGE, ONLOW, ONHIGH, ONLOW_WE or ONHIGH_WE expected, got \(raw)")
            }
            // the core ignores a pin of 16 or more (l.204): GPIO16 has no interrupt
            guard (0..<Interrupts.count).contains(pin) else { return 0 }
            isr.attach(pin: pin, handler: try call.functionRef(2), mode: mode)
            return 0
        }
        state.setGlobal("detachInterrupt") { call throws(LuaError) in
            isr.detach(pin: try call.integer(1)); return 0
        }
        state.setGlobal("interrupts") { _ in
            interrupts.setEnabled(true); return 0
        }
        state.setGlobal("noInterrupts") { _ in
            interrupts.setEnabled(false); return 0
        }
    }
}
