import CPluginABI
import Glibc

// Helpers the Swift plugins share: static C data for describe(), and typed access
// to a call's arguments. Linked into each plugin library.

/// A C string that lives as long as the library.
public func cstr(_ s: String) -> UnsafePointer<CChar> { UnsafePointer(strdup(s)!) }

/// A C array that lives as long as the library.
public func table<T>(_ items: [T]) -> UnsafePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: items.count)
    p.initialize(from: items, count: items.count)
    return UnsafePointer(p)
}

/// A NULL-terminated list of names (controls).
public func names(_ list: [String]) -> UnsafePointer<UnsafePointer<CChar>?> { table(list.map { Optional(cstr($0)) } + [nil]) }

/// A {NULL}-terminated list of controls' kinds, units and ranges (ABI 1.2's
/// `esplua_part_type.control_info`): `(name, unit, min, max, kind, flags)`.
public func controlInfo(_ list: [(String, String?, Double, Double, Int32, Int32)]) -> UnsafePointer<esplua_control_info> {
    table(
        list.map { esplua_control_info(name: cstr($0.0), unit: $0.1.map(cstr), min: $0.2, max: $0.3, kind: $0.4, flags: $0.5, reserved: (nil, nil)) }
            + [esplua_control_info(name: nil, unit: nil, min: 0, max: 0, kind: 0, flags: 0, reserved: (nil, nil))])
}

/// The methods' terminator and friends.
nonisolated(unsafe) public let endOfMethods = esplua_method(name: nil, fn: nil)
nonisolated(unsafe) public let noReserved: (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) = (
    nil, nil, nil, nil
)

/// A part type's reserved slots (1.2 took the first of its four for `control_info`).
nonisolated(unsafe) public let noReservedPart: (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) = (nil, nil, nil)

/// Argument `i` of `call` as an integer, nil if it is missing or not one.
public func argInteger(_ host: UnsafePointer<esplua_host>, _ call: OpaquePointer?, _ i: Int32) -> Int64? {
    var v: Int64 = 0
    return host.pointee.arg_integer(call, i, &v) == 0 ? v : nil
}

/// Argument `i` as bytes (a Lua string), nil if it is not a string.
public func argBytes(_ host: UnsafePointer<esplua_host>, _ call: OpaquePointer?, _ i: Int32) -> [UInt8]? {
    var p: UnsafePointer<CChar>?
    var n = 0
    guard host.pointee.arg_string(call, i, &p, &n) == 0 else { return nil }
    return Array(UnsafeRawBufferPointer(start: p, count: n))
}

/// Optional boolean argument `i` (missing or nil gives `default`).
public func argBoolean(_ host: UnsafePointer<esplua_host>, _ call: OpaquePointer?, _ i: Int32, default d: Bool) -> Bool {
    if host.pointee.arg_is_nil(call, i) != 0 { return d }
    var v: Int32 = 0
    return host.pointee.arg_boolean(call, i, &v) == 0 ? v != 0 : d
}

public func retBytes(_ host: UnsafePointer<esplua_host>, _ call: OpaquePointer?, _ bytes: [UInt8]) {
    bytes.withUnsafeBufferPointer { b in
        b.withMemoryRebound(to: CChar.self) { host.pointee.ret_string(call, $0.baseAddress, $0.count) }
    }
}

/// A plugin's own state behind the `void *state` the host passes back.
public func plugin<T: AnyObject>(_ p: UnsafeMutableRawPointer?, as: T.Type) -> T { Unmanaged<T>.fromOpaque(p!).takeUnretainedValue() }

/// `esplua_plugin_init` for a Swift plugin: checks the host table is at least as
/// large as this plugin's header and keeps `make(host, board)` as the plugin's state.
public func startPlugin<T: AnyObject>(
    _ host: UnsafePointer<esplua_host>?, _ board: OpaquePointer?,
    _ state: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    _ make: (UnsafePointer<esplua_host>, OpaquePointer?) -> T
) -> Int32 {
    guard let host, host.pointee.size >= UInt32(MemoryLayout<esplua_host>.size) else { return -1 }
    state?.pointee = Unmanaged.passRetained(make(host, board)).toOpaque()
    return 0
}

/// `esplua_plugin_destroy` for a state made by `startPlugin`.
public func stopPlugin<T: AnyObject>(_ state: UnsafeMutableRawPointer?, _ type: T.Type) {
    if let state { Unmanaged<T>.fromOpaque(state).release() }
}
