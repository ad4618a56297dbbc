import BoardCore
import LuaRuntime

// local t = Ticker()
// t:attach(seconds, fn [, arg])     t:attach_ms(ms, fn [, arg])      every period: fn(arg)
// t:once(seconds, fn [, arg])       t:once_ms(ms, fn [, arg])        once
// t:detach()                        t:active() -> bool
// The callbacks run where the SDK runs os_timer callbacks: at the sketch's next
// delay()/yield()/return of loop(), in due order.
enum TickerBindings {
    static let className = "Ticker"

    /// A Ticker and the registry refs of its callback and argument.
    final class Handle {
        let timer: TickerTimer
        var fn: Int32?
        var arg: Int32?
        init(timer: TickerTimer) { self.timer = timer }
    }

    static func register(in state: LuaState, ctx: SketchContext) {
        let board = ctx.board
        // unowned(unsafe): the state owns these closures, and its lua_close runs the __gc that
        // calls unref while the state is being destroyed (valid memory, a safe unowned would trap)
        unowned(unsafe) let unownedState = state
        func ticker(_ call: LuaCall) throws(LuaError) -> Handle {
            try call.object(1, Handle.self, class: className)
        }
        func unref(_ h: Handle) {  // (the state held unowned: a closure it keeps must not keep it)
            if let f = h.fn { unownedState.unref(f) }
            if let a = h.arg { unownedState.unref(a) }
            h.fn = nil
            h.arg = nil
        }
        /// attach/once: the period converted to µs here (seconds are a float, as Ticker.h's;
        /// milliseconds an integer, duration_cast truncating to whole ms as the core's).
        func attach(inSeconds: Bool, repeating: Bool) -> LuaFunction {
            return { call throws(LuaError) in
                let h = try ticker(call)
                let ms: Double = inSeconds ? (try call.number(2) * 1000).rounded(.towardZero) : Double(try call.integer(2))
                guard ms >= 0, ms < 1e12 else { throw .argument(2, "period out of range") }
                let fn = try call.functionRef(3)
                unref(h)
                h.fn = fn
                if !call.isNoneOrNil(4) { h.arg = call.valueRef(4) }
                h.timer.attach(periodMicros: UInt64(ms) * 1000, repeating: repeating) { [unowned h] generation in
                    guard let fn = h.fn else { return }
                    let arg = h.arg
                    ctx.queueCallback(
                        fn, isCurrent: { h.timer.generation == generation },
                        after: { h.timer.callbackReturned(generation: generation) }
                    ) { call in
                        guard let arg else { return 0 }
                        call.pushRef(arg)
                        return 1
                    }
                }
                return 0
            }
        }
        state.defineClass(
            className,
            methods: [
                ("attach", attach(inSeconds: true, repeating: true)),
                ("attach_ms", attach(inSeconds: false, repeating: true)),
                ("once", attach(inSeconds: true, repeating: false)),
                ("once_ms", attach(inSeconds: false, repeating: false)),
                (
                    "detach",
                    { call throws(LuaError) in
                        try ticker(call).timer.detach(); return 0
                    }
                ),
                (
                    "active",
                    { call throws(LuaError) in
                        call.push(try ticker(call).timer.isActive); return 1
                    }
                ),
            ], polls: ["active"],
            onCollect: { o in
                guard let h = o as? Handle else { return }
                h.timer.detach()  // ~Ticker() detaches (Ticker.cpp:26-29)
                unref(h)
            })

        // Ticker(): a callable class table
        state.setLibrary(className, [])
        state.getGlobal(className)
        state.setCallMetamethod { call in
            call.pushObject(Handle(timer: TickerTimer(board: board)), class: className)
            return 1
        }
        state.setTop(state.top - 1)
    }
}
