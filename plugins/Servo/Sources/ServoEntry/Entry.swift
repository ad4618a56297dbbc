import CPluginABI
import ServoPlugin

// The plugin's C entry points (esplua_plugin.h); the ABI symbol comes from PluginExport.

@_cdecl("esplua_plugin_describe")
public func esplua_plugin_describe() -> UnsafePointer<esplua_plugin_info> { ServoExports.describe() }

@_cdecl("esplua_plugin_init")
public func esplua_plugin_init(
    _ host: UnsafePointer<esplua_host>?, _ board: OpaquePointer?,
    _ state: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 {
    ServoExports.start(host, board, state)
}

@_cdecl("esplua_plugin_destroy")
public func esplua_plugin_destroy(_ state: UnsafeMutableRawPointer?) { ServoExports.stop(state) }
