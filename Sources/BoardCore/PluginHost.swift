import CPluginABI
import FoundationEssentials
import Glibc

/// Why a plugin could not be used; one sentence, naming the file.
public enum PluginError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, why: String)
    case notAPlugin(path: String)
    case wrongABI(path: String, expected: UInt32, found: UInt32)
    case initFailed(path: String, code: Int32)
    case unknownModule(String)
    case unknownPart(String, known: [String])
    case badPart(String, String)

    static func version(_ v: UInt32) -> String { "\(v >> 16).\(v & 0xffff)" }

    public var description: String {
        switch self {
        case .cannotOpen(let p, let why): return "cannot load the plugin \(p): \(why)"
        case .notAPlugin(let p): return "\(p) is not an esplua plugin (it does not export esplua_plugin_abi and esplua_plugin_describe)"
        case .wrongABI(let p, let e, let f):
            return
                "the plugin \(p) was built for plugin ABI \(PluginError.version(f)), but this esplua provides ABI \(PluginError.version(e)) (rebuild it against this esplua_plugin.h)"
        case .initFailed(let p, let c): return "the plugin \(p) failed to start (esplua_plugin_init returned \(c))"
        case .unknownModule(let m): return "no plugin provides the module '\(m)'"
        case .unknownPart(let p, let known):
            return "no plugin provides the part '\(p)'" + (known.isEmpty ? "" : " (known parts: \(known.joined(separator: ", ")))")
        case .badPart(let p, let why): return "part '\(p)': \(why)"
        }
    }
}

/// A plugin library found on the search path (opened, described, not started).
public final class PluginLibrary {
    public let path: String
    let handle: UnsafeMutableRawPointer
    let info: UnsafePointer<esplua_plugin_info>
    public let abi: UInt32

    public var name: String { String(cString: info.pointee.name) }
    public var version: String { info.pointee.version.map { String(cString: $0) } ?? "" }
    public var summary: String { info.pointee.summary.map { String(cString: $0) } ?? "" }

    public var moduleNames: [String] { modules.map { String(cString: $0.pointee.name) } }
    var modules: [UnsafePointer<esplua_module>] {
        guard var m = info.pointee.modules else { return [] }
        var out: [UnsafePointer<esplua_module>] = []
        while m.pointee.name != nil { out.append(m); m += 1 }
        return out
    }

    public struct PartInfo { public let name: String; public let summary: String; public let controls: [String] }
    public var parts: [PartInfo] {
        partTypes.map { p in
            var controls: [String] = []
            if var c = p.pointee.controls { while let s = c.pointee { controls.append(String(cString: s)); c += 1 } }
            return PartInfo(name: String(cString: p.pointee.name), summary: p.pointee.summary.map { String(cString: $0) } ?? "", controls: controls)
        }
    }
    var partTypes: [UnsafePointer<esplua_part_type>] {
        guard var p = info.pointee.parts else { return [] }
        var out: [UnsafePointer<esplua_part_type>] = []
        while p.pointee.name != nil { out.append(p); p += 1 }
        return out
    }

    /// Opens `path` and checks its ABI; throws one clear sentence otherwise.
    public init(path: String) throws(PluginError) {
        self.path = path
        guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw .cannotOpen(path: path, why: dlerror().map { String(cString: $0) } ?? "unknown error")
        }
        guard let abiSymbol = dlsym(h, "esplua_plugin_abi"), let describe = dlsym(h, "esplua_plugin_describe"),
            dlsym(h, "esplua_plugin_init") != nil, dlsym(h, "esplua_plugin_destroy") != nil
        else {
            dlclose(h)
            throw .notAPlugin(path: path)
        }
        let found = abiSymbol.load(as: UInt32.self)
        let host = esplua_host_abi()
        guard found >> 16 == host >> 16, found & 0xffff <= host & 0xffff else {
            dlclose(h)
            throw .wrongABI(path: path, expected: host, found: found)
        }
        let fn = unsafeBitCast(describe, to: esplua_plugin_describe_fn.self)
        guard let info = fn() else { dlclose(h); throw .notAPlugin(path: path) }
        handle = h
        abi = found
        self.info = info
    }

    /// Plugin files in `directory`: every `*.so`, or only `libesplua-*.so` for the build folder.
    static func candidates(in directory: String, buildFolder: Bool) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasSuffix(".so") && (!buildFolder || $0.hasPrefix("libesplua-")) }
            .sorted().map { Path.join(directory, $0) }
    }
}

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
    let plugin: LoadedPlugin
    let partType: UnsafePointer<esplua_part_type>
    let handle: UnsafeMutableRawPointer

    init(name: String, type: String, plugin: LoadedPlugin, partType: UnsafePointer<esplua_part_type>, handle: UnsafeMutableRawPointer) {
        self.name = name; self.type = type; self.plugin = plugin; self.partType = partType; self.handle = handle
    }

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
    private let table: UnsafeMutablePointer<esplua_host>
    private var timers: [UInt64: Timers.ID] = [:]
    private var listeners: [UInt64: Int] = [:]
    private var charges: [UInt64: Int32] = [:]
    private var nextHandle: UInt64 = 1
    /// The plugin whose code is running (for log prefixes).
    private var current: String = "plugin"

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
        let part = Part(name: name, type: type, plugin: plugin, partType: pt, handle: handle)
        for (k, v) in controls where !part.set(k, v) {
            let known = lib.parts.first { $0.name == type }?.controls ?? []
            throw .badPart(name, "no control '\(k)' (controls: \(known.joined(separator: ", ")))")
        }
        parts.append(part)
        return part
    }

    public func part(named name: String) -> Part? { parts.first { $0.name == name } }

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
    }

    func newHandle() -> UInt64 { defer { nextHandle += 1 }; return nextHandle }

    // MARK: the host function table

    /// A part's settings, read by plugins through config_*.
    final class PartConfig {
        let values: [String: Any]
        var problem: String?
        var strings: [String: UnsafeMutablePointer<CChar>] = [:]
        init(_ values: [String: Any]) { self.values = values }
        deinit { for s in strings.values { free(s) } }
        static func from(_ p: OpaquePointer?) -> PartConfig { Unmanaged<PartConfig>.fromOpaque(UnsafeRawPointer(p!)).takeUnretainedValue() }
    }

    /// The Lua side's call behind an esplua_call pointer.
    public final class CallBox {
        public let call: PluginCall
        public init(_ call: PluginCall) { self.call = call }
        static func from(_ p: OpaquePointer?) -> PluginCall { Unmanaged<CallBox>.fromOpaque(UnsafeRawPointer(p!)).takeUnretainedValue().call }
        public var pointer: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }
    }

    private static func makeTable() -> esplua_host {
        var t = esplua_host()
        t.size = UInt32(MemoryLayout<esplua_host>.size)
        t.abi = esplua_host_abi()
        t.log = { b, level, message in
            let h = hostOf(b)
            let kind = level >= 2 ? "error" : level == 1 ? "warning" : "info"
            h.log("esplua: \(h.current) \(kind): \(String(cString: message!))")
        }
        t.micros = { b in hostOf(b).board.clock.micros }
        t.timer_start = { b, after, fn, ctx in
            let h = hostOf(b)
            let id = h.newHandle()
            let fn = fn!
            let ctx = UnsafeMutableRawPointer(ctx)
            h.timers[id] = h.board.timers.schedule(at: h.board.clock.micros + after) { [unowned h] in
                h.timers.removeValue(forKey: id)
                fn(ctx)
            }
            return id
        }
        t.timer_cancel = { b, id in
            let h = hostOf(b)
            if let t = h.timers.removeValue(forKey: id) { h.board.timers.cancel(t) }
        }
        t.pin_level = { b, pin in hostOf(b).board.pins.currentLevel(Int(pin)) ? 1 : 0 }
        t.pin_mode = { b, pin in
            let pins = hostOf(b).board.pins
            guard (0..<Pins.count).contains(Int(pin)) else { return -1 }
            return Int32(pins.modes[Int(pin)].rawValue)
        }
        t.pin_drive = { b, pin, level in
            try? hostOf(b).board.pins.drive(Int(pin), level < 0 ? nil : level != 0)
        }
        t.pin_listen = { b, pin, fn, ctx in
            let h = hostOf(b)
            let fn = fn!
            let ctx = UnsafeMutableRawPointer(ctx)
            let clock = h.board.clock
            let id = h.newHandle()
            h.listeners[id] = h.board.pins.listen(pin: Int(pin)) { p, high in fn(ctx, Int32(p), high ? 1 : 0, clock.micros) }
            return id
        }
        t.pin_unlisten = { b, id in
            let h = hostOf(b)
            if let l = h.listeners.removeValue(forKey: id) { h.board.pins.unlisten(l) }
        }
        t.pin_write = { b, pin, level in
            let pins = hostOf(b).board.pins
            guard (0..<Pins.count).contains(Int(pin)) else { return }
            if pins.modes[Int(pin)] != .output { try? pins.setMode(Int(pin), Pins.Mode.output.rawValue) }
            try? pins.write(Int(pin), level != 0)
        }
        t.i2c_attach = { b, address, device, part in
            let d = device!.pointee
            let part = UnsafeMutableRawPointer(part)
            let dev = I2CBus.Device(
                start: { read in d.start?(part, read ? 1 : 0) == 0 },
                write: { byte in d.write?(part, byte) == 0 },
                read: { d.read?(part) ?? 0xFF },
                stop: { d.stop?(part) })
            return hostOf(b).board.i2c.attach(address: address, dev) ? 0 : -1
        }
        t.i2c_write = { b, address, data, length, stop in
            let bytes = length == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: length))
            return Int32(hostOf(b).board.i2c.write(address: address, bytes, stop: stop != 0).rawValue)
        }
        t.i2c_read = { b, address, data, length, stop in
            guard let got = hostOf(b).board.i2c.read(address: address, count: length, stop: stop != 0) else { return -1 }
            for (i, v) in got.enumerated() { data![i] = v }
            return Int32(got.count)
        }
        t.spi_attach = { b, cs, device, part in
            let d = device!.pointee
            let part = UnsafeMutableRawPointer(part)
            let dev = SPIBus.Device(select: { d.select?(part) }, transfer: { d.transfer?(part, $0) ?? 0xFF }, deselect: { d.deselect?(part) })
            return hostOf(b).board.spi.attach(csPin: Int(cs), dev) ? 0 : -1
        }
        t.spi_transfer = { b, data, length in
            guard let data, length > 0 else { return }
            let out = hostOf(b).board.spi.transfer(Array(UnsafeBufferPointer(start: data, count: length)))
            for (i, v) in out.enumerated() { data[i] = v }
        }
        t.flash_size = { b in UInt32(hostOf(b).board.flash.size) }
        t.flash_read = { b, address, data, length in
            guard let got = hostOf(b).board.flash.read(Int(address), count: length) else { return -1 }
            got.withUnsafeBytes { data!.copyMemory(from: $0.baseAddress!, byteCount: length) }
            return 0
        }
        t.flash_program = { b, address, data, length in
            let bytes = Array(UnsafeRawBufferPointer(start: data, count: length))
            return hostOf(b).board.flash.program(Int(address), bytes) ? 0 : -1
        }
        t.flash_erase_sector = { b, address in hostOf(b).board.flash.eraseSector(Int(address)) ? 0 : -1 }
        t.heap_charge = { b, bytes in
            let h = hostOf(b)
            guard let c = h.board.heap.allocate(Int(bytes), owner: h.current) else { return 0 }
            let id = h.newHandle()
            h.charges[id] = c
            return id
        }
        t.heap_release = { b, id in
            let h = hostOf(b)
            if let c = h.charges.removeValue(forKey: id) { h.board.heap.free(c) }
        }
        t.register_module = { b, module, state in
            let h = hostOf(b)
            guard let module, let p = h.loaded.first(where: { $0.state == state }) ?? h.loaded.last else { return -1 }
            return h.registrar?.register(module: module, state: state, plugin: p) == true ? 0 : -1
        }
        t.arg_count = { c in Int32(callOf(c).argumentCount) }
        t.arg_integer = { c, i, out in
            guard let v = callOf(c).integer(Int(i)) else { return -1 }
            out?.pointee = v; return 0
        }
        t.arg_number = { c, i, out in
            guard let v = callOf(c).number(Int(i)) else { return -1 }
            out?.pointee = v; return 0
        }
        t.arg_boolean = { c, i, out in
            guard let v = callOf(c).boolean(Int(i)) else { return -1 }
            out?.pointee = v ? 1 : 0; return 0
        }
        t.arg_string = { c, i, bytes, length in
            guard let v = callOf(c).bytes(Int(i)) else { return -1 }
            bytes?.pointee = v.baseAddress?.assumingMemoryBound(to: CChar.self)
            length?.pointee = v.count
            return 0
        }
        t.arg_is_nil = { c, i in callOf(c).isNil(Int(i)) ? 1 : 0 }
        t.arg_object = { c, i, name in callOf(c).object(Int(i), className: String(cString: name!)) }
        t.ret_integer = { c, v in callOf(c).push(integer: v) }
        t.ret_number = { c, v in callOf(c).push(number: v) }
        t.ret_boolean = { c, v in callOf(c).push(boolean: v != 0) }
        t.ret_string = { c, bytes, length in callOf(c).push(bytes: UnsafeRawBufferPointer(start: bytes, count: length)) }
        t.ret_nil = { c in callOf(c).pushNil() }
        t.ret_object = { c, name, object in callOf(c).push(object: object, className: String(cString: name!)) }
        t.ret_table = { c in callOf(c).pushTable() }
        t.set_field_integer = { c, k, v in callOf(c).setField(String(cString: k!), integer: v) }
        t.set_field_number = { c, k, v in callOf(c).setField(String(cString: k!), number: v) }
        t.set_field_string = { c, k, b, n in callOf(c).setField(String(cString: k!), bytes: UnsafeRawBufferPointer(start: b, count: n)) }
        t.set_field_boolean = { c, k, v in callOf(c).setField(String(cString: k!), boolean: v != 0) }
        t.error = { c, message in callOf(c).fail(message.map { String(cString: $0) } ?? "error") }
        t.config_integer = { cfg, key, out in
            let v = configOf(cfg).values[String(cString: key!)]
            if let n = JSON.integer(v) { out?.pointee = Int64(n); return 0 }
            // an integer beyond 64 bits: the end of the range, which the plugin's range check refuses
            if let n = JSON.number(v), n == n.rounded() { out?.pointee = n < 0 ? .min : .max; return 0 }
            if let s = v as? String, let n = Int64(s.hasPrefix("0x") ? String(s.dropFirst(2)) : s, radix: s.hasPrefix("0x") ? 16 : 10) {
                out?.pointee = n; return 0
            }
            return -1
        }
        t.config_number = { cfg, key, out in
            guard let n = JSON.number(configOf(cfg).values[String(cString: key!)]) else { return -1 }
            out?.pointee = n; return 0
        }
        t.config_string = { cfg, key, out in
            let config = configOf(cfg)
            let k = String(cString: key!)
            guard let s = config.values[k] as? String else { return -1 }
            if config.strings[k] == nil { config.strings[k] = strdup(s) }
            out?.pointee = UnsafePointer(config.strings[k]!)
            return 0
        }
        return t
    }
}

private func hostOf(_ p: OpaquePointer?) -> PluginHost { Unmanaged<PluginHost>.fromOpaque(UnsafeRawPointer(p!)).takeUnretainedValue() }
private func callOf(_ p: OpaquePointer?) -> PluginCall { Unmanaged<PluginHost.CallBox>.fromOpaque(UnsafeRawPointer(p!)).takeUnretainedValue().call }
private func configOf(_ p: OpaquePointer?) -> PluginHost.PartConfig { Unmanaged<PluginHost.PartConfig>.fromOpaque(UnsafeRawPointer(p!)).takeUnretainedValue() }
