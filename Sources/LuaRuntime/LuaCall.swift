import CLua
import CLuaShim

/// The arguments and results of one call from Lua into Swift.
/// Every accessor is non-raising: failures become `LuaError`s that the C
/// trampoline raises after the Swift frame has returned.
public struct LuaCall {
    /// The calling thread.
    public let L: OpaquePointer
    /// Not retained: a call never outlives its state (the state owns every function).
    public unowned(unsafe) let state: LuaState

    /// A call on thread `L` of `state` (the host making one to run Lua on a given thread).
    @inline(__always)
    public init(thread L: OpaquePointer, state: LuaState) {
        self.L = L
        self.state = state
    }

    /// Return this from a `LuaFunction` to suspend the sketch's coroutine.
    public static let yield: Int32 = CLUA_RET_YIELD

    /// Sets `LuaState.activeBit`: a poll found something (see `LuaFunctionKind`).
    @inline(__always) public func markActive() { state.markActive() }

    /// Leaves `error`'s message on the stack; returns the code the trampoline raises it by.
    func errorResult(_ error: LuaError) -> Int32 {
        switch error {
        case .argument(let arg, let msg):
            push(msg)
            return CLUA_RET_ARGERROR_BASE - arg
        case .runtime(let msg):
            push(msg)
            return CLUA_RET_ERROR
        }
    }

    public var count: Int32 { lua_gettop(L) }
    public var isYieldable: Bool { lua_isyieldable(L) != 0 }

    public func type(_ i: Int32) -> Int32 { lua_type(L, i) }
    public func isNoneOrNil(_ i: Int32) -> Bool { lua_type(L, i) <= LUA_TNIL }
    public func typeName(_ i: Int32) -> String { String(cString: clua_typename_at(L, i)) }

    func expected(_ i: Int32, _ what: String) -> LuaError {
        .argument(i, "\(what) expected, got \(isNoneOrNil(i) && lua_type(L, i) == LUA_TNONE ? "no value" : typeName(i))")
    }

    /// An integer argument; floats with an exact integer value are accepted, as luaL_checkinteger does.
    public func integer(_ i: Int32) throws(LuaError) -> Int {
        var ok: Int32 = 0
        let v = clua_tointeger(L, i, &ok)
        if ok != 0 { return Int(v) }
        if lua_type(L, i) == LUA_TNUMBER { throw .argument(i, "number has no integer representation") }
        if lua_type(L, i) == LUA_TBOOLEAN { return lua_toboolean(L, i) != 0 ? 1 : 0 }
        throw expected(i, "number")
    }

    public func optionalInteger(_ i: Int32, default d: Int) throws(LuaError) -> Int {
        isNoneOrNil(i) ? d : try integer(i)
    }

    public func number(_ i: Int32) throws(LuaError) -> Double {
        var ok: Int32 = 0
        let v = clua_tonumber(L, i, &ok)
        if ok != 0 { return v }
        throw expected(i, "number")
    }

    /// A string argument (numbers are converted, as luaL_checklstring does).
    public func string(_ i: Int32) throws(LuaError) -> String {
        guard let s = LuaState.string(L, at: i) else { throw expected(i, "string") }
        return s
    }

    public func optionalString(_ i: Int32) throws(LuaError) -> String? {
        isNoneOrNil(i) ? nil : try string(i)
    }

    /// Raw bytes of a string argument (binary-safe).
    public func bytes(_ i: Int32) throws(LuaError) -> [UInt8] {
        let t = lua_type(L, i)
        guard t == LUA_TSTRING || t == LUA_TNUMBER else { throw expected(i, "string") }
        var len = 0
        let p = lua_tolstring(L, i, &len)!
        return Array(UnsafeRawBufferPointer(start: p, count: len))
    }

    public func boolean(_ i: Int32) -> Bool { lua_toboolean(L, i) != 0 }

    /// The bytes of a string argument, valid while it stays on the stack (no copy).
    public func rawBytes(_ i: Int32) -> UnsafeRawBufferPointer? {
        guard lua_type(L, i) == LUA_TSTRING else { return nil }
        var len = 0
        guard let p = lua_tolstring(L, i, &len) else { return nil }
        return UnsafeRawBufferPointer(start: p, count: len)
    }

    /// The integer argument `i` if it is one (or a float with an integral value).
    public func integerIfAny(_ i: Int32) -> Int64? {
        guard lua_type(L, i) == LUA_TNUMBER else { return nil }
        var ok: Int32 = 0
        let v = lua_tointegerx(L, i, &ok)
        return ok != 0 ? Int64(v) : nil
    }

    public func numberIfAny(_ i: Int32) -> Double? {
        guard lua_type(L, i) == LUA_TNUMBER else { return nil }
        return lua_tonumberx(L, i, nil)
    }

    public func push(rawBytes: UnsafeRawBufferPointer) {
        lua_pushlstring(L, rawBytes.baseAddress?.assumingMemoryBound(to: CChar.self), rawBytes.count)
    }

    /// A function argument, kept alive in the registry; returns its reference.
    /// Pushes a copy of argument `i`.
    public func pushValue(_ i: Int32) { lua_pushvalue(L, i) }

    /// A registry reference to argument `i`, whatever it is (release with `LuaState.unref`).
    public func valueRef(_ i: Int32) -> Int32 {
        lua_pushvalue(L, i)
        return luaL_ref(L, clua_registryindex())
    }

    public func functionRef(_ i: Int32) throws(LuaError) -> Int32 {
        guard lua_type(L, i) == LUA_TFUNCTION else { throw expected(i, "function") }
        lua_pushvalue(L, i)
        return luaL_ref(L, clua_registryindex())
    }

    // MARK: objects

    /// The Swift object behind userdata argument `i` of class `name`. Nothing is
    /// hashed, allocated or retained but the object: C finds the class by comparing the
    /// userdata's metatable with the classes' by address, then its name is compared,
    /// and the block holds the object and its type (no dynamic cast when it is `T`).
    @inlinable
    public func object<T: AnyObject>(_ i: Int32, _ type: T.Type, class name: String) throws(LuaError) -> T {
        let (p, exact) = try objectPointer(i, class: name, type: ObjectIdentifier(T.self))
        if exact { return Unmanaged<T>.fromOpaque(p).takeUnretainedValue() }
        guard let obj = Unmanaged<AnyObject>.fromOpaque(p).takeUnretainedValue() as? T else {
            throw .argument(i, "\(name) is closed")
        }
        return obj
    }

    /// Runs `body` with the object behind userdata argument `i` of class `name`,
    /// without retaining it (the userdata on the stack keeps it alive meanwhile):
    /// for the hottest methods, where a retain and a release are most of the call.
    @inlinable
    public func withObject<T: AnyObject, R>(
        _ i: Int32, _ type: T.Type, class name: String,
        _ body: (T) -> R
    ) throws(LuaError) -> R {
        let (p, exact) = try objectPointer(i, class: name, type: ObjectIdentifier(T.self))
        if exact { return Unmanaged<T>.fromOpaque(p)._withUnsafeGuaranteedRef(body) }
        guard let obj = Unmanaged<AnyObject>.fromOpaque(p).takeUnretainedValue() as? T else {
            throw .argument(i, "\(name) is closed")
        }
        return body(obj)
    }

    /// The (unretained) object behind userdata argument `i` of class `name`, and
    /// whether its type is exactly `type`.
    @usableFromInline
    func objectPointer(_ i: Int32, class name: String, type: ObjectIdentifier) throws(LuaError) -> (UnsafeMutableRawPointer, Bool) {
        var k: Int32 = -1
        if let block = clua_toobject(L, i, &k), LuaState.className(L, k) == name {
            if let p = block.pointee.object {
                return (p, block.pointee.type == UnsafeRawPointer(bitPattern: UInt(bitPattern: type)))
            }
            throw .argument(i, "\(name) is closed")
        }
        if i == 1 { try colonMissing(class: name) }
        throw expected(i, name)
    }

    /// `client.stop()` for `client:stop()`: argument 1 is not the object and the
    /// method was called as a field, with a dot. Says so, naming the method.
    func colonMissing(class name: String) throws(LuaError) {
        var fname: UnsafePointer<CChar>?
        guard clua_called_as_method(L, &fname) == 2 else { return }
        let f = fname.map { String(cString: $0) } ?? "method"
        let given = isNoneOrNil(1) && lua_type(L, 1) == LUA_TNONE ? "no value" : typeName(1)
        throw .runtime(
            "use a colon: obj:\(f)(...), not obj.\(f)(...) (\(f) is a method of \(name): it needs the object as argument #1, got \(given))")
    }

    /// Whether argument `i` is the value of global `name` (a library table).
    public func isGlobal(_ i: Int32, _ name: String) -> Bool {
        lua_getglobal(L, name)
        defer { clua_pop(L, 1) }
        return lua_rawequal(L, i, -1) != 0
    }

    // MARK: results

    public func push(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }
    public func push(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }
    // inlinable: a binding's push is then one call into Lua
    @inlinable public func push(_ i: Int) { lua_pushinteger(L, lua_Integer(i)) }
    @inlinable public func push(_ d: Double) { lua_pushnumber(L, d) }
    @inlinable public func push(_ b: Bool) { lua_pushboolean(L, b ? 1 : 0) }
    @inlinable public func pushNil() { lua_pushnil(L) }
    public func pushObject(_ o: AnyObject, class name: String) { state.pushObject(o, class: name, on: L) }

    public var top: Int32 { lua_gettop(L) }
    public func setTop(_ n: Int32) { lua_settop(L, n) }
    /// Pushes the value kept under registry reference `r`.
    public func pushRef(_ r: Int32) { lua_rawgeti(L, clua_registryindex(), lua_Integer(r)) }

    /// Calls the function below `nargs` arguments on this call's thread, under a
    /// traceback handler. Returns nil on success, or the error message.
    public func protectedCall(nargs: Int32 = 0, nresults: Int32 = 0) -> String? {
        let status = clua_pcall_traceback(L, nargs, nresults)
        if status == LUA_OK { return nil }
        let msg = LuaState.string(L, at: -1) ?? "(error object is not a string)"
        clua_pop(L, 1)
        return msg
    }

    public func setField(_ key: String, _ value: Bool) {
        lua_pushboolean(L, value ? 1 : 0)
        lua_setfield(L, -2, key)
    }

    public func newTable(arrayCapacity: Int) { lua_createtable(L, Int32(arrayCapacity), 8) }
    /// t.key = value, t on top of the stack.
    public func setField(_ key: String, _ value: String) {
        push(value)
        lua_setfield(L, -2, key)
    }
    public func setField(_ key: String, _ value: Int) {
        lua_pushinteger(L, lua_Integer(value))
        lua_setfield(L, -2, key)
    }
    /// t.key = the value on top (t just below it); pops the value.
    public func setFieldFromTop(_ key: String) { lua_setfield(L, -2, key) }

    /// t[i] = value on top (t just below it).
    public func setIndex(_ i: Int) { lua_rawseti(L, -2, lua_Integer(i)) }

    /// A full garbage collection, run on the calling thread (finalizers included),
    /// as `collectgarbage()` from the sketch would.
    public func collectGarbage() { clua_gc_collect(L) }

    /// The writes `Print::print` makes for argument `i`: one, except a negative
    /// integer in base 10, which is `print('-')` then its digits (Print.cpp:141-148).
    public func printWrites(_ i: Int32, base: Int = 10, digits: Int = 2) throws(LuaError) -> [String] {
        let text = try printable(i, base: base, digits: digits)
        if base == 10, lua_type(L, i) == LUA_TNUMBER, clua_isinteger(L, i) != 0, text.hasPrefix("-") {
            return ["-", String(text.dropFirst())]
        }
        return [text]
    }

    /// The writes of a stream's `print(x [, format])` (argument 2, the format, base
    /// or decimals, at 3) or, with `newline`, `println([x [, format]])`: print(x),
    /// then "\r\n" as a write of its own (Print::println, Print.cpp).
    public func streamPrintWrites(newline: Bool) throws(LuaError) -> [String] {
        var w: [String] = []
        if !(newline && isNoneOrNil(2)) {
            w = isNoneOrNil(3) ? try printWrites(2) : try printWrites(2, base: try integer(3), digits: try integer(3))
        }
        return newline ? w + ["\r\n"] : w
    }

    /// Arduino `print`-style text of argument `i`: integers in `base`, floats with
    /// `digits` decimals (Print::print(double) defaults to 2), booleans as 1/0.
    public func printable(_ i: Int32, base: Int = 10, digits: Int = 2) throws(LuaError) -> String {
        switch lua_type(L, i) {
        case LUA_TSTRING:
            return try string(i)
        case LUA_TNUMBER:
            if clua_isinteger(L, i) != 0 {
                let v = Int(clua_tointeger(L, i, nil))
                // Print::print(long, base): other bases print the 32-bit two's complement
                return base == 10 ? String(v) : String(UInt32(truncatingIfNeeded: v), radix: base, uppercase: true)
            }
            return ArduinoFormat.double(clua_tonumber(L, i, nil), digits: digits)
        case LUA_TBOOLEAN:
            return boolean(i) ? "1" : "0"
        case LUA_TNIL, LUA_TNONE:
            throw .argument(i, "value expected")
        default:
            return "\(typeName(i))"
        }
    }
}

/// Number formatting as the core's Print class does it.
public enum ArduinoFormat {
    /// Print::printFloat: "nan", "inf", "ovf" beyond ±4294967040, else fixed `digits`.
    public static func double(_ v: Double, digits: Int) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return "inf" }
        if v > 4294967040.0 || v < -4294967040.0 { return "ovf" }
        var number = v
        var out = ""
        if number < 0 { out = "-"; number = -number }
        var rounding = 0.5
        for _ in 0..<max(0, digits) { rounding /= 10 }
        number += rounding
        let intPart = UInt64(number)
        var remainder = number - Double(intPart)
        out += String(intPart)
        if digits > 0 { out += "." }
        for _ in 0..<max(0, digits) {
            remainder *= 10
            let d = Int(remainder)
            out += String(d)
            remainder -= Double(d)
        }
        return out
    }
}
