import BoardCore
import CPluginABI
import LuaRuntime

// local Wire = require("Wire")   -- any module of a plugin on the search path (also set as a global)
// Plugin modules are described in C (esplua_plugin.h); this file turns them into Lua
// libraries and classes and presents each Lua call to the plugin as an esplua_call.
enum PluginBindings {
    /// Installs the `require` searcher for plugin modules in a fresh Lua state.
    static func register(in state: LuaState, ctx: SketchContext) {
        let registrar = LuaPluginRegistrar(state: state, ctx: ctx)
        ctx.plugins.registrar = registrar
        ctx.pluginRegistrar = registrar
        // require's searcher, in Lua; the Swift part registers the module or says why not
        let searcher = """
            local registerPlugin = ...
            table.insert(package.searchers, function(name)
              local found, why = registerPlugin(name)
              if found then return function() return _G[name] end end
              return why
            end)
            """
        do { try state.load(Array(searcher.utf8), name: "=plugins") } catch { return }
        state.push { call throws(LuaError) in
            let name = try call.string(1)
            do {
                if try ctx.plugins.registerModule(name) { call.push(true); return 1 }
            } catch {
                throw .runtime("\(error)")
            }
            call.push(false)
            // a plugin that could not be used may be the one meant: say why
            let problems = ctx.plugins.discover().problems.map { "\n\t\($0)" }.joined()
            call.push("\n\tno esplua plugin provides '\(name)'" + problems)
            return 2
        }
        if let err = state.protectedCall(nargs: 1) { ctx.log("esplua: internal: \(err)") }
    }
}

/// Registers plugin modules in one Lua state.
final class LuaPluginRegistrar: PluginModuleRegistrar {
    unowned let state: LuaState
    unowned let ctx: SketchContext
    private var classes: [String: (cls: UnsafePointer<esplua_class>, state: UnsafeMutableRawPointer?)] = [:]

    init(state: LuaState, ctx: SketchContext) {
        self.state = state
        self.ctx = ctx
    }

    /// A plugin object held by a Lua userdata; destroyed with it.
    final class Object {
        let pointer: UnsafeMutableRawPointer?
        let cls: UnsafePointer<esplua_class>
        let state: UnsafeMutableRawPointer?
        init(pointer: UnsafeMutableRawPointer?, cls: UnsafePointer<esplua_class>, state: UnsafeMutableRawPointer?) {
            self.pointer = pointer; self.cls = cls; self.state = state
        }
        func destroy() { cls.pointee.destroy?(state, pointer) }
    }

    func register(module: UnsafePointer<esplua_module>, state pluginState: UnsafeMutableRawPointer?, plugin: LoadedPlugin) -> Bool {
        let name = String(cString: module.pointee.name)
        var fns: [(String, LuaFunction)] = []
        if var f = module.pointee.functions {
            while let fname = f.pointee.name {
                let fn = f.pointee.fn
                fns.append(
                    (
                        String(cString: fname),
                        { [unowned self] call throws(LuaError) in
                            try self.invoke(fn, pluginState: pluginState, object: nil, call: call, firstArgument: 1)
                        }
                    ))
                f += 1
            }
        }
        var constants: [(String, Int)] = []
        if var c = module.pointee.constants {
            while let cname = c.pointee.name { constants.append((String(cString: cname), Int(c.pointee.value))); c += 1 }
        }
        state.setLibrary(name, fns, constants: constants)
        for (k, v) in constants { state.setGlobal(k, integer: v) }
        if var cls = module.pointee.classes {
            while cls.pointee.name != nil { defineClass(cls, pluginState: pluginState); cls += 1 }
        }
        return true
    }

    private func defineClass(_ cls: UnsafePointer<esplua_class>, pluginState: UnsafeMutableRawPointer?) {
        let className = String(cString: cls.pointee.name)
        classes[className] = (cls, pluginState)
        var methods: [(String, LuaFunction)] = []
        if var m = cls.pointee.methods {
            while let mname = m.pointee.name {
                let fn = m.pointee.fn
                methods.append(
                    (
                        String(cString: mname),
                        { [unowned self] call throws(LuaError) in
                            let obj = try call.object(1, Object.self, class: className)
                            return try self.invoke(fn, pluginState: pluginState, object: obj.pointer, call: call, firstArgument: 2)
                        }
                    ))
                m += 1
            }
        }
        state.defineClass(className, methods: methods, onCollect: { ($0 as? Object)?.destroy() })
        state.setLibrary(className, [])
        state.getGlobal(className)
        state.setCallMetamethod { [unowned self] call throws(LuaError) in
            guard let construct = cls.pointee.construct else { throw .runtime("\(className) cannot be constructed") }
            let pc = LuaPluginCall(call: call, firstArgument: 2, registrar: self)
            let box = PluginHost.CallBox(pc)
            let p = construct(pluginState, box.pointer)
            if let (i, m) = pc.argumentError { throw .argument(i, m) }
            if let err = pc.error { throw .runtime(err) }
            guard let p else { throw .runtime("\(className)() failed") }
            call.pushObject(Object(pointer: p, cls: cls, state: pluginState), class: className)
            return 1
        }
        state.setTop(state.top - 1)
    }

    private func invoke(
        _ fn: esplua_function?, pluginState: UnsafeMutableRawPointer?, object: UnsafeMutableRawPointer?,
        call: LuaCall, firstArgument: Int32
    ) throws(LuaError) -> Int32 {
        guard let fn else { return 0 }
        let pc = LuaPluginCall(call: call, firstArgument: firstArgument, registrar: self)
        let box = PluginHost.CallBox(pc)
        let n = fn(pluginState, object, box.pointer)
        if let (i, m) = pc.argumentError { throw .argument(i, m) }
        if let err = pc.error { throw .runtime(err) }
        if ctx.unwindIfStopping(call) != 0 { return LuaCall.yield }
        return max(0, min(n, Int32(pc.pushed)))
    }

    func pushObject(_ pointer: UnsafeMutableRawPointer?, className: String, on call: LuaCall) {
        guard let (cls, st) = classes[className] else { call.pushNil(); return }
        call.pushObject(Object(pointer: pointer, cls: cls, state: st), class: className)
    }
}

/// One Lua call presented to a plugin: arguments from `firstArgument`, results pushed in order.
final class LuaPluginCall: PluginCall {
    let call: LuaCall
    let first: Int32
    unowned let registrar: LuaPluginRegistrar
    private(set) var pushed = 0
    private(set) var error: String?
    /// An argument error: the Lua stack index (a method's object is 1, Lua's own
    /// luaL_argerror then counts from the first argument after it) and the message.
    private(set) var argumentError: (Int32, String)?

    init(call: LuaCall, firstArgument: Int32, registrar: LuaPluginRegistrar) {
        self.call = call
        first = firstArgument
        self.registrar = registrar
    }

    private func index(_ i: Int) -> Int32 { first + Int32(i) - 1 }
    var argumentCount: Int { max(0, Int(call.count - first + 1)) }
    func integer(_ i: Int) -> Int64? { call.integerIfAny(index(i)) }
    func number(_ i: Int) -> Double? { call.numberIfAny(index(i)) }
    func boolean(_ i: Int) -> Bool? {
        let t = call.type(index(i))
        return t == 1 ? call.boolean(index(i)) : nil
    }
    func bytes(_ i: Int) -> UnsafeRawBufferPointer? { call.rawBytes(index(i)) }
    func isNil(_ i: Int) -> Bool { call.isNoneOrNil(index(i)) }
    func object(_ i: Int, className: String) -> UnsafeMutableRawPointer? {
        (try? call.object(index(i), LuaPluginRegistrar.Object.self, class: className))?.pointer
    }
    func push(integer: Int64) { call.push(Int(integer)); pushed += 1 }
    func push(number: Double) { call.push(number); pushed += 1 }
    func push(boolean: Bool) { call.push(boolean); pushed += 1 }
    func push(bytes: UnsafeRawBufferPointer) { call.push(rawBytes: bytes); pushed += 1 }
    func pushNil() { call.pushNil(); pushed += 1 }
    func push(object: UnsafeMutableRawPointer?, className: String) {
        registrar.pushObject(object, className: className, on: call)
        pushed += 1
    }
    func pushTable() { call.newTable(arrayCapacity: 0); pushed += 1 }
    func setField(_ key: String, integer: Int64) { call.setField(key, Int(integer)) }
    func setField(_ key: String, number: Double) { call.push(number); call.setFieldFromTop(key) }
    func setField(_ key: String, bytes: UnsafeRawBufferPointer) { call.push(rawBytes: bytes); call.setFieldFromTop(key) }
    func setField(_ key: String, boolean: Bool) { call.setField(key, boolean) }
    func fail(_ message: String) -> Int32 {
        if error == nil && argumentError == nil { error = message }
        return -1
    }
    func failArgument(_ i: Int, _ message: String) -> Int32 {
        if error == nil && argumentError == nil { argumentError = (index(max(1, i)), message) }
        return -1
    }
}
