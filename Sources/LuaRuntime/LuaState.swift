import CLua
import CLuaShim

/// An error a Swift function raises into Lua. The trampoline (C) does the raising.
public enum LuaError: Error, Equatable {
    /// `bad argument #n to 'f' (message)` — Lua's own wording via luaL_argerror.
    case argument(Int32, String)
    /// A runtime error; the caller's `file:line:` is prepended.
    case runtime(String)
}

/// A Swift function callable from Lua: returns the number of results pushed,
/// or `LuaCall.yield` to suspend the running coroutine.
public typealias LuaFunction = (LuaCall) throws(LuaError) -> Int32

/// What a call of a function tells the board's run loop about the sketch (idle detection).
public enum LuaFunctionKind: Sendable {
    /// Doing something: every call sets `LuaState.activeBit` in the activity word.
    case active
    /// Looking for something (`available()`, `accept()`, `digitalRead`…): a call sets
    /// nothing by itself; the function calls `markActive()` when it finds something.
    case poll
}

/// A Swift function behind a trampoline. The trampoline's only upvalue is the
/// box's address, so a call needs no lookup and no retain (the state owns its boxes).
final class LuaFunctionBox {
    let fn: LuaFunction
    unowned(unsafe) let state: LuaState

    init(_ fn: @escaping LuaFunction, state: LuaState) {
        self.fn = fn
        self.state = state
    }
}

/// A class made by `defineClass`; its index in `LuaState.classes` is its C class
/// number (clua_host's `classes`, which a call scans by metatable address).
final class LuaClass {
    let name: String
    let onCollect: ((AnyObject) -> Void)?

    init(name: String, onCollect: ((AnyObject) -> Void)?) {
        self.name = name
        self.onCollect = onCollect
    }
}

/// One Lua 5.4 VM with a capped allocator, a sandboxed library set, and Swift
/// functions behind C trampolines (so no Lua error or yield ever crosses a Swift frame).
/// Single-threaded; one state per sketch boot.
public final class LuaState {
    public let L: OpaquePointer
    /// Shared with C (`clua_host`): memory counters, the activity word, the running thread.
    let host: UnsafeMutablePointer<clua_host>
    /// Every function pushed so far (the trampolines point at them; kept until the state goes).
    var boxes: ContiguousArray<LuaFunctionBox> = []
    /// Classes by C class number.
    var classes: ContiguousArray<LuaClass> = []
    /// Their names, where a call finds them from `L` alone (`clua_host.class_names`).
    var classNames = UnsafeMutablePointer<String>.allocate(capacity: 0)
    /// Live objects by the address of their userdata block; the dictionary owns them.
    var objects: [UnsafeMutableRawPointer: AnyObject] = [:]
    var nextObject = 1
    /// Called every `hookInterval` VM instructions; return true to stop the sketch.
    public var onInstructions: ((Int) -> Bool)?
    /// Every name installed so far (DESIGN.md decision 16), recorded by the functions below.
    public let api = APIRegistry()
    /// The message for a name a singleton, class table or object lacks (`WiFi.persistent`,
    /// `client:foo()`): the owner, the key, and whether it is an object's method.
    /// The API layer sets one that says what esplua has instead.
    public var describeMissing: (_ owner: String, _ key: String, _ isMethod: Bool) -> String = { owner, key, isMethod in
        isMethod ? "\(owner) has no method '\(key)'" : "\(owner) has no field '\(key)'"
    }

    /// `activity` bit: an active function ran (or `markActive()` was called).
    public static let activeBit: UInt32 = CLUA_ACTIVE
    /// `activity` bit: the sketch read `millis()`.
    public static let readMillisBit: UInt32 = CLUA_READ_MILLIS
    /// `activity` bit: the sketch read `micros()`.
    public static let readMicrosBit: UInt32 = CLUA_READ_MICROS

    /// The word the sketch's calls OR their bits into (`activeBit`, `readMillisBit`,
    /// `readMicrosBit`); nobody clears it but its owner. Defaults to a word of the
    /// state's own; the run loop points it at its own word, which must then stay
    /// valid for as long as the state lives.
    public var activity: UnsafeMutablePointer<UInt32> {
        get { host.pointee.activity }
        set { host.pointee.activity = newValue }
    }

    /// The thread of the innermost Swift function running now (the calling `L`,
    /// set by the trampoline before each call and restored after it), or nil.
    public var currentThread: OpaquePointer? { host.pointee.thread }

    /// Whether the string library's pattern matcher charges its steps to the hooked
    /// state (CLuaShim's clua_strlib.c, built from the lstrlib.c set-up fetches), so
    /// the watchdog bites a match that backtracks for seconds.
    public static var patternMatchesAreCharged: Bool { clua_has_guarded_strlib() != 0 }

    /// Creates a state whose VM may hold at most `memoryLimit` bytes.
    public init?(memoryLimit: Int) {
        host = .allocate(capacity: 1)
        host.initialize(to: clua_host())
        host.pointee.memory.limit = memoryLimit
        host.pointee.activity = host.pointer(to: \.own_activity)!
        guard let L = clua_newstate(host) else { host.deallocate(); return nil }
        self.L = L
        host.pointee.state = Unmanaged.passUnretained(self).toOpaque()
        clua_set_dispatch(luaDispatch)
        host.pointee.memory.grace = 1  // opening the libraries is the host's work
        clua_open_safe_libs(L)
        host.pointee.memory.grace = 0
    }

    deinit {
        // finalizers still run in lua_close: keep them off a word the run loop may have freed
        host.pointee.activity = host.pointer(to: \.own_activity)!
        clua_forget_hook(L)
        lua_close(L)
        clua_free_classes(host)
        classNames.deinitialize(count: classes.count)
        classNames.deallocate()
        host.deallocate()
    }

    /// The name of class number `k` of `L`'s state.
    @inline(__always)
    static func className(_ L: OpaquePointer, _ k: Int32) -> String {
        clua_host_of(L).pointee.class_names.unsafelyUnwrapped.assumingMemoryBound(to: String.self)[Int(k)]
    }

    static func from(_ L: OpaquePointer?) -> LuaState {
        Unmanaged<LuaState>.fromOpaque(clua_host_of(L).pointee.state).takeUnretainedValue()
    }

    /// Sets `activeBit` in the activity word: a poll found something.
    @inline(__always) public func markActive() { activity.pointee |= LuaState.activeBit }

    // MARK: memory

    /// Bytes the VM holds now.
    public var memoryUsed: Int { host.pointee.memory.used }
    public var memoryPeak: Int { host.pointee.memory.peak }
    /// Allocations (that grew a block) the VM has made, ever.
    public var allocationCount: Int { host.pointee.memory.allocations }
    public var memoryLimit: Int { host.pointee.memory.limit }
    /// True once an allocation failed even after an emergency collection.
    public var outOfMemory: Bool { host.pointee.memory.oom != 0 }
    public var failedAllocationSize: Int { host.pointee.memory.failed_size }

    /// Runs `body` with the memory cap lifted (host work that must not fail halfway).
    public func withGrace<T>(_ body: () throws -> T) rethrows -> T {
        host.pointee.memory.grace += 1
        defer { host.pointee.memory.grace -= 1 }
        return try body()
    }

    // MARK: functions

    /// Pushes a Lua function backed by `fn`; an `.active` one sets `activeBit` on every call.
    public func push(kind: LuaFunctionKind = .active, _ fn: @escaping LuaFunction) {
        let box = LuaFunctionBox(fn, state: self)
        boxes.append(box)
        clua_push_function(L, Unmanaged.passUnretained(box).toOpaque(), kind == .poll ? CLUA_KIND_POLL : CLUA_KIND_ACTIVE)
    }

    /// Sets global `name` to a function backed by `fn`.
    public func setGlobal(_ name: String, kind: LuaFunctionKind = .active, _ fn: @escaping LuaFunction) {
        push(kind: kind, fn)
        lua_setglobal(L, name)
        api.setFunction(name)
    }

    /// Creates a table of functions, sets it as global `name`, and records it in
    /// `package.loaded` so error messages read `bad argument #1 to 'Serial.print'`.
    /// Lua's reserved words. A function named after one (the Arduino `end()` of
    /// WiFiServer, SPI, LittleFS, Serial …) cannot be called as `obj:end()`, a
    /// syntax error: `setLibrary` and `defineClass` (plugins' too) also install it
    /// with a trailing underscore, as Python spells keywords (PEP 8); it stays
    /// reachable as `obj["end"](obj)`.
    public static let reservedWords: Set<String> = [
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in", "local", "nil",
        "not", "or", "repeat", "return", "then", "true", "until", "while",
    ]

    /// `names`, each reserved word followed by its `_` spelling (`end`, `end_`).
    static func withKeywordAliases(_ names: [String]) -> [String] {
        names.flatMap { reservedWords.contains($0) ? [$0, $0 + "_"] : [$0] }
    }

    /// The functions named in `polls` are `.poll`s, the others `.active`. Reading a
    /// name the table lacks raises `describeMissing`'s message; calling one of its
    /// functions with a colon (`Serial:println(x)`) says to use a dot. A library
    /// defined again (a class table after its class) gets the new names added.
    public func setLibrary(
        _ name: String, _ fns: [(String, LuaFunction)], constants: [(String, Int)] = [],
        polls: Set<String> = []
    ) {
        assert(polls.isSubset(of: fns.map(\.0)), "\(name): polls name no function: \(polls.subtracting(fns.map(\.0)))")
        api.setLibrary(name, functions: LuaState.withKeywordAliases(fns.map(\.0)), constants: constants.map(\.0))
        if lua_getglobal(L, name) != LUA_TTABLE {
            clua_pop(L, 1)
            lua_createtable(L, 0, Int32(fns.count + constants.count))
            strictIndex(owner: name, isMethod: false)
        }
        for (k, f) in fns {
            push(kind: polls.contains(k) ? .poll : .active) { call throws(LuaError) in
                // Serial:println(x): the library itself arrives as argument 1
                if call.type(1) == LUA_TTABLE && call.isGlobal(1, name) {
                    throw .runtime("use a dot: \(name).\(k)(...), not \(name):\(k)(...) (\(name) is a module, not an object)")
                }
                return try f(call)
            }
            if LuaState.reservedWords.contains(k) {
                lua_pushvalue(L, -1)
                lua_setfield(L, -3, k + "_")
            }
            lua_setfield(L, -2, k)
        }
        for (k, v) in constants {
            lua_pushinteger(L, lua_Integer(v))
            lua_setfield(L, -2, k)
        }
        lua_pushvalue(L, -1)
        lua_setglobal(L, name)
        lua_getfield(L, clua_registryindex(), LUA_LOADED_TABLE)
        clua_insert(L, -2)
        lua_setfield(L, -2, name)
        clua_pop(L, 1)
    }

    /// Gives the table on top of the stack a metatable whose `__index` raises
    /// `describeMissing(owner, key, isMethod)` for a string key it lacks.
    private func strictIndex(owner: String, isMethod: Bool) {
        if lua_getmetatable(L, -1) == 0 { lua_createtable(L, 0, 1) }
        push(kind: .poll) { call throws(LuaError) in
            guard call.type(2) == LUA_TSTRING, let key = try? call.string(2) else { return 0 }
            throw .runtime(call.state.describeMissing(owner, key, isMethod))
        }
        lua_setfield(L, -2, "__index")
        lua_setmetatable(L, -2)
    }

    public func setGlobal(_ name: String, integer: Int) {
        lua_pushinteger(L, lua_Integer(integer))
        lua_setglobal(L, name)
        api.setConstant(name, value: integer)
    }

    public func setGlobalNil(_ name: String) {
        lua_pushnil(L)
        lua_setglobal(L, name)
        api.remove(name)
    }

    // MARK: classes and objects

    /// Defines a userdata class: a metatable `name` whose `__index` holds `methods`
    /// (those named in `polls` are `.poll`s), with `__gc`/`__close` releasing the
    /// Swift object (once: `onCollect` runs and the state lets go of it) and `__tostring`.
    public func defineClass(
        _ name: String, methods: [(String, LuaFunction)], polls: Set<String> = [],
        onCollect: ((AnyObject) -> Void)? = nil
    ) {
        assert(polls.isSubset(of: methods.map(\.0)), "\(name): polls name no method: \(polls.subtracting(methods.map(\.0)))")
        let number = Int(clua_define_class(L, name))
        let cls = LuaClass(name: name, onCollect: onCollect)
        if number < classes.count {  // defined again: same metatable and number, new methods
            classes[number] = cls
        } else {
            addClass(cls)
        }
        api.defineClass(name, methods: LuaState.withKeywordAliases(methods.map(\.0)))
        lua_createtable(L, 0, Int32(methods.count))
        for (k, f) in methods {
            push(kind: polls.contains(k) ? .poll : .active, f)
            if LuaState.reservedWords.contains(k) {
                lua_pushvalue(L, -1)
                lua_setfield(L, -3, k + "_")
            }
            lua_setfield(L, -2, k)
        }
        strictIndex(owner: name, isMethod: true)
        lua_setfield(L, -2, "__index")
        let release: LuaFunction = { call in
            call.state.release(at: 1, of: number, on: call.L)
            return 0
        }
        push(release)
        lua_setfield(L, -2, "__gc")
        push(release)
        lua_setfield(L, -2, "__close")
        push(kind: .poll) { call in
            var k: Int32 = -1
            let block = clua_toobject(call.L, 1, &k)
            call.push("\(name) (\(block != nil && k == number ? block!.pointee.serial : 0))")
            return 1
        }
        lua_setfield(L, -2, "__tostring")
        clua_pop(L, 1)
    }

    /// Appends class `cls` with the next number, its name where calls find it.
    private func addClass(_ cls: LuaClass) {
        let number = classes.count
        let names = UnsafeMutablePointer<String>.allocate(capacity: number + 1)
        names.moveInitialize(from: classNames, count: number)
        (names + number).initialize(to: cls.name)
        classNames.deallocate()
        classNames = names
        host.pointee.class_names = UnsafeMutableRawPointer(names)
        classes.append(cls)
    }

    /// Pushes a new userdata of class `name` holding `object`.
    public func pushObject(_ object: AnyObject, class name: String) { pushObject(object, class: name, on: L) }

    func pushObject(_ object: AnyObject, class name: String, on L: OpaquePointer) {
        guard let number = classes.firstIndex(where: { $0.name == name }) else {
            preconditionFailure("pushObject: no class \(name) (defineClass it first)")
        }
        let serial = nextObject
        nextObject += 1
        let type = UnsafeRawPointer(bitPattern: UInt(bitPattern: ObjectIdentifier(Swift.type(of: object))))
        let block = clua_newobject(L, Unmanaged.passUnretained(object).toOpaque(), type, lua_Integer(serial), Int32(number))!
        objects[UnsafeMutableRawPointer(block)] = object
    }

    /// `__gc`/`__close` of class number `cls`: lets go of the object in userdata `i` of
    /// thread `L`, unless that was done already: `onCollect` runs once per object.
    func release(at i: Int32, of cls: Int, on L: OpaquePointer) {
        var k: Int32 = -1
        guard let block = clua_toobject(L, i, &k), k == cls, block.pointee.object != nil else { return }
        clua_forget_object(L, block)
        block.pointee.object = nil
        block.pointee.type = nil
        block.pointee.serial = 0
        if let obj = objects.removeValue(forKey: UnsafeMutableRawPointer(block)) { classes[cls].onCollect?(obj) }
    }

    /// Every live object of a class (for reboot clean-up).
    public var liveObjects: [AnyObject] { Array(objects.values) }

    // MARK: registry

    /// Keeps the value on top of the stack alive; returns its reference (pops it).
    public func ref() -> Int32 { luaL_ref(L, clua_registryindex()) }
    public func unref(_ r: Int32) { luaL_unref(L, clua_registryindex(), r) }
    public func pushRef(_ r: Int32) { lua_rawgeti(L, clua_registryindex(), lua_Integer(r)) }

    // MARK: running code

    public enum LoadError: Error, Equatable { case syntax(String), memory(String) }

    /// Compiles `source` (text only) as chunk `@name`; leaves the function on the stack.
    public func load(_ source: [UInt8], name: String) throws(LoadError) {
        let status = source.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buf.count, 1)) {
                clua_load_text(L, $0, buf.count, "@" + name)
            }
        }
        if status != LUA_OK {
            let msg = string(at: -1) ?? "?"
            clua_pop(L, 1)
            throw status == LUA_ERRMEM ? .memory(msg) : .syntax(msg)
        }
    }

    /// Calls the function below `nargs` arguments under a traceback handler.
    /// Returns nil on success, or the error message with traceback.
    public func protectedCall(nargs: Int32 = 0, nresults: Int32 = 0) -> String? {
        let status = clua_pcall_traceback(L, nargs, nresults)
        if status == LUA_OK { return nil }
        let msg = string(at: -1) ?? "(error object is not a string)"
        clua_pop(L, 1)
        return msg
    }

    /// Installs the instruction-count hook (every `interval` instructions).
    public func installHook(interval: Int32) {
        clua_set_hook(L, luaHook, interval)
    }

    /// Makes the hook fire on `thread` before its next instruction (then every
    /// `interval` again): an interrupt that came during a call runs right after it.
    public func hookSoon(thread: OpaquePointer) { clua_hook_soon(thread) }

    /// The string at `index`, if it is a string or a number (numbers are converted).
    public func string(at index: Int32) -> String? { LuaState.string(L, at: index) }

    /// The string at `index` of thread `L`, if it is a string or a number.
    static func string(_ L: OpaquePointer, at index: Int32) -> String? {
        let t = lua_type(L, index)
        guard t == LUA_TSTRING || t == LUA_TNUMBER else { return nil }
        var len = 0
        guard let p = lua_tolstring(L, index, &len) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }

    public func globalIsFunction(_ name: String) -> Bool {
        let t = lua_getglobal(L, name)
        clua_pop(L, 1)
        return t == LUA_TFUNCTION
    }

    public func getGlobal(_ name: String) { lua_getglobal(L, name) }

    /// The string keys of the globals now: taken before the API is installed, the
    /// baseline `recordLuaDefinitions` leaves out (Lua's own names).
    public func globalNames() -> Set<String> {
        var names: Set<String> = []
        clua_pushglobaltable(L)
        lua_pushnil(L)
        while lua_next(L, -2) != 0 {
            if lua_type(L, -2) == LUA_TSTRING, let k = string(at: -2) { names.insert(k) }
            clua_pop(L, 1)
        }
        clua_pop(L, 1)
        return names
    }

    /// Records in `api` what host code written in Lua defined beside the installing
    /// calls (`function Serial.printf(…)` in a prelude): globals that are not in
    /// `baseline` and not registered, and functions and integers added to a
    /// registered singleton's or class's table. So nothing the sketch can reach is
    /// missing from the registry, whatever way it was installed.
    public func recordLuaDefinitions(baseline: Set<String>) {
        clua_pushglobaltable(L)
        lua_pushnil(L)
        while lua_next(L, -2) != 0 {
            defer { clua_pop(L, 1) }
            guard lua_type(L, -2) == LUA_TSTRING, let name = string(at: -2), !baseline.contains(name) else { continue }
            let registered = api.global(name)
            switch lua_type(L, -1) {
            case LUA_TFUNCTION where registered == nil:
                api.setFunction(name)
            case LUA_TNUMBER where registered == nil:
                var ok: Int32 = 0
                let v = lua_tointegerx(L, -1, &ok)
                if ok != 0 { api.setConstant(name, value: Int(v)) }
            case LUA_TTABLE:
                var functions: [String] = [], constants: [String] = []
                lua_pushnil(L)
                while lua_next(L, -2) != 0 {
                    if lua_type(L, -2) == LUA_TSTRING, let k = string(at: -2) {
                        if lua_type(L, -1) == LUA_TFUNCTION { functions.append(k) }
                        if lua_type(L, -1) == LUA_TNUMBER { constants.append(k) }
                    }
                    clua_pop(L, 1)
                }
                let known = Set((registered?.functions ?? []) + (registered?.constants ?? []))
                let newFunctions = functions.filter { !known.contains($0) }.sorted()
                let newConstants = constants.filter { !known.contains($0) }.sorted()
                if registered == nil || !newFunctions.isEmpty || !newConstants.isEmpty {
                    api.setLibrary(name, functions: newFunctions, constants: newConstants)
                }
                // a class written in Lua: setmetatable(T, { __call = new, __index = methods })
                if lua_getmetatable(L, -1) != 0 {
                    if lua_getfield(L, -1, "__call") == LUA_TFUNCTION { api.setCallable(name) }
                    clua_pop(L, 1)
                    if lua_getfield(L, -1, "__index") == LUA_TTABLE {
                        var methods: [String] = []
                        lua_pushnil(L)
                        while lua_next(L, -2) != 0 {
                            if lua_type(L, -2) == LUA_TSTRING, let k = string(at: -2), !k.hasPrefix("__"),
                                lua_type(L, -1) == LUA_TFUNCTION
                            {
                                methods.append(k)
                            }
                            clua_pop(L, 1)
                        }
                        if !methods.isEmpty { api.defineClass(name, methods: methods.sorted()) }
                    }
                    clua_pop(L, 2)
                }
            default:
                break
            }
        }
        clua_pop(L, 1)
    }

    /// The name of the global whose value is the table at `index`, if it is `package.loaded`'s too.
    func globalName(of index: Int32) -> String? {
        let t = lua_absindex(L, index)
        guard lua_type(L, t) == LUA_TTABLE else { return nil }
        defer { lua_settop(L, t) }
        lua_getfield(L, clua_registryindex(), LUA_LOADED_TABLE)
        lua_pushnil(L)
        while lua_next(L, -2) != 0 {
            if lua_rawequal(L, -1, t) != 0, lua_type(L, -2) == LUA_TSTRING, let name = string(at: -2) { return name }
            clua_pop(L, 1)
        }
        return nil
    }

    /// Runs a chunk of host-provided Lua (the API prelude); returns an error message on failure.
    public func run(_ code: String, name: String) -> String? {
        do { try load(Array(code.utf8), name: name) } catch {
            switch error {
            case .syntax(let m), .memory(let m): return m
            }
        }
        return protectedCall()
    }

    /// Sets `__call` on the table on top of the stack (a callable class table),
    /// shifting arguments so `fn` sees the class table at 1. Keeps the table's
    /// metatable, if it has one (a library's `__index`).
    /// An argument error of `fn` names the argument as the sketch wrote it
    /// (`WiFiServer("x")`: #1), one less than its place on the stack.
    public func setCallMetamethod(kind: LuaFunctionKind = .active, _ fn: @escaping LuaFunction) {
        if let name = globalName(of: -1) { api.setCallable(name) }
        if lua_getmetatable(L, -1) == 0 { lua_createtable(L, 0, 1) }
        push(kind: kind) { call throws(LuaError) in
            do throws(LuaError) { return try fn(call) } catch {
                // Lua's luaL_argerror shifts only for a colon call; a __call is not one
                if case .argument(let n, let message) = error, n > 1 { throw .argument(n - 1, message) }
                throw error
            }
        }
        lua_setfield(L, -2, "__call")
        lua_setmetatable(L, -2)
    }

    /// Registers a bare C function (two integer arguments, no Swift): the baseline of binding benchmarks.
    public func registerBareCFunction(_ name: String) { clua_register_bare(L, name) }

    /// A full collection (finalizers run).
    public func collectGarbage() { clua_gc_collect(L) }

    public var top: Int32 { lua_gettop(L) }
    public func setTop(_ n: Int32) { lua_settop(L, n) }
}

/// A sketch's coroutine: `setup()` then `loop()` forever, suspended at every yield.
public final class LuaThread {
    public let state: LuaState
    public let co: OpaquePointer
    private let anchor: Int32

    /// Wraps the function on top of the state's stack in a new coroutine.
    public init(state: LuaState) {
        self.state = state
        let L = state.L
        co = lua_newthread(L)
        anchor = state.ref()  // keep the thread alive
        lua_xmove(L, co, 1)  // the function becomes the coroutine's body
    }

    deinit { state.unref(anchor) }

    public enum Outcome: Equatable {
        case yielded
        case finished
        /// A runtime error: message with traceback, and whether it was LUA_ERRMEM.
        case failed(message: String, outOfMemory: Bool)
    }

    public func resume() -> Outcome {
        var nres: Int32 = 0
        let status = clua_resume(co, state.L, 0, &nres)
        switch status {
        case LUA_YIELD:
            lua_settop(co, 0)
            return .yielded
        case LUA_OK:
            return .finished
        default:
            var len = 0
            var msg = "(error object is not a string)"
            if lua_type(co, -1) == LUA_TSTRING, let p = lua_tolstring(co, -1, &len) {
                msg = String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
            }
            state.withGrace { luaL_traceback(state.L, co, msg, 0) }
            let full = state.string(at: -1) ?? msg
            clua_pop(state.L, 1)
            return .failed(message: full, outOfMemory: status == LUA_ERRMEM)
        }
    }
}

/// Every trampoline's way into Swift: `box` is the function's `LuaFunctionBox`,
/// borrowed (the state owns it), so a call retains nothing.
private func luaDispatch(_ L: OpaquePointer?, _ box: UnsafeMutableRawPointer?) -> Int32 {
    Unmanaged<LuaFunctionBox>.fromOpaque(box.unsafelyUnwrapped)._withUnsafeGuaranteedRef { box in
        let call = LuaCall(thread: L.unsafelyUnwrapped, state: box.state)
        do throws(LuaError) {
            return try box.fn(call)
        } catch {
            return call.errorResult(error)
        }
    }
}

private func luaHook(_ L: OpaquePointer?, _ instructions: Int32) -> Int32 {
    let state = LuaState.from(L)
    return (state.onInstructions?(Int(instructions)) ?? false) ? 1 : 0
}
