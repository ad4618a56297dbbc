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

/// What a call tells the board's idle detection (`BoardLoop`): an `.active`
/// function counts as activity on every call; a `.poll` only when it finds
/// something (it calls `markActive()` then).
public enum LuaFunctionKind: Sendable { case active, poll }

/// One Lua 5.4 VM with a capped allocator, a sandboxed library set, and Swift
/// functions behind C trampolines (so no Lua error or yield ever crosses a Swift frame).
/// Single-threaded; one state per sketch boot.
public final class LuaState {
    public let L: OpaquePointer
    let memory: UnsafeMutablePointer<clua_memory>
    var functions: [(fn: LuaFunction, kind: LuaFunctionKind)] = []
    /// Activity word of the board's loop; `.active` calls OR `activeBit` into it.
    public var activity: UnsafeMutablePointer<UInt32>
    private let ownActivity: UnsafeMutablePointer<UInt32>
    public static let activeBit: UInt32 = 1, readMillisBit: UInt32 = 2, readMicrosBit: UInt32 = 4
    var objects: [Int: AnyObject] = [:]
    var nextObject = 1
    /// The thread of the Swift function running now (the one blocked in `delay()`
    /// while the board runs): queued Lua callbacks run on it.
    public internal(set) var currentThread: OpaquePointer?
    /// Called every `hookInterval` VM instructions; return true to stop the sketch.
    public var onInstructions: ((Int) -> Bool)?

    /// Creates a state whose VM may hold at most `memoryLimit` bytes.
    public init?(memoryLimit: Int) {
        memory = .allocate(capacity: 1)
        memory.initialize(to: clua_memory())
        ownActivity = .allocate(capacity: 1)
        ownActivity.initialize(to: 0)
        activity = ownActivity
        memory.pointee.limit = memoryLimit
        guard let L = clua_newstate(memory) else { memory.deallocate(); ownActivity.deallocate(); return nil }
        self.L = L
        clua_extraspace(L).pointee = Unmanaged.passUnretained(self).toOpaque()
        clua_set_dispatch(luaDispatch)
        memory.pointee.grace = 1          // opening the libraries is the host's work
        clua_open_safe_libs(L)
        memory.pointee.grace = 0
    }

    deinit {
        lua_close(L)
        memory.deallocate()
        ownActivity.deallocate()
    }

    static func from(_ L: OpaquePointer?) -> LuaState {
        Unmanaged<LuaState>.fromOpaque(clua_extraspace(L)!.pointee!).takeUnretainedValue()
    }

    // MARK: memory

    /// Bytes the VM holds now.
    public var memoryUsed: Int { memory.pointee.used }
    public var memoryPeak: Int { memory.pointee.peak }
    /// Allocations (that grew a block) the VM has made, ever.
    public var allocationCount: Int { memory.pointee.allocations }
    public var memoryLimit: Int { memory.pointee.limit }
    /// True once an allocation failed even after an emergency collection.
    public var outOfMemory: Bool { memory.pointee.oom != 0 }
    public var failedAllocationSize: Int { memory.pointee.failed_size }

    /// Runs `body` with the memory cap lifted (host work that must not fail halfway).
    public func withGrace<T>(_ body: () throws -> T) rethrows -> T {
        memory.pointee.grace += 1
        defer { memory.pointee.grace -= 1 }
        return try body()
    }

    // MARK: functions

    /// Pushes a Lua function backed by `fn`.
    public func push(kind: LuaFunctionKind = .active, _ fn: @escaping LuaFunction) {
        functions.append((fn, kind))
        clua_push_function(L, Int32(functions.count - 1))
    }

    /// Sets global `name` to a function backed by `fn`.
    public func setGlobal(_ name: String, kind: LuaFunctionKind = .active, _ fn: @escaping LuaFunction) {
        push(kind: kind, fn)
        lua_setglobal(L, name)
    }

    /// Creates a table of functions, sets it as global `name`, and records it in
    /// `package.loaded` so error messages read `bad argument #1 to 'Serial.print'`.
    public func setLibrary(_ name: String, _ fns: [(String, LuaFunction)], constants: [(String, Int)] = [], polls: Set<String> = []) {
        lua_createtable(L, 0, Int32(fns.count + constants.count))
        for (k, f) in fns {
            push(kind: polls.contains(k) ? .poll : .active, f)
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

    public func setGlobal(_ name: String, integer: Int) {
        lua_pushinteger(L, lua_Integer(integer))
        lua_setglobal(L, name)
    }

    public func setGlobalNil(_ name: String) {
        lua_pushnil(L)
        lua_setglobal(L, name)
    }

    // MARK: classes and objects

    /// Defines a userdata class: a metatable `name` whose `__index` holds `methods`,
    /// with `__gc`/`__close` releasing the Swift object and `__tostring`.
    public func defineClass(_ name: String, methods: [(String, LuaFunction)], polls: Set<String> = [], onCollect: ((AnyObject) -> Void)? = nil) {
        luaL_newmetatable(L, name)
        lua_createtable(L, 0, Int32(methods.count))
        for (k, f) in methods {
            push(kind: polls.contains(k) ? .poll : .active, f)
            lua_setfield(L, -2, k)
        }
        lua_setfield(L, -2, "__index")
        let release: LuaFunction = { call in
            if let handle = call.handle(at: 1, class: name) {
                if let obj = call.state.objects.removeValue(forKey: handle) { onCollect?(obj) }
                call.clearHandle(at: 1)
            }
            return 0
        }
        push(release)
        lua_setfield(L, -2, "__gc")
        push(release)
        lua_setfield(L, -2, "__close")
        push { call in
            let h = call.handle(at: 1, class: name) ?? 0
            call.push("\(name) (\(h))")
            return 1
        }
        lua_setfield(L, -2, "__tostring")
        clua_pop(L, 1)
    }

    /// Pushes a new userdata of class `name` holding `object`.
    public func pushObject(_ object: AnyObject, class name: String) { pushObject(object, class: name, on: L) }

    func pushObject(_ object: AnyObject, class name: String, on L: OpaquePointer) {
        let handle = nextObject
        nextObject += 1
        objects[handle] = object
        let block = clua_newuserdata(L, MemoryLayout<Int>.size)!
        block.storeBytes(of: handle, as: Int.self)
        luaL_setmetatable(L, name)
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

    /// Runs a chunk of host-provided Lua (the API prelude); returns an error message on failure.
    public func run(_ code: String, name: String) -> String? {
        do { try load(Array(code.utf8), name: name) } catch {
            switch error { case .syntax(let m), .memory(let m): return m }
        }
        return protectedCall()
    }

    /// Sets `__call` on the table on top of the stack (a callable class table),
    /// shifting arguments so `fn` sees the class table at 1.
    public func setCallMetamethod(_ fn: @escaping LuaFunction) {
        lua_createtable(L, 0, 1)
        push(fn)
        lua_setfield(L, -2, "__call")
        lua_setmetatable(L, -2)
    }


    /// Marks the current stretch of the sketch as active (a poll that found something).
    @inline(__always) public func markActive() { activity.pointee |= LuaState.activeBit }

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
        anchor = state.ref()        // keep the thread alive
        lua_xmove(L, co, 1)         // the function becomes the coroutine's body
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

private func luaDispatch(_ L: OpaquePointer?, _ id: Int32) -> Int32 {
    let state = LuaState.from(L)
    state.currentThread = L
    let call = LuaCall(L: L!, state: state)
    let entry = state.functions[Int(id)]
    if entry.kind == .active { state.activity.pointee |= LuaState.activeBit }
    do {
        return try entry.fn(call)
    } catch {
        switch error {
        case .argument(let arg, let msg):
            call.push(msg)
            return CLUA_RET_ARGERROR_BASE - arg
        case .runtime(let msg):
            call.push(msg)
            return CLUA_RET_ERROR
        }
    }
}

private func luaHook(_ L: OpaquePointer?, _ instructions: Int32) -> Int32 {
    let state = LuaState.from(L)
    return (state.onInstructions?(Int(instructions)) ?? false) ? 1 : 0
}
