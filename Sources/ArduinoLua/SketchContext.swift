import BoardCore
import BoardNet
import LuaRuntime

/// Why the sketch's coroutine was asked to stop.
enum StopRequest {
    case runEnded
    /// `ESP.restart()` (`.softRestart`) or the reset button (`.externalSystem`).
    case restart(ResetReason)
    case crash(Crash, String?)
}

/// What the bindings may use of a running device, and no more: the board and its
/// run loop, the network, the plugins, the queue of Lua callbacks, and the way to
/// stop the sketch. Bindings only convert arguments and call these (STYLE.md:
/// check → call → push); the waiting itself is `BoardLoop.espDelay`'s.
final class SketchContext {
    // unowned(unsafe): the device owns all three and outlives its context; a checked
    // unowned reference costs a retain and a release on every binding call
    unowned(unsafe) let board: Board
    unowned(unsafe) let network: Network
    unowned(unsafe) let plugins: PluginHost
    let callbacks: LuaCallbacks
    /// The sketch's interrupt handlers (attachInterrupt).
    let isr: ISRRunner
    /// esplua's own messages.
    let log: (String) -> Void
    /// Keeps the plugin registrar of the current Lua state alive.
    var pluginRegistrar: AnyObject?
    /// Set when the sketch received an object the core would destroy at the end of
    /// its scope (a WiFiClient from accept()): loop() returning collects garbage so
    /// an unreferenced one is released then, as C++ destructors do.
    var scopedObjectsPending = false
    /// Collects the VM's garbage when a WiFiClient the sketch dropped may still hold
    /// its ClientContext, so the heap is back as the core's would be the moment the
    /// last reference went: at a loop end when `scopedObjectsPending` or the network's
    /// schedule says so (`Network.releaseCollectionDue`), and before every heap read
    /// (`always`) while a finished handle exists, so the sketch never reads a phantom leak.
    /// `collect` runs the collection on the thread that is running (the main state
    /// between passes, the sketch's own thread inside a binding).
    func collectDroppedHandles(always: Bool = false, _ collect: () -> Void) {
        if !scopedObjectsPending && network.releaseIdle { return }  // every loop end: keep it cheap
        let now = board.clock.micros
        let due = network.releaseCollectionDue(now: now) || scopedObjectsPending
        let before = network.finishedHandles
        guard due || (always && before > 0) else { return }
        scopedObjectsPending = false
        collect()
        network.releaseCollectionDone(now: now, before: before)
    }

    /// Set when the sketch must unwind: the run ended, a restart, a crash.
    private(set) var stop: StopRequest?

    init(board: Board, network: Network, plugins: PluginHost, log: @escaping (String) -> Void) {
        self.board = board
        self.network = network
        self.plugins = plugins
        self.log = log
        callbacks = LuaCallbacks(loop: board.loop)
        isr = ISRRunner(board: board)
        isr.isStopping = { [unowned self] in self.stop != nil }
        isr.onError = { [unowned self] err in self.callbacks.onError?(err) }
        isr.onWatchdog = { [unowned self] bite in
            self.requestStop(.crash(bite == .softWatchdog ? .softWatchdog : .hardwareWatchdog, nil))
        }
    }

    var loop: BoardLoop { board.loop }

    // MARK: stopping

    /// `ADC_MODE(m)` of this boot: 33 (TOUT, the default) or 255 (VCC).
    var adcMode = 33

    /// How long the board sleeps before it wakes (`ESP.deepSleep`), with `.restart(.deepSleepAwake)`.
    private(set) var deepSleepMicros: UInt64 = 0

    /// `ESP.deepSleep(us)`: `system_deep_sleep` then `esp_suspend()` (Esp.cpp:119-131):
    /// nothing more of the sketch runs; the board wakes through its reset after `us`.
    func deepSleep(micros: UInt64) {
        deepSleepMicros = micros
        if micros == 0 {
            // 0: no timer wake-up (SDK API reference, system_deep_sleep): asleep until reset
            log("esplua: ESP.deepSleep(0): the board sleeps until it is reset; the run ends")
            requestStop(.runEnded)
            return
        }
        requestStop(.restart(.deepSleepAwake))
    }

    func requestStop(_ s: StopRequest) {
        if stop == nil { stop = s }
        board.loop.requestStop()
    }

    /// A new boot.
    func clearStop() {
        stop = nil
        adcMode = 33
    }

    /// A sketch-side allocation failed (the core's `new` aborts): the sketch crashes.
    func outOfMemory(size: Int) { requestStop(.crash(.outOfMemory(size: size), nil)) }

    /// Whether blocking calls must return now (the run is over, or stopping).
    var isStopping: Bool { stop != nil || board.loop.isStopping }

    /// Returns `LuaCall.yield` if the sketch must unwind (run over, crash, restart) and can.
    func unwindIfStopping(_ call: LuaCall) -> Int32 {
        if stop == nil && board.loop.isStopping { stop = .runEnded }
        if stop != nil && call.isYieldable { return LuaCall.yield }
        return 0
    }

    // MARK: time (the core's delay / yield / optimistic_yield, all through BoardLoop)

    /// `delay(ms)`: `esp_delay(ms)`.
    func delay(micros: UInt64, _ call: LuaCall) -> Int32 {
        board.loop.espDelay(micros)
        return unwindIfStopping(call)
    }

    /// `yield()` / `delay(0)`.
    func yieldNow(_ call: LuaCall) -> Int32 {
        board.loop.yield()
        return unwindIfStopping(call)
    }

    /// `optimistic_yield(us)`.
    func optimisticYield(_ us: UInt64) { board.loop.optimisticYield(us) }

    /// `esp_delay(timeout, blocked)` until `condition` holds (Stream's timedRead, waitForConnectResult).
    func wait(timeoutMicros: UInt64, until condition: () -> Bool) {
        board.loop.espDelay(timeoutMicros) { !condition() }
    }

    /// Queues a call of the Lua function `ref` with the arguments `push` leaves on the stack.
    /// The call is skipped if `isCurrent` says false when its turn comes (a Ticker
    /// detached meanwhile); `after` runs once it returned.
    func queueCallback(
        _ ref: Int32, isCurrent: (() -> Bool)? = nil, after: (() -> Void)? = nil, push: @escaping (LuaCall) -> Int32
    ) {
        callbacks.queue(ref, isCurrent: isCurrent, after: after, push: push)
    }
}

/// The Lua callbacks the SDK would run from its task (WiFi events, Ticker): queued, and run by the board's loop after a background pass —
/// during `delay()`, any other blocking call, or at the end of `loop()` — on the
/// thread that is blocked (as the core's scheduled functions run after each resume).
final class LuaCallbacks {
    private var pending: [(ref: Int32, isCurrent: (() -> Bool)?, after: (() -> Void)?, push: (LuaCall) -> Int32)] = []
    private var running = false
    /// The Lua state of the current boot (cleared at teardown, before the state
    /// goes); callbacks are dropped without it. Not weak: a weak reference gives the
    /// state a side table and every retain of it the slow path.
    unowned(unsafe) var state: LuaState?
    /// The thread callbacks run on when no Swift function is blocked (the end of `loop()`).
    var mainThread: OpaquePointer?
    /// Set when a callback raised an error: the sketch crashes with it.
    var onError: ((String) -> Void)?

    init(loop: BoardLoop) {
        loop.scheduled = (
            pending: { [unowned self] in !self.pending.isEmpty && !self.running },
            run: { [unowned self] in self.runPending() }
        )
    }

    func queue(
        _ ref: Int32, isCurrent: (() -> Bool)? = nil, after: (() -> Void)? = nil, push: @escaping (LuaCall) -> Int32
    ) {
        pending.append((ref, isCurrent, after, push))
    }

    func removeAll() { pending.removeAll() }

    private func runPending() {
        guard !running, let state else { return }
        // the thread of the binding that is waiting; none between two passes: the main thread
        guard let L = state.currentThread ?? mainThread else { return }
        running = true
        defer { running = false }
        let call = LuaCall(thread: L, state: state)
        while !pending.isEmpty {
            let (ref, isCurrent, after, push) = pending.removeFirst()
            if let isCurrent, !isCurrent() { continue }
            let top = call.top
            call.pushRef(ref)
            let n = push(call)
            if let err = call.protectedCall(nargs: n) {
                call.setTop(top)
                onError?(err)
                return
            }
            call.setTop(top)
            after?()
        }
    }
}
