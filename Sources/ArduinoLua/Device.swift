import BoardCore
import BoardNet
import Foundation
import LuaRuntime

/// How a device is set up to run one sketch.
public struct DeviceOptions: Sendable {
    public var sketchPath: String
    public var board = BoardConfig()
    public var network = NetworkConfig()
    /// Exit instead of rebooting after a crash.
    public var noReboot = false
    /// End the run after this much board time (µs); nil runs forever.
    public var runFor: UInt64?
    /// Bytes the sketch's Lua VM may hold (the sketch's own allocations; separate from the heap).
    public var luaMemoryLimit = 16 * 1024 * 1024
    /// Board time from reset to `setup()` (ROM, bootloader, SDK start-up); an estimate.
    public var bootMicros: UInt64 = 60_000
    /// Board time charged per return of `loop()` (the core's loop_wrapper and task switch).
    public var loopOverheadMicros: UInt64 = 10
    /// The world file; nil looks for `<sketch>.world.json` beside the sketch.
    public var worldPath: String?
    /// The wiring file; nil looks for `<sketch>.wiring.json` beside the sketch.
    public var wiringPath: String?
    /// Extra plugin folders (searched before $ESPLUA_PLUGIN_PATH and the build folder).
    public var pluginPaths: [String] = []
    /// The folder SwiftPM put the built plugins in (default: beside the executable).
    public var pluginBuildFolder: String? = PluginHost.executableFolder
    /// The flash image file (`--flash`), created blank if missing; nil keeps flash in memory.
    public var flashPath: String?
    /// Called with each fresh Lua state after the Arduino API is installed (benchmarks, tools).
    public var prepareLua: (@Sendable (LuaState) -> Void)?
    /// Control changes from the command line (`--set part.control=value[@time]`), after the wiring file's.
    public var controlChanges: [Wiring.Change] = []

    public init(sketchPath: String) { self.sketchPath = sketchPath }
}

/// What ended a run.
public enum RunOutcome: Equatable, Sendable {
    /// `--for` elapsed.
    case finished
    /// The sketch crashed and `noReboot` was set.
    case crashed(Crash)
    /// The sketch could not be loaded (missing, syntax error, no setup/loop).
    case loadFailed(String)
}

/// Why the sketch's coroutine was asked to stop.
enum StopRequest {
    case runEnded
    case restart
    case crash(Crash, String?)
}

/// An ESP8266 running one Lua sketch: the board, its network, the Lua VM, and the
/// outer loop that boots, runs `setup()`/`loop()`, and reboots after a crash.
public final class Device {
    public let options: DeviceOptions
    public let board: Board
    public let network: Network
    public let plugins: PluginHost
    var pluginRegistrar: AnyObject?
    /// esplua's own messages (stderr by default).
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    var lua: LuaState?
    var thread: LuaThread?
    var stop: StopRequest?
    var endAt: UInt64 = .max
    var lastYield: UInt64 = 0
    /// Set when the sketch received an object the core would destroy at the end of
    /// its scope (a WiFiClient from accept()): loop() returning collects garbage so
    /// an unreferenced one is released then, as C++ destructors do.
    var scopedObjectsPending = false
    private var source: [UInt8] = []
    /// The sketch's native call that is running the board right now (delay, yield,
    /// a blocking connect…): Lua callbacks (WiFi events) run on its thread.
    private var activeCall: LuaCall?
    private var pendingCallbacks: [(ref: Int32, push: (LuaCall) -> Int32)] = []
    private var dispatching = false

    public init(options: DeviceOptions, serialSink: @escaping (UnsafeRawBufferPointer) -> Void = standardOutputSink) throws {
        var options = options
        if let path = options.worldPath ?? Device.worldBeside(options.sketchPath) {
            do { options.network.world = try World.load(path: path) } catch { throw NetworkError.worldFailed(error.description) }
            options.worldPath = path
        }
        var wiring = Wiring()
        if let path = options.wiringPath ?? Wiring.beside(options.sketchPath) {
            wiring = try Wiring.load(path: path)
            options.wiringPath = path
        }
        self.options = options
        board = Board(config: options.board, serialSink: serialSink)
        if let f = options.flashPath { board.flash = try Flash(path: f) }
        plugins = PluginHost(board: board, extraDirectories: options.pluginPaths, buildFolder: options.pluginBuildFolder)
        network = try Network(board: board, config: options.network)
        plugins.log = { [unowned self] in self.log($0) }
        for p in wiring.parts {
            do { try plugins.addPart(type: p.part, name: p.name, settings: p.settings, controls: p.controls) } catch {
                network.shutdown()
                throw error
            }
        }
        for change in options.controlChanges where plugins.part(named: change.part) == nil {
            network.shutdown()
            throw Wiring.LoadError(description: "--set \(change.part).\(change.control): there is no part named '\(change.part)'")
        }
        for change in wiring.schedule + options.controlChanges {
            let apply = { [unowned self] in
                if !(self.plugins.part(named: change.part)?.set(change.control, change.value) ?? false) {
                    self.log("esplua: \(change.part) has no control '\(change.control)'")
                }
            }
            // at 0 the part starts that way; later changes come in the board's loop
            if change.at == 0 { apply() } else { _ = board.timers.schedule(at: change.at, apply) }
        }
        network.onVisit = { [unowned self] r in self.log("esplua: world: \(r)") }
        network.onSketchOutOfMemory = { [unowned self] size in
            self.requestStop(.crash(.outOfMemory(size: size), nil))
        }
        // Calibrate so getFreeHeap() at setup() matches the measured board, with
        // lwIP's boot-time allocations (timers, DNS pcb) already inside.
        board.heap.calibrate(freeBytes: options.board.freeHeapAtBoot)
        board.addSource(CallbackSource(device: self))
    }

    /// Runs queued Lua callbacks from the board's loop, on the thread of the call
    /// that is running the loop (as the SDK runs event callbacks inside `delay`).
    private final class CallbackSource: EventSource {
        unowned let device: Device
        init(device: Device) { self.device = device }
        func service(now: UInt64) { device.dispatchCallbacks() }
        func nextDeadline(now: UInt64) -> UInt64? { nil }
    }

    /// Queues a call of the Lua function `ref` with the arguments `push` leaves on the stack.
    func queueCallback(_ ref: Int32, push: @escaping (LuaCall) -> Int32) {
        pendingCallbacks.append((ref, push))
    }

    private func dispatchCallbacks() {
        guard !dispatching, stop == nil, let call = activeCall, !pendingCallbacks.isEmpty else { return }
        dispatching = true
        defer { dispatching = false }
        while stop == nil, !pendingCallbacks.isEmpty {
            let (ref, push) = pendingCallbacks.removeFirst()
            let top = call.top
            call.pushRef(ref)
            let n = push(call)
            if let err = call.protectedCall(nargs: n) {
                requestStop(.crash(classify(err, outOfMemory: lua?.outOfMemory ?? false), err))
            }
            call.setTop(top)
        }
    }

    /// Runs `body` (which runs the board) with `call` as the thread for callbacks.
    func blocking<T>(_ call: LuaCall, _ body: () -> T) -> T {
        let previous = activeCall
        activeCall = call
        defer { activeCall = previous }
        dispatchCallbacks()
        return body()
    }

    /// A sketch-side allocation failed (the core's `new` aborts): the sketch crashes.
    func outOfMemory(size: Int) {
        requestStop(.crash(.outOfMemory(size: size), nil))
    }

    /// Lets blocking waits in the network end early when the run is stopping.
    var isStopping: Bool { stop != nil || board.clock.micros >= endAt }

    /// `<sketch>.world.json` beside `sketchPath`, if there is one.
    public static func worldBeside(_ sketchPath: String) -> String? {
        let base = sketchPath.hasSuffix(".lua") ? String(sketchPath.dropLast(4)) : sketchPath
        let path = base + ".world.json"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    func requestStop(_ s: StopRequest) {
        if stop == nil { stop = s }
    }

    /// Runs until `runFor` elapses, or (with `noReboot`) the first crash.
    public func run() -> RunOutcome {
        if let d = options.runFor { endAt = board.clock.micros + d }
        guard let bytes = FileManager.default.contents(atPath: options.sketchPath) else {
            return .loadFailed("\(options.sketchPath): cannot read the sketch (no such file?)")
        }
        source = Array(bytes)
        var reason = ResetReason.powerOn
        while true {
            board.boot(reason: reason)
            // boot takes its time in both modes (a crash loop must not spin the host)
            board.clock.advance(to: board.clock.micros + options.bootMicros)
            if reason != .powerOn { board.uart.write(Postmortem.romBanner(reason)) }
            stop = nil
            var crash: (Crash, String?)?
            switch bootSketch() {
            case .failure(let outcome):
                return outcome
            case .success(let error):
                if let error { crash = (classify(error, outOfMemory: lua?.outOfMemory ?? false), error) }
            }
            if crash == nil { crash = runSketch() }
            guard let (c, message) = crash else {
                // the run ended (or the sketch asked for a restart)
                if case .restart = stop ?? .runEnded {
                    teardown()
                    reason = .softRestart
                    continue
                }
                return .finished
            }
            if let message { log("esplua: \(message)") }
            board.uart.write(Postmortem.dump(c, seed: UInt32(truncatingIfNeeded: board.clock.micros)))
            teardown()
            if options.noReboot { return .crashed(c) }
            if board.clock.micros >= endAt { return .finished }
            reason = c.resetReason
        }
    }

    private enum BootResult { case success(String?), failure(RunOutcome) }

    /// Loads the sketch into a fresh VM and runs its top level; returns a runtime error message if it crashed.
    private func bootSketch() -> BootResult {
        guard let state = LuaState(memoryLimit: options.luaMemoryLimit) else {
            return .failure(.loadFailed("cannot create a Lua state"))
        }
        lua = state
        let dir = (options.sketchPath as NSString).deletingLastPathComponent
        ArduinoAPI.install(in: state, device: self, sketchDirectory: dir.isEmpty ? "." : dir)
        options.prepareLua?(state)
        do {
            try state.load(source, name: options.sketchPath)
        } catch {
            switch error {
            case .syntax(let m), .memory(let m): return .failure(.loadFailed(m))
            }
        }
        state.onInstructions = { [unowned self] n in self.instructionsRan(n) }
        state.installHook(interval: 1000)
        lastYield = board.clock.micros
        // the sketch's top level: globals, requires
        if let err = state.protectedCall() {
            if case .runEnded = stop ?? .restart { return .success(nil) }
            if case .crash(let c, let m) = stop { return .success(m ?? describe(c, err)) }
            return .success(err)
        }
        for name in ["setup", "loop"] {
            if !state.globalIsFunction(name) {
                return .failure(.loadFailed("\(options.sketchPath): the sketch defines no \(name)() function"))
            }
        }
        // the driver: setup() once, then loop() forever, with the core's loop_wrapper in between
        let driver = "local setup, loop, loopEnd = ...; return function() setup(); while true do loop(); loopEnd() end end"
        do { try state.load(Array(driver.utf8), name: "=esplua") } catch { return .failure(.loadFailed("internal: driver")) }
        state.getGlobal("setup"); state.getGlobal("loop")
        state.push { [unowned self] call in self.loopReturned(call) }
        if let err = state.protectedCall(nargs: 3, nresults: 1) { return .failure(.loadFailed("internal: \(err)")) }
        thread = LuaThread(state: state)
        return .success(nil)
    }

    private func describe(_ c: Crash, _ err: String) -> String? {
        if case .softWatchdog = c { return nil }
        if case .hardwareWatchdog = c { return nil }
        return err
    }

    /// Resumes the sketch until it stops; returns the crash, or nil when the run ended/restarts.
    private func runSketch() -> (Crash, String?)? {
        guard let thread else { return nil }
        switch thread.resume() {
        case .yielded, .finished:
            break
        case .failed(let message, let oom):
            if case .crash(let c, let m) = stop { return (c, m) }
            if case .runEnded = stop { return nil }
            if case .restart = stop { return nil }
            let out = oom || (lua?.outOfMemory ?? false)
            return (classify(message, outOfMemory: out), out ? "out of memory: \(message)" : message)
        }
        switch stop {
        case .crash(let c, let m): return (c, m)
        case .runEnded, .restart, nil: return nil
        }
    }

    /// Maps an uncaught Lua error to the crash a real board would show.
    func classify(_ message: String, outOfMemory: Bool) -> Crash {
        if outOfMemory { return .outOfMemory(size: lua?.failedAllocationSize ?? 0) }
        let first = message.split(separator: "\n").first.map(String.init) ?? message
        if first.contains("attempt to index a nil value") || first.contains("attempt to call a nil value") {
            return .exception(cause: 28, epc1: 0x4020_1a2c, excvaddr: 0)      // LoadProhibited
        }
        if first.contains("attempt to perform 'n//0'") || first.contains("attempt to perform 'n%%0'") {
            return .exception(cause: 6, epc1: 0x4000_dce5, excvaddr: 0)       // IntegerDivideByZero
        }
        var file = options.sketchPath, line = 0
        let parts = first.split(separator: ":", maxSplits: 2)
        if parts.count >= 2, let l = Int(parts[1]) { file = String(parts[0]); line = l }
        var function = "?"
        if let r = message.range(of: "in function '") ?? message.range(of: "in local '") {
            function = String(message[r.upperBound...].prefix { $0 != "'" })
        } else if message.contains("in main chunk") {
            function = "main chunk"
        }
        return .panic(file: file, line: line, function: function)
    }

    /// The board resets: lwIP forgets every connection first (a rebooting board
    /// sends nothing), then the VM goes, so its finalizers find nothing to close.
    private func teardown() {
        pendingCallbacks.removeAll()
        activeCall = nil
        network.reset()
        thread = nil
        lua = nil
    }

    /// Releases the network (host sockets, forwards). The device cannot run again.
    public func shutdown() {
        teardown()
        network.shutdown()
        plugins.unloadAll()
        board.flash.sync()
    }

    // MARK: time and yields (the core's esp_delay / optimistic_yield / loop_wrapper)

    /// The hook: charges CPU time, bites with the watchdog, ends the run.
    private func instructionsRan(_ n: Int) -> Bool {
        if stop != nil { return true }
        if let state = lua, state.outOfMemory {
            requestStop(.crash(.outOfMemory(size: state.failedAllocationSize), nil))
            return true
        }
        let cost = UInt64(n) * options.board.nanosPerInstruction / 1000
        if let bite = board.spendCPU(micros: cost) {
            requestStop(.crash(bite == .softWatchdog ? .softWatchdog : .hardwareWatchdog, nil))
            return true
        }
        if board.clock.micros >= endAt { requestStop(.runEnded); return true }
        return false
    }

    /// Returns `LuaCall.yield` if the sketch must unwind (run over, crash, restart) and can.
    func unwindIfStopping(_ call: LuaCall) -> Int32 {
        if stop == nil && board.clock.micros >= endAt { requestStop(.runEnded) }
        if stop != nil && call.isYieldable { return LuaCall.yield }
        return 0
    }

    /// `delay(ms)`: runs the board's background until the time is up.
    func delay(micros: UInt64, _ call: LuaCall) -> Int32 {
        board.feedWatchdog()
        let wake = board.clock.micros + micros
        blocking(call) { board.runBackground(until: min(wake, endAt)) { self.stop != nil } }
        board.feedWatchdog()
        lastYield = board.clock.micros
        return unwindIfStopping(call)
    }

    /// `yield()` / `delay(0)`: one pass of background work.
    func yieldNow(_ call: LuaCall) -> Int32 {
        board.feedWatchdog()
        blocking(call) { board.yieldOnce() }
        lastYield = board.clock.micros
        return unwindIfStopping(call)
    }

    /// End of `loop()`: the core feeds the watchdog and lets the system run.
    private func loopReturned(_ call: LuaCall) -> Int32 {
        board.clock.spend(options.loopOverheadMicros)
        if scopedObjectsPending {
            scopedObjectsPending = false
            call.state.collectGarbage()
        }
        return yieldNow(call)
    }

    /// `optimistic_yield(us)`: yields only if `us` passed since the last yield.
    func optimisticYield(_ us: UInt64) {
        if board.clock.micros &- lastYield > us {
            board.yieldOnce()
            lastYield = board.clock.micros
        }
    }

    /// Runs the background until `condition` holds or `timeout` passes (Stream's timedRead, connect).
    func wait(_ call: LuaCall, timeoutMicros: UInt64, until condition: () -> Bool) {
        let deadline = min(board.clock.micros + timeoutMicros, endAt)
        board.feedWatchdog()
        blocking(call) { board.runBackground(until: deadline) { condition() || self.stop != nil } }
        board.feedWatchdog()
        lastYield = board.clock.micros
    }
}
