import BoardCore
import LuaRuntime

// millis() -> ms since boot (32-bit)   micros() -> µs since boot (32-bit)
// delay(ms)   runs the background (network, timers) and feeds the watchdog
// delayMicroseconds(us)   busy-waits: no background, no watchdog feeding
// yield()     one pass of background work
// random(max) / random(min, max) / randomSeed(seed)
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
        var rng = SplitMix(seed: 0x8266)
        state.setGlobal("randomSeed") { call throws(LuaError) in
            rng = SplitMix(seed: UInt64(bitPattern: Int64(try call.integer(1)))); return 0
        }
        state.setGlobal("random") { call throws(LuaError) in
            var lo = 0, hi: Int
            if call.isNoneOrNil(2) { hi = try call.integer(1) } else { lo = try call.integer(1); hi = try call.integer(2) }
            if hi <= lo { call.push(lo); return 1 }
            call.push(lo + Int(rng.next() % UInt64(hi - lo)))
            return 1
        }
    }
}

/// A small deterministic generator for Arduino's `random()`.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
