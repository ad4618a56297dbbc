import BoardCore
import BoardNet
import LuaRuntime

/// Installs the Arduino API of the ESP8266 core into a sketch's Lua state,
/// in place of the host: no `io`, no `os`, no `debug`, no `dofile`/`loadfile`,
/// `load` of text only, `require` only from the sketch's folder, and no `__gc`
/// finalizers (Lua runs them with hooks off, out of the watchdog's reach).
enum ArduinoAPI {
    static func install(in state: LuaState, ctx: SketchContext, sketchDirectory: String) {
        state.activity = ctx.board.loop.activity
        state.describeMissing = { [unowned state] owner, key, isMethod in
            APIHelp.missing(owner: owner, key: key, isMethod: isMethod, api: state.api)
        }
        state.withGrace {
            sandbox(state, sketchDirectory: sketchDirectory)
            let luaNames = state.globalNames()
            GPIOBindings.register(in: state, ctx: ctx)
            InterruptBindings.register(in: state, ctx: ctx)
            AdvancedIOBindings.register(in: state, ctx: ctx)
            TimeBindings.register(in: state, ctx: ctx)
            TimeOfDayBindings.register(in: state, ctx: ctx)
            WMathBindings.register(in: state, ctx: ctx)
            SerialBindings.register(in: state, ctx: ctx)
            ESPBindings.register(in: state, ctx: ctx)
            WiFiBindings.register(in: state, ctx: ctx)
            WiFiMultiBindings.register(in: state, ctx: ctx)
            WiFiServerBindings.register(in: state, ctx: ctx)
            WiFiClientBindings.register(in: state, ctx: ctx)
            WiFiClientSecureBindings.register(in: state, ctx: ctx)
            WiFiUDPBindings.register(in: state, ctx: ctx)
            LwIPBindings.register(in: state, ctx: ctx)
            PluginBindings.register(in: state, ctx: ctx)
            TickerBindings.register(in: state, ctx: ctx)
            EEPROMBindings.register(in: state, ctx: ctx)
            ESP8266WebServerBindings.register(in: state, ctx: ctx)
            ESP8266HTTPClientBindings.register(in: state, ctx: ctx)
            MDNSBindings.register(in: state, ctx: ctx)
            if let err = state.run(prelude + "\n" + EEPROMBindings.prelude, name: "=esplua") {
                ctx.log("esplua: internal prelude error: \(err)")
            }
            if let err = state.run(finalizerGuard, name: "=sandbox") { ctx.log("esplua: internal sandbox error: \(err)") }
            // what the prelude (or any binding, in Lua) defined is registered too
            state.recordLuaDefinitions(baseline: luaNames)
        }
    }

    static func sandbox(_ state: LuaState, sketchDirectory: String) {
        for name in ["dofile", "loadfile"] { state.setGlobalNil(name) }
        // the folder in a Lua string literal: backslashes and quotes escaped
        var dir = ""
        for u in sketchDirectory.unicodeScalars {
            if u == "\\" || u == "\"" { dir.unicodeScalars.append("\\") }
            dir.unicodeScalars.append(u)
        }
        let code = """
            local load = load
            _G.load = function(chunk, name, mode, env) return load(chunk, name, "t", env) end
            package.loadlib = nil
            package.cpath = ""
            package.path = "\(dir)/?.lua;\(dir)/?/init.lua"
            package.searchers = { package.searchers[1], package.searchers[2] }
            math.randomseed(0x8266)
            """
        if let err = state.run(code, name: "=sandbox") { fatalError("sandbox: \(err)") }
    }

    /// Lua runs __gc finalizers with hooks off, so a finalizer that loops would hang
    /// the host where the watchdog cannot see it: the sketch's `setmetatable` refuses
    /// `__gc` (it has `__close`). Installed last: esplua's own Lua libraries keep
    /// Lua's `setmetatable` (their finalizers give heap back and never loop).
    static let finalizerGuard = """
        local setmetatable, rawget, type, error = setmetatable, rawget, type, error
        _G.setmetatable = function(t, mt)
          if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
            error("__gc finalizers are not available on esplua (they run where the watchdog cannot "
              .. "reach them); close the object yourself, or use a <close> variable with __close", 2)
          end
          return setmetatable(t, mt)
        end
        """

    /// API pieces simplest to express in Lua itself.
    static let prelude = """
        function Serial.printf(fmt, ...) return Serial.print(string.format(fmt, ...)) end
        print = function(...)
          local n, parts = select("#", ...), {}
          for i = 1, n do parts[i] = tostring((select(i, ...))) end
          Serial.write(table.concat(parts, "\\t") .. "\\n")
        end
        """
}

extension Pins.PinError {
    func lua(_ arg: Int32) -> LuaError { .argument(arg, description) }
}
