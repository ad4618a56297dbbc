import BoardCore
import BoardNet
import LuaRuntime

/// Installs the Arduino API of the ESP8266 core into a sketch's Lua state,
/// in place of the host: no `io`, no `os`, no `debug`, no `dofile`/`loadfile`,
/// `load` of text only, and `require` only from the sketch's folder.
enum ArduinoAPI {
    static func install(in state: LuaState, device: Device, sketchDirectory: String) {
        state.withGrace {
            sandbox(state, sketchDirectory: sketchDirectory)
            GPIOBindings.register(in: state, device: device)
            TimeBindings.register(in: state, device: device)
            SerialBindings.register(in: state, device: device)
            ESPBindings.register(in: state, device: device)
            WiFiBindings.register(in: state, device: device)
            WiFiServerBindings.register(in: state, device: device)
            WiFiClientBindings.register(in: state, device: device)
            WiFiUDPBindings.register(in: state, device: device)
            LwIPBindings.register(in: state, device: device)
            PluginBindings.register(in: state, device: device)
            if let err = state.run(prelude, name: "=esplua") { device.log("esplua: internal prelude error: \(err)") }
        }
    }

    static func sandbox(_ state: LuaState, sketchDirectory: String) {
        for name in ["dofile", "loadfile"] { state.setGlobalNil(name) }
        let dir = sketchDirectory.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
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
