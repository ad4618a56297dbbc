/// The one API registry (DESIGN.md decision 16): every name the host installs in a
/// Lua state, recorded by the installing calls themselves (`LuaState.setGlobal`,
/// `setLibrary`, `defineClass`, `setCallMetamethod`), so a binding written in the
/// usual style is registered without a line of its own. The runtime installs from
/// the same calls, and `esplua check` (a luacheck standard) and `esplua api --luals`
/// (LuaLS annotations) are generated from what they recorded: the three cannot disagree.
///
/// Single-threaded, as its state.
public final class APIRegistry {
    /// What a global is.
    public enum Kind: String, Sendable {
        /// A global function: `pinMode(pin, mode)`.
        case function
        /// A global integer: `HIGH`, `WL_CONNECTED`.
        case constant
        /// A table of functions and constants, called with a dot: `Serial.println(x)`.
        case singleton
        /// A callable class table (`WiFiClient()`), whose objects take colon calls; it
        /// may have functions of its own (`WiFiClient.stopAll()`).
        case `class`
    }

    /// One global name.
    public struct Global: Equatable, Sendable {
        public let name: String
        public var kind: Kind
        /// Dot-called functions of a singleton or class table, in registration order.
        public var functions: [String] = []
        /// Integer fields of a singleton (`Serial.DEC`), in registration order.
        public var constants: [String] = []
        /// A constant's value.
        public var value: Int?
    }

    /// Globals in registration order.
    public private(set) var globals: [Global] = []
    private var index: [String: Int] = [:]
    /// Methods (colon calls) of each object class by class name, in registration order.
    public private(set) var methods: [String: [String]] = [:]
    /// Class names in registration order (some have no global: a `File` comes from `open`).
    public private(set) var classNames: [String] = []

    public init() {}

    /// The global `name`, if registered.
    public func global(_ name: String) -> Global? { index[name].map { globals[$0] } }

    /// Whether `name` is a class whose objects have methods.
    public func isClass(_ name: String) -> Bool { methods[name] != nil }

    /// Every (class, method) pair.
    public var allMethods: [(cls: String, method: String)] {
        classNames.flatMap { c in (methods[c] ?? []).map { (c, $0) } }
    }

    // MARK: recording (called by LuaState's installing functions)

    func setFunction(_ name: String) { upsert(Global(name: name, kind: .function)) }

    func setConstant(_ name: String, value: Int) { upsert(Global(name: name, kind: .constant, value: value)) }

    func setLibrary(_ name: String, functions: [String], constants: [String]) {
        var g = global(name) ?? Global(name: name, kind: isClass(name) ? .class : .singleton)
        if g.kind == .function || g.kind == .constant { g = Global(name: name, kind: .singleton) }
        for f in functions where !g.functions.contains(f) { g.functions.append(f) }
        for c in constants where !g.constants.contains(c) { g.constants.append(c) }
        upsert(g)
    }

    func defineClass(_ name: String, methods names: [String]) {
        if methods[name] == nil { classNames.append(name) }
        var list = methods[name] ?? []
        for m in names where !list.contains(m) { list.append(m) }
        methods[name] = list
        if var g = global(name), g.kind == .singleton {
            g.kind = .class
            upsert(g)
        }
    }

    /// The table global `name` became callable (a constructor).
    func setCallable(_ name: String) {
        var g = global(name) ?? Global(name: name, kind: .class)
        g.kind = .class
        upsert(g)
    }

    func remove(_ name: String) {
        guard let i = index.removeValue(forKey: name) else { return }
        globals.remove(at: i)
        for (k, v) in index where v > i { index[k] = v - 1 }
    }

    /// Records a function the host defined in Lua itself (`Serial.printf` in the
    /// prelude): `name` is `f` or `Table.f`.
    public func noteLuaFunction(_ name: String) {
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        if parts.count == 2 { setLibrary(parts[0], functions: [parts[1]], constants: []) } else { setFunction(name) }
    }

    private func upsert(_ g: Global) {
        if let i = index[g.name] {
            globals[i] = g
        } else {
            index[g.name] = globals.count
            globals.append(g)
        }
    }
}
