import BoardCore
import LuaRuntime

// millis() -> ms since boot (32-bit)   micros() -> µs since boot (32-bit)
// delay(ms)   runs the background (network, timers) and feeds the watchdog
// delayMicroseconds(us)   busy-waits: no background, no watchdog feeding
// yield()     one pass of background work
enum TimeBindings {
    static func register(in state: LuaState, ctx: SketchContext) {
        let board = ctx.board
        // in C, over the clock's stored words: board.millis, and board.micros after clock.refresh()
        state.setGlobal("millis", .millis(clock: board.clock.words))
        state.setGlobal("micros", .micros(clock: board.clock.words))
        state.setGlobal("delay", kind: .poll) { call throws(LuaError) in
            let ms = try call.integer(1)
            if ms <= 0 { return ctx.yieldNow(call) }
            return ctx.delay(micros: UInt64(ms) * 1000, call)
        }
        state.setGlobal("yield", kind: .poll) { call in ctx.yieldNow(call) }
        state.setGlobal("delayMicroseconds") { call throws(LuaError) in
            let us = try call.integer(1)
            guard us > 0 else { return 0 }
            // os_delay_us: a busy wait; a long one starves the watchdog, as on the chip
            board.clock.busyWait(UInt64(us))
            if let bite = board.watchdog.check(now: board.clock.micros) {
                ctx.requestStop(.crash(bite == .softWatchdog ? .softWatchdog : .hardwareWatchdog, nil))
            }
            return ctx.unwindIfStopping(call)
        }
    }
}
