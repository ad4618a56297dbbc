import BoardCore
import BoardNet
import FoundationEssentials
import LuaRuntime

/// Runs a sketch the way the ESP8266 core runs one (core_esp8266_main.cpp):
/// boot, the sketch's top level, `setup()` once, then `loop()` pass by pass with
/// the core's `loop_wrapper` between passes — each pass returns here, to Swift,
/// where the board's loop runs its background and, when the sketch is idle,
/// sleeps until the next event (`BoardLoop.loopEnd`). A crash prints the core's
/// dump on Serial and reboots (or ends the run with `noReboot`).
///
/// The sketch runs in a Lua coroutine. The driver (Lua) is
/// `setup(); while true do loop(); loopEnd() end`; `loopEnd` yields to here.
/// Blocking calls do not yield: they wait in `BoardLoop.espDelay` inside the
/// binding, as the core's `esp_delay` suspends inside the call. A stop (the run is
/// over, a crash, `ESP.restart()`) unwinds the coroutine by yielding from the next
/// binding or instruction hook.
final class SketchRunner {
    private let options: DeviceOptions
    private let context: SketchContext
    private var board: Board { context.board }
    private var lua: LuaState?
    /// Bytes the sketch's Lua VM holds now (its allocator's count), nil before it boots.
    var luaMemoryUsed: Int? { lua?.memoryUsed }
    private var thread: LuaThread?
    private var source: [UInt8] = []
    /// Lua instructions since the last loop() pass, as board time (pacing in real time).
    private var passMicros: UInt64 = 0
    /// VM allocations at the last yield point.
    private var seenAllocations = 0
    /// `loop()` passes completed since this boot.
    private var passesThisBoot = 0
    /// Crashes in a row with no `loop()` pass completed between them, all alike.
    private var crashLoop: (key: String, boots: Int)?

    init(options: DeviceOptions, context: SketchContext) {
        self.options = options
        self.context = context
        context.callbacks.onError = { [unowned self] err in
            self.context.requestStop(.crash(self.classify(err), err))
        }
        // a stretch of Lua work that makes data (filling a table, building strings)
        // is not idle, even without a binding call; a polling loop allocates nothing
        context.board.loop.sketchWorked = { [unowned self] in
            guard let lua = self.lua else { return false }
            let now = lua.allocationCount
            defer { self.seenAllocations = now }
            return now != self.seenAllocations
        }
    }

    /// Runs until `runFor` elapses (or a `stop` command), or with `noReboot` the first crash.
    func run() -> RunOutcome {
        if let d = options.runFor { board.loop.endAt = board.clock.micros + d }
        guard let bytes = FileManager.default.contents(atPath: options.sketchPath) else {
            return .loadFailed("\(options.sketchPath): cannot read the sketch (no such file?)")
        }
        source = Array(bytes)
        var reason = ResetReason.powerOn
        var info: ResetInfo?
        while true {
            board.boot(reason: reason, info: info)
            info = nil
            // boot takes its time in both modes (a crash loop must not spin the host)
            board.clock.advance(to: board.clock.micros + options.bootMicros)
            if reason != .powerOn { board.uart.write(Postmortem.romBanner(reason)) }
            context.clearStop()
            var crash: (Crash, String?)?
            switch bootSketch() {
            case .failure(let outcome):
                return outcome
            case .success(let error):
                if let error { crash = (classify(error), error) }
            }
            if crash == nil { crash = runPasses() }
            guard let (c, message) = crash else {
                // the run ended (or the sketch asked for a restart)
                if case .restart(let why) = context.stop ?? .runEnded {
                    crashLoop = nil
                    teardown()
                    reason = why
                    if why == .deepSleepAwake {
                        // asleep: nothing runs; virtual time jumps the sleep, real time waits it
                        board.clock.advance(to: board.clock.micros + context.deepSleepMicros)
                    }
                    continue
                }
                return .finished
            }
            let explained = message.map { APIHelp.explain($0, api: lua?.api) }
            if let explained { context.log("esplua: \(explained)") }
            board.events.publish(.crash(c.summary))
            let seed = UInt32(truncatingIfNeeded: board.clock.micros)
            board.uart.write(Postmortem.dump(c, seed: seed, location: dumpLocation(c, message)))
            info = ResetInfo(crash: c, seed: seed)
            teardown()
            if options.noReboot { return .crashed(c) }
            if let line = repeatedCrash(c, explained) { return .crashLoop(line) }
            if board.loop.isStopping && !board.loop.stopRequested { return .finished }
            if case .some(.runEnded) = context.stop { return .finished }
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
        context.callbacks.state = state
        context.callbacks.mainThread = state.L
        context.isr.state = state
        let dir = Path.directory(of: options.sketchPath)
        ArduinoAPI.install(in: state, ctx: context, sketchDirectory: dir.isEmpty ? "." : dir)
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
        // the sketch's top level: globals, requires
        passesThisBoot = 0
        if let err = state.protectedCall() {
            if case .runEnded = context.stop ?? .restart(.softRestart) { return .success(nil) }
            if case .crash(let c, let m) = context.stop { return .success(m ?? describe(c, err)) }
            if state.outOfMemory { return .success(err) }
            // an error of the top level is the sketch not loading (as a C++ sketch
            // that does not compile): one message, no dump, no reboot
            let message = err.firstRange(of: "\nstack traceback:").map { String(err[..<$0.lowerBound]) } ?? err
            return .failure(.loadFailed(APIHelp.explain(message, api: state.api)))
        }
        for name in ["setup", "loop"] {
            if !state.globalIsFunction(name) {
                return .failure(.loadFailed("\(options.sketchPath): the sketch defines no \(name)() function"))
            }
        }
        // the driver: setup() once, then loop() forever; loopEnd() hands each pass back to Swift
        let driver = "local setup, loop, loopEnd = ...; return function() setup(); while true do loop(); loopEnd() end end"
        do { try state.load(Array(driver.utf8), name: "=esplua") } catch { return .failure(.loadFailed("internal: driver")) }
        state.getGlobal("setup"); state.getGlobal("loop")
        state.push(kind: .poll) { _ in LuaCall.yield }
        if let err = state.protectedCall(nargs: 3, nresults: 1) { return .failure(.loadFailed("internal: \(err)")) }
        thread = LuaThread(state: state)
        context.isr.sketchThread = thread?.co
        return .success(nil)
    }

    /// The third crash alike in a row with no `loop()` pass completed between
    /// (a typo in `setup()`): the line esplua stops with, unless `rebootForever`.
    /// A board would reboot forever, printing a dump each time.
    private func repeatedCrash(_ c: Crash, _ message: String?) -> String? {
        let what = message.map { $0.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? $0 } ?? c.summary
        guard passesThisBoot == 0 else {
            crashLoop = nil
            return nil
        }
        let boots = crashLoop?.key == what ? crashLoop!.boots + 1 : 1
        crashLoop = (what, boots)
        guard boots >= 3, !options.rebootForever else { return nil }
        let place = message == nil ? " (\(options.sketchPath))" : ""
        return "\(what)\(place): the same crash at each of \(boots) boots, before loop() ever returned; "
            + "stopped (--reboot-forever keeps rebooting, as a board would)"
    }

    /// The sketch's `file:line function` for the dump of a Lua error the dump's
    /// header does not name already (a panic names it).
    private func dumpLocation(_ c: Crash, _ message: String?) -> String? {
        guard let message else { return nil }
        if case .panic = c { return nil }
        let (file, line, function) = Crash.sketchLocation(of: message, sketchPath: options.sketchPath)
        return line > 0 ? "\(file):\(line) \(function)" : nil
    }

    private func describe(_ c: Crash, _ err: String) -> String? {
        if case .softWatchdog = c { return nil }
        if case .hardwareWatchdog = c { return nil }
        return err
    }

    /// `setup()`, then `loop()` pass by pass, each followed by the core's
    /// loop_wrapper tail (`BoardLoop.loopEnd`), until the run ends or the sketch
    /// crashes; returns the crash, or nil when the run ended / the sketch restarts.
    private func runPasses() -> (Crash, String?)? {
        guard let thread else { return nil }
        while true {
            let outcome = thread.resume()
            switch outcome {
            case .yielded:
                if context.stop == nil { passesThisBoot += 1 }
            case .finished:
                return nil
            case .failed(let message, let oom):
                if case .crash(let c, let m) = context.stop { return (c, m) }
                if case .runEnded = context.stop { return nil }
                if case .restart = context.stop { return nil }
                let out = oom || (lua?.outOfMemory ?? false)
                return (classify(message, outOfMemory: out), out ? "out of memory: \(message)" : message)
            }
            if context.stop == nil && board.loop.isStopping { context.requestStop(.runEnded) }
            switch context.stop {
            case .crash(let c, let m): return (c, m)
            case .runEnded, .restart: return nil
            case nil: break
            }
            // between two passes: scoped and dropped objects die, the background runs, an idle board sleeps
            if let lua { context.collectDroppedHandles { lua.collectGarbage() } }
            board.loop.loopEnd(sketchMicros: passMicros)
            passMicros = 0
            if context.stop == nil && board.loop.isStopping { context.requestStop(.runEnded) }
            if case .crash(let c, let m) = context.stop { return (c, m) }
            if context.stop != nil { return nil }
        }
    }

    /// Maps an uncaught Lua error to the crash a real board would show.
    private func classify(_ message: String, outOfMemory: Bool? = nil) -> Crash {
        Crash(
            sketchError: message, sketchPath: options.sketchPath,
            outOfMemory: outOfMemory ?? lua?.outOfMemory ?? false, failedSize: lua?.failedAllocationSize ?? 0)
    }

    /// The board resets: lwIP forgets every connection first (a rebooting board
    /// sends nothing), then the VM goes, so its finalizers find nothing to close.
    func teardown() {
        context.callbacks.removeAll()
        context.callbacks.state = nil
        context.isr.clear()
        context.network.reset()
        thread = nil
        lua = nil
    }

    /// The hook (every 1000 Lua instructions, or before the next one when an
    /// interrupt latched): charges CPU time, bites with the watchdog, lets in what
    /// happened outside the CPU meanwhile (parts' timers, the waveform generator,
    /// interrupts), ends the run. Returns true to stop the sketch.
    private func instructionsRan(_ n: Int) -> Bool {
        if context.stop != nil { return true }
        if let state = lua, state.outOfMemory {
            context.requestStop(.crash(.outOfMemory(size: state.failedAllocationSize), nil))
            return true
        }
        let cost = UInt64(n) * options.board.nanosPerInstruction / 1000
        passMicros &+= cost
        if let bite = board.spendCPU(micros: cost) {
            context.requestStop(.crash(bite == .softWatchdog ? .softWatchdog : .hardwareWatchdog, nil))
            return true
        }
        if board.loop.isStopping { context.requestStop(.runEnded); return true }
        board.serviceHardware()
        return context.stop != nil
    }
}
