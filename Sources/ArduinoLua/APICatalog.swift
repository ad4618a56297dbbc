import BoardCore
import LuaRuntime

/// The API registry of a sketch's Lua state as the runtime installs it, without
/// running a sketch: for `esplua check` and `esplua api` (DESIGN.md decision 16).
public enum APICatalog {
    /// Installs the Arduino API in a fresh state of a board that never boots, and
    /// requires every plugin module found on the search path (`pluginPaths`, then
    /// $ESPLUA_PLUGIN_PATH and esplua's own folder), as a sketch's `require` would.
    /// Returns what the installing calls recorded.
    public static func registry(pluginPaths: [String] = [], pluginBuildFolder: String? = PluginHost.executableFolder) throws -> APIRegistry {
        var options = DeviceOptions(sketchPath: "/nonexistent/esplua-api.lua")
        options.board.timeMode = .virtual
        options.pluginPaths = pluginPaths
        options.pluginBuildFolder = pluginBuildFolder
        let device = try Device(options: options, serialSink: { _ in })
        device.log = { _ in }
        defer { device.shutdown() }
        guard let state = LuaState(memoryLimit: options.luaMemoryLimit) else { return APIRegistry() }
        ArduinoAPI.install(in: state, ctx: device.context, sketchDirectory: ".")
        for module in device.plugins.discover().libraries.flatMap(\.moduleNames) {
            _ = state.run("require(\"\(module)\")", name: "=api")
        }
        return state.api
    }
}
