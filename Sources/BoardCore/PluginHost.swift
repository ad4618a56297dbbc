import CPluginABI
import FoundationEssentials
import Glibc

/// What the host needs from the Lua side (ArduinoLua implements it).
public protocol PluginModuleRegistrar: AnyObject {
    func register(module: UnsafePointer<esplua_module>, state: UnsafeMutableRawPointer?, plugin: LoadedPlugin) -> Bool
}

/// One call from the sketch into a plugin function, as the Lua side presents it.
public protocol PluginCall: AnyObject {
    var argumentCount: Int { get }
    func integer(_ i: Int) -> Int64?
    func number(_ i: Int) -> Double?
    func boolean(_ i: Int) -> Bool?
    func bytes(_ i: Int) -> UnsafeRawBufferPointer?
    func isNil(_ i: Int) -> Bool
    func object(_ i: Int, className: String) -> UnsafeMutableRawPointer?
    func push(integer: Int64)
    func push(number: Double)
    func push(boolean: Bool)
    func push(bytes: UnsafeRawBufferPointer)
    func pushNil()
    func push(object: UnsafeMutableRawPointer?, className: String)
    func pushTable()
    func setField(_ key: String, integer: Int64)
    func setField(_ key: String, number: Double)
    func setField(_ key: String, bytes: UnsafeRawBufferPointer)
    func setField(_ key: String, boolean: Bool)
    /// Records a Lua error; the function's return value tells the caller to raise it.
    func fail(_ message: String) -> Int32
    /// Records a Lua argument error for argument `i` (from 1, as the plugin counts):
    /// "bad argument #i to 'name' (message)".
    func failArgument(_ i: Int, _ message: String) -> Int32
}

/// A started plugin.
public final class LoadedPlugin {
    public let library: PluginLibrary
    public internal(set) var state: UnsafeMutableRawPointer?
    init(library: PluginLibrary) { self.library = library }
    public var name: String { library.name }
}

/// A part placed by the wiring file.
public final class Part {
    public let name: String
    public let type: String
    /// Its wiring settings as text, by key (`pin`: `2`, `address`: `0x76`): where it is wired.
    public let settings: [String: String]
    let plugin: LoadedPlugin
    let partType: UnsafePointer<esplua_part_type>
    let handle: UnsafeMutableRawPointer

    init(
        name: String, type: String, settings: [String: String] = [:], plugin: LoadedPlugin, partType: UnsafePointer<esplua_part_type>,
        handle: UnsafeMutableRawPointer
    ) {
        self.name = name; self.type = type; self.settings = settings; self.plugin = plugin; self.partType = partType; self.handle = handle
    }

    /// Its type's controls, and what the plugin says of them (ABI 1.2).
    public var info: PluginLibrary.PartInfo? { plugin.library.parts.first { $0.name == type } }

    /// Sets a control (a temperature, a button); false if the part has no such control.
    @discardableResult
    public func set(_ control: String, _ value: Double) -> Bool {
        guard let f = partType.pointee.set_control else { return false }
        return f(plugin.state, handle, control, value) == 0
    }

    public func get(_ control: String) -> Double? {
        guard let f = partType.pointee.get_control else { return nil }
        var v = 0.0
        return f(plugin.state, handle, control, &v) == 0 ? v : nil
    }
}

/// The board side of the plugin ABI: finds plugins on the search path, checks
/// their ABI, starts them with the host function table, places their parts.
public final class PluginHost {
    public let board: Board
    /// Directories searched, in order: `--plugin-path`, $ESPLUA_PLUGIN_PATH, the build folder.
    public let searchPath: [(directory: String, buildFolder: Bool)]
    public weak var registrar: PluginModuleRegistrar?
    /// Messages from plugins (stderr by default).
    public var log: (String) -> Void = { writeStandardError($0 + "\n") }
    public private(set) var loaded: [LoadedPlugin] = []
    public private(set) var parts: [Part] = []
    private var libraries: [PluginLibrary]?
    private var problems: [PluginError] = []
    let table: UnsafeMutablePointer<esplua_host>
    var timers: [UInt64: Timers.ID] = [:]
    var listeners: [UInt64: Int] = [:]
    var charges: [UInt64: Int32] = [:]
    var uartTaps: [UInt64: Int] = [:]
    private var nextHandle: UInt64 = 1
    /// The plugin whose code is running (for log prefixes).
    var current: String = "plugin"

    public init(
        board: Board, extraDirectories: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment,
        buildFolder: String? = PluginHost.executableFolder
    ) {
        self.board = board
        var path: [(String, Bool)] = extraDirectories.map { ($0, false) }
        if let env = environment["ESPLUA_PLUGIN_PATH"] {
            path += env.split(separator: ":").map { (String($0), false) }
        }
        if let b = buildFolder { path.append((b, true)) }
        searchPath = path
        table = .allocate(capacity: 1)
        table.initialize(to: PluginHost.makeTable())
    }

    deinit {
        unloadAll()
        table.deallocate()
    }

    /// The folder of the running executable (SwiftPM puts plugin products beside it).
    public static var executableFolder: String? {
        guard let exe = BoardCore.executablePath else { return nil }
        return Path.directory(of: exe)
    }

    var boardPointer: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }
    static func host(_ p: OpaquePointer?) -> PluginHost { Unmanaged<PluginHost>.fromOpaque(UnsafeRawPointer(p!)).takeUnretainedValue() }

    // MARK: discovery

    /// Every plugin on the search path, and the files that could not be used.
    public func discover() -> (libraries: [PluginLibrary], problems: [PluginError]) {
        if let libraries { return (libraries, problems) }
        var found: [PluginLibrary] = []
        var names: Set<String> = []
        for (dir, build) in searchPath {
            for file in PluginLibrary.candidates(in: dir, buildFolder: build) {
                do {
                    let lib = try PluginLibrary(path: file)
                    if names.insert(lib.name).inserted { found.append(lib) }  // the first on the path wins
                } catch { problems.append(error) }
            }
        }
        libraries = found
        return (found, problems)
    }

    /// Starts (once) the plugin providing `module`; nil if none does.
    public func plugin(providingModule module: String) throws(PluginError) -> LoadedPlugin? {
        if let p = loaded.first(where: { $0.library.moduleNames.contains(module) }) { return p }
        guard let lib = discover().libraries.first(where: { $0.moduleNames.contains(module) }) else { return nil }
        return try start(lib)
    }

    /// Registers `module` (from its plugin) with the Lua side; false if no plugin provides it.
    public func registerModule(_ module: String) throws(PluginError) -> Bool {
        guard let p = try plugin(providingModule: module) else { return false }
        guard let m = p.library.modules.first(where: { String(cString: $0.pointee.name) == module }) else { return false }
        return registrar?.register(module: m, state: p.state, plugin: p) ?? false
    }

    private func start(_ lib: PluginLibrary) throws(PluginError) -> LoadedPlugin {
        if let p = loaded.first(where: { $0.library === lib }) { return p }
        let p = LoadedPlugin(library: lib)
        let initFn = unsafeBitCast(dlsym(lib.handle, "esplua_plugin_init"), to: esplua_plugin_init_fn.self)
        var state: UnsafeMutableRawPointer?
        current = lib.name
        let rc = initFn(table, boardPointer, &state)
        guard rc == 0 else { throw .initFailed(path: lib.path, code: rc) }
        p.state = state
        loaded.append(p)
        return p
    }

    // MARK: parts

    /// Places a part of type `type` with its wiring settings; its controls start at `controls`.
    @discardableResult
    public func addPart(type: String, name: String, settings: [String: Any], controls: [String: Double] = [:]) throws(PluginError) -> Part {
        let libs = discover().libraries
        guard let lib = libs.first(where: { $0.parts.contains { $0.name == type } }) else {
            throw .unknownPart(type, known: libs.flatMap { $0.parts.map(\.name) }.sorted())
        }
        let plugin = try start(lib)
        let pt = lib.partTypes.first { String(cString: $0.pointee.name) == type }!
        let config = PartConfig(settings)
        let box = Unmanaged.passRetained(config)
        defer { box.release() }
        current = lib.name
        guard let create = pt.pointee.create,
            let handle = create(plugin.state, boardPointer, OpaquePointer(box.toOpaque()))
        else {
            throw .badPart(name, config.problem ?? "its plugin refused the settings (see the message above)")
        }
        let part = Part(name: name, type: type, settings: Self.text(settings), plugin: plugin, partType: pt, handle: handle)
        for (k, v) in controls where !part.set(k, v) {
            let known = lib.parts.first { $0.name == type }?.controls ?? []
            throw .badPart(name, "no control '\(k)' (controls: \(known.joined(separator: ", ")))")
        }
        parts.append(part)
        return part
    }

    public func part(named name: String) -> Part? { parts.first { $0.name == name } }

    /// Wiring settings as text: strings as they are, whole numbers without a fraction.
    static func text(_ settings: [String: Any]) -> [String: String] {
        settings.compactMapValues { v in
            switch v {
            case let s as String: return s
            case let b as Bool: return b ? "true" : "false"
            case let i as Int: return String(i)
            case let d as Double: return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
            default: return nil
            }
        }
    }

    /// Destroys parts and plugins (end of the run).
    public func unloadAll() {
        for part in parts.reversed() { part.partType.pointee.destroy?(part.plugin.state, part.handle) }
        parts.removeAll()
        for p in loaded.reversed() {
            let destroy = unsafeBitCast(dlsym(p.library.handle, "esplua_plugin_destroy"), to: esplua_plugin_destroy_fn.self)
            destroy(p.state)
        }
        loaded.removeAll()
        board.i2c.detachAll()
        board.spi.detachAll()
        for t in timers.values { board.timers.cancel(t) }
        timers.removeAll()
        for l in listeners.values { board.pins.unlisten(l) }
        listeners.removeAll()
        for t in uartTaps.values { board.uart.untap(t) }
        uartTaps.removeAll()
    }

    func newHandle() -> UInt64 { defer { nextHandle += 1 }; return nextHandle }
}
