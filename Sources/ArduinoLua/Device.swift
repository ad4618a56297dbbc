import BoardCore
import BoardNet
import FoundationEssentials
import LuaRuntime

/// How a device is set up to run one sketch.
public struct DeviceOptions: Sendable {
    public var sketchPath: String
    public var board = BoardConfig()
    public var network = NetworkConfig()
    /// Exit instead of rebooting after a crash.
    public var noReboot = false
    /// Reboot even after the third crash alike in a row with no `loop()` pass
    /// between (a board does); otherwise the run ends with `.crashLoop`.
    public var rebootForever = false
    /// End the run after this much board time (µs); nil runs forever.
    public var runFor: UInt64?
    /// Bytes the sketch's Lua VM may hold (the sketch's own allocations; separate from the heap).
    public var luaMemoryLimit = 16 * 1024 * 1024
    /// Board time from reset to `setup()` (ROM, bootloader, SDK start-up); an estimate.
    public var bootMicros: UInt64 = 60_000
    /// Board time charged per return of `loop()` (the core's loop_wrapper and task switch).
    public var loopOverheadMicros: UInt64 = 10
    /// Every `loop()` pass costs its board time, none is skipped while idle (`--pace-loop`).
    public var paceLoop = false
    /// The world file; nil looks for `<sketch>.world.json` beside the sketch; `none` uses none.
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
    /// `--for` elapsed, or a `stop` command came.
    case finished
    /// The sketch crashed and `noReboot` was set.
    case crashed(Crash)
    /// The sketch could not be loaded (missing, syntax error, an error in its top
    /// level, no setup/loop).
    case loadFailed(String)
    /// The sketch crashed alike at three boots in a row before a `loop()` pass
    /// completed (and `rebootForever` was not set): the line that says so.
    case crashLoop(String)
}

/// An ESP8266 running one Lua sketch: the board, its network, its parts, and the
/// sketch runner (`SketchRunner`: boot, `setup()`, `loop()` pass by pass, reboot
/// after a crash).
public final class Device {
    public let options: DeviceOptions
    public let board: Board
    public let network: Network
    public let plugins: PluginHost
    /// esplua's own messages (stderr by default). Also published as `.log` events.
    public var log: (String) -> Void = { writeStandardError($0 + "\n") }
    let context: SketchContext
    private var runner: SketchRunner?

    public init(options: DeviceOptions, serialSink: @escaping (UnsafeRawBufferPointer) -> Void = standardOutputSink) throws {
        var options = options
        let world = try DeviceSetup.world(&options)
        let wiring = try DeviceSetup.wiring(&options)
        self.options = options
        board = Board(config: options.board, serialSink: serialSink)
        board.loop.loopOverheadMicros = options.loopOverheadMicros
        board.loop.pacing = options.paceLoop
        if let f = options.flashPath { board.flash = try Flash(path: f) }
        plugins = PluginHost(board: board, extraDirectories: options.pluginPaths, buildFolder: options.pluginBuildFolder)
        var networkConfig = options.network
        if let world { networkConfig.world = world }
        network = try Network(board: board, config: networkConfig)
        // messages go through `log`, which the owner may replace after init
        var logger: ((String) -> Void)?
        context = SketchContext(board: board, network: network, plugins: plugins) { logger?($0) }
        logger = { [unowned self] line in
            self.board.events.publish(.log(line))
            self.log(line)
        }
        plugins.log = { [unowned self] in self.context.log($0) }
        do {
            try DeviceSetup.parts(wiring, changes: options.controlChanges, plugins: plugins, board: board, log: context.log)
        } catch {
            network.shutdown()
            throw error
        }
        network.onVisit = { [unowned self] r in
            self.board.events.publish(.visit(r.description))
            self.log("esplua: world: \(r)")
        }
        network.onSyslog = { [unowned self] line in
            self.board.events.publish(.log("world: syslog \(line)"))
            self.log("esplua: world: syslog \(line)")
        }
        network.onSketchOutOfMemory = { [unowned self] size in self.context.outOfMemory(size: size) }
        // the inbox's `reset`: the reset button, as on a board (the sketch unwinds, the board boots)
        board.loop.commandHandlers.append { [unowned self] command in
            guard case .reset = command else { return false }
            self.context.requestStop(.restart(.externalSystem))
            return true
        }
        // Calibrate so getFreeHeap() at setup() matches the measured board, with
        // lwIP's boot-time allocations (timers, DNS pcb) already inside.
        board.heap.calibrate(freeBytes: options.board.freeHeapAtBoot)
    }

    /// Runs until `runFor` elapses (or a `stop` command), or with `noReboot` the first crash.
    public func run() -> RunOutcome {
        let runner = SketchRunner(options: options, context: context)
        self.runner = runner
        return runner.run()
    }

    /// Bytes the sketch's Lua VM holds now (capped apart from the 50 KB heap,
    /// `ESP.getLuaMemory()`), nil before the first boot. The board's thread.
    public var luaMemoryUsed: Int? { runner?.luaMemoryUsed }

    /// Releases the network (host sockets, forwards). The device cannot run again.
    public func shutdown() {
        runner?.teardown()
        network.shutdown()
        plugins.unloadAll()
        board.flash.sync()
    }
}

/// Setting a device up from its files: the world, the wiring, the parts and the
/// control schedule.
enum DeviceSetup {
    /// `<sketch>.world.json` beside `sketchPath`, if there is one.
    static func worldBeside(_ sketchPath: String) -> String? {
        let base = sketchPath.hasSuffix(".lua") ? String(sketchPath.dropLast(4)) : sketchPath
        let path = base + ".world.json"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// The world file named in `options` or beside the sketch (recorded in `options`).
    /// `none` (`--world none`) runs without one, even with a file beside the sketch.
    static func world(_ options: inout DeviceOptions) throws -> World? {
        if options.worldPath == "none" { return nil }
        guard let path = options.worldPath ?? worldBeside(options.sketchPath) else { return nil }
        let world: World
        do { world = try World.load(path: path) } catch { throw NetworkError.worldFailed(error.description) }
        options.worldPath = path
        return world
    }

    /// The wiring file named in `options` or beside the sketch (recorded in `options`).
    static func wiring(_ options: inout DeviceOptions) throws -> Wiring {
        guard let path = options.wiringPath ?? Wiring.beside(options.sketchPath) else { return Wiring() }
        let wiring = try Wiring.load(path: path)
        options.wiringPath = path
        return wiring
    }

    /// Places the wiring's parts and schedules its control changes and `--set`'s.
    static func parts(
        _ wiring: Wiring, changes: [Wiring.Change], plugins: PluginHost, board: Board,
        log: @escaping (String) -> Void
    ) throws {
        for p in wiring.parts {
            try plugins.addPart(type: p.part, name: p.name, settings: p.settings, controls: p.controls)
        }
        for change in changes where plugins.part(named: change.part) == nil {
            throw Wiring.LoadError(description: "--set \(change.part).\(change.control): there is no part named '\(change.part)'")
        }
        let set: (String, String, Double) -> Bool = { [unowned plugins, unowned board] part, control, value in
            guard plugins.part(named: part)?.set(control, value) ?? false else { return false }
            board.events.publish(.control(part: part, control: control, value: value))
            return true
        }
        for change in wiring.schedule + changes {
            let apply = {
                if !set(change.part, change.control, change.value) { log("esplua: \(change.part) has no control '\(change.control)'") }
            }
            // at 0 the part starts that way; later changes come at their time, even while
            // the sketch computes (the world does not wait for a delay())
            if change.at == 0 { apply() } else { _ = board.timers.schedule(at: change.at, hardware: true, apply) }
        }
        // the inbox's `setControl` commands (the dashboard, a test)
        board.loop.commandHandlers.append { command in
            guard case .setControl(let part, let control, let value) = command else { return false }
            if !set(part, control, value) { log("esplua: there is no control '\(part).\(control)'") }
            return true
        }
    }
}
