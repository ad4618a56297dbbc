import BoardCore
import LuaRuntime

// millis() -> ms since boot (32-bit)   micros() -> µs since boot (32-bit)
// delay(ms)   runs the background (network, timers) and feeds the watchdog
// delayMicroseconds(us)   busy-waits: no background, no watchdog feeding
// yield()     one pass of background work
// micros64() -> µs since boot (64-bit)
// In an interrupt handler (ISR.swift) the core's code runs in SYS context, where it
// cannot suspend: yield() panics (core_esp8266_main.cpp l.185-193, 3.1.2) and delay(ms),
// as every blocking call, spins (BoardLoop.canSuspend): no background, no watchdog feeding.
enum TimeBindings {
    static func register(in state: LuaState, ctx: SketchContext) {
        let board = ctx.board
        // in C, over the clock's stored words: board.millis, and board.micros after clock.refresh()
        state.setGlobal("millis", .millis(clock: board.clock.words))
        state.setGlobal("micros", .micros(clock: board.clock.words))
        state.setGlobal("micros64", kind: .poll) { call in
            call.state.activity.pointee |= LuaState.readMicrosBit  // a clock poll, as micros()
            call.push(Int(board.uptimeMicros))
            return 1
        }
        let isr = ctx.isr
        state.setGlobal("delay", kind: .poll) { call throws(LuaError) in
            let ms = try call.integer(1)
            if ms <= 0 { return ctx.yieldNow(call) }
            return ctx.delay(micros: UInt64(ms) * 1000, call)
        }
        state.setGlobal("yield", kind: .poll) { call in
            if isr.inHandler {
                // __yield: cont_can_suspend is false outside CONT, so panic() (l.191)
                ctx.requestStop(.crash(.panic(file: "core_esp8266_main.cpp", line: 191, function: "__yield"), nil))
                return ctx.unwindIfStopping(call)
            }
            return ctx.yieldNow(call)
        }
        /// A busy wait of `us`: no background; a long one starves the watchdog, as on the chip.
        func busyWait(_ us: UInt64, _ call: LuaCall) -> Int32 {
            guard us > 0 else { return 0 }
            board.clock.busyWait(us)
            if let bite = board.watchdog.check(now: board.clock.micros) {
                ctx.requestStop(.crash(bite == .softWatchdog ? .softWatchdog : .hardwareWatchdog, nil))
            }
            return ctx.unwindIfStopping(call)
        }
        // os_delay_us
        state.setGlobal("delayMicroseconds") { call throws(LuaError) in busyWait(UInt64(max(0, try call.integer(1))), call) }
    }
}
