import CPluginABI
import LittleFSCore
import PluginKit

/// The LittleFS plugin: the core's `LittleFS` object (FS.h / LittleFS.h) on
/// littlefs v2 in the board's flash, with the Arduino layer's rules: at most 5
/// open files, path components of at most 31 characters, auto-format on begin,
/// directories made when a file is opened for writing, empty parents removed.
final class FSPlugin {
    let host: UnsafePointer<esplua_host>
    let board: OpaquePointer?
    var fs: LittleFS?
    lazy var device = FlashBlockDevice(host: host, board: board)
    static let maxOpenFiles = 5, maxPathLength = 32

    init(host: UnsafePointer<esplua_host>, board: OpaquePointer?) { self.host = host; self.board = board }
    var h: esplua_host { host.pointee }

    func warn(_ s: String) { h.log(board, 1, s) }

    /// The Arduino layer's name check: each component at most 31 characters.
    func nameOK(_ path: String) -> Bool {
        path.split(separator: "/").allSatisfy { $0.utf8.count < FSPlugin.maxPathLength }
    }

    func mount() -> Bool {
        fs?.unmount()
        fs = try? LittleFS.mount(device: device)
        return fs != nil
    }
}

/// An open file (`File` in Lua).
final class OpenFile {
    let file: LFSFile
    unowned let plugin: FSPlugin
    var closed = false
    init(file: LFSFile, plugin: FSPlugin) { self.file = file; self.plugin = plugin }
    func close() { if !closed { closed = true; try? file.close() } }
}

/// A directory being walked (`Dir` in Lua).
final class DirWalk {
    let path: String
    var entries: [LFSInfo]
    var index = -1
    unowned let plugin: FSPlugin
    init(path: String, entries: [LFSInfo], plugin: FSPlugin) { self.path = path; self.entries = entries; self.plugin = plugin }
    var current: LFSInfo? { entries.indices.contains(index) ? entries[index] : nil }
}

private func fsp(_ s: UnsafeMutableRawPointer?) -> FSPlugin { plugin(s, as: FSPlugin.self) }
private func str(_ p: FSPlugin, _ call: OpaquePointer?, _ i: Int32) -> String? { argBytes(p.host, call, i).map { String(decoding: $0, as: UTF8.self) } }

/// Opens `path` the Arduino way; nil (and a warning) when it cannot be.
private func openFile(_ p: FSPlugin, _ path: String, _ mode: String) -> OpenFile? {
    guard let fs = p.fs else { p.warn("LittleFS: open(\(path)) before LittleFS.begin()"); return nil }
    guard let flags = LFSOpenFlags.fopen(mode), ["r", "w", "a", "r+", "w+", "a+"].contains(mode) else {
        p.warn("LittleFS: open(\(path), \"\(mode)\"): mode must be r, w, a, r+, w+ or a+"); return nil
    }
    guard p.nameOK(path) else { p.warn("LittleFS: \(path): a name is longer than 31 characters"); return nil }
    guard fs.openFileCount < FSPlugin.maxOpenFiles else { p.warn("LittleFS: open(\(path)): 5 files are open already"); return nil }
    if mode != "r" && mode != "r+" {
        // the core makes the directories of a file opened for writing
        var dir = ""
        for part in path.split(separator: "/").dropLast() {
            dir += "/" + part
            if !fs.exists(dir) { try? fs.mkdir(dir) }
        }
    }
    guard let f = try? fs.open(path, flags: flags) else { return nil }
    return OpenFile(file: f, plugin: p)
}

private func retFile(_ p: FSPlugin, _ call: OpaquePointer?, _ f: OpenFile?) -> Int32 {
    if let f { p.h.ret_object(call, "File", Unmanaged.passRetained(f).toOpaque()) } else { p.h.ret_nil(call) }
    return 1
}

nonisolated(unsafe) private let functions: [esplua_method] = [
    esplua_method(
        name: cstr("begin"),
        fn: { s, _, call in
            // mount; if that fails, format and mount (the core's default)
            let p = fsp(s)
            var ok = p.mount()
            if !ok {
                p.warn("LittleFS: no file system in flash: formatting")
                ok = (try? LittleFS.format(device: p.device)) != nil && p.mount()
            }
            p.h.ret_boolean(call, ok ? 1 : 0); return 1
        }),
    esplua_method(
        name: cstr("end"),
        fn: { s, _, _ in
            let p = fsp(s); p.fs?.unmount(); p.fs = nil; return 0
        }),
    esplua_method(
        name: cstr("format"),
        fn: { s, _, call in
            let p = fsp(s)
            let wasMounted = p.fs != nil
            p.fs?.unmount(); p.fs = nil
            var ok = (try? LittleFS.format(device: p.device)) != nil
            if ok && wasMounted { ok = p.mount() }
            p.h.ret_boolean(call, ok ? 1 : 0); return 1
        }),
    esplua_method(
        name: cstr("info"),
        fn: { s, _, call in
            let p = fsp(s)
            guard let fs = p.fs else { p.h.ret_nil(call); return 1 }
            let bs = Int64(p.device.blockSize)
            p.h.ret_table(call)
            p.h.set_field_integer(call, "totalBytes", bs * Int64(p.device.blockCount))
            p.h.set_field_integer(call, "usedBytes", Int64((try? fs.usedBlocks()) ?? 0) * bs)
            p.h.set_field_integer(call, "blockSize", bs)
            p.h.set_field_integer(call, "pageSize", Int64(ESP8266Layout.pageSize))
            p.h.set_field_integer(call, "maxOpenFiles", Int64(FSPlugin.maxOpenFiles))
            p.h.set_field_integer(call, "maxPathLength", Int64(FSPlugin.maxPathLength))
            return 1
        }),
    esplua_method(
        name: cstr("open"),
        fn: { s, _, call in
            let p = fsp(s)
            guard let path = str(p, call, 1) else { return p.h.error(call, "bad argument #1 to 'open' (path expected)") }
            let mode = str(p, call, 2) ?? "r"
            return retFile(p, call, openFile(p, path, mode))
        }),
    esplua_method(
        name: cstr("exists"),
        fn: { s, _, call in
            let p = fsp(s)
            guard let path = str(p, call, 1) else { return p.h.error(call, "bad argument #1 to 'exists' (path expected)") }
            p.h.ret_boolean(call, p.fs?.exists(path) == true ? 1 : 0); return 1
        }),
    esplua_method(
        name: cstr("remove"),
        fn: { s, _, call in
            // removes the file, then its parent directories that became empty
            let p = fsp(s)
            guard let path = str(p, call, 1) else { return p.h.error(call, "bad argument #1 to 'remove' (path expected)") }
            guard let fs = p.fs, (try? fs.stat(path))?.isDirectory == false, (try? fs.remove(path)) != nil else { p.h.ret_boolean(call, 0); return 1 }
            var parts = path.split(separator: "/").dropLast()
            while !parts.isEmpty {
                let dir = "/" + parts.joined(separator: "/")
                guard (try? fs.listDirectory(dir))?.filter({ $0.name != "." && $0.name != ".." }).isEmpty == true,
                    (try? fs.remove(dir)) != nil
                else { break }
                parts = parts.dropLast()
            }
            p.h.ret_boolean(call, 1); return 1
        }),
    esplua_method(
        name: cstr("rename"),
        fn: { s, _, call in
            let p = fsp(s)
            guard let a = str(p, call, 1), let b = str(p, call, 2) else { return p.h.error(call, "rename(from, to) expects two paths") }
            p.h.ret_boolean(call, p.nameOK(b) && (try? p.fs?.rename(a, b)) != nil ? 1 : 0); return 1
        }),
    esplua_method(
        name: cstr("mkdir"),
        fn: { s, _, call in
            let p = fsp(s)
            guard let path = str(p, call, 1) else { return p.h.error(call, "bad argument #1 to 'mkdir' (path expected)") }
            p.h.ret_boolean(call, p.nameOK(path) && (try? p.fs?.mkdir(path)) != nil ? 1 : 0); return 1
        }),
    esplua_method(
        name: cstr("rmdir"),
        fn: { s, _, call in
            let p = fsp(s)
            guard let path = str(p, call, 1) else { return p.h.error(call, "bad argument #1 to 'rmdir' (path expected)") }
            let isDir = (try? p.fs?.stat(path))??.isDirectory == true
            p.h.ret_boolean(call, isDir && (try? p.fs?.remove(path)) != nil ? 1 : 0); return 1
        }),
    esplua_method(
        name: cstr("openDir"),
        fn: { s, _, call in
            let p = fsp(s)
            let path = str(p, call, 1) ?? "/"
            let entries = ((try? p.fs?.listDirectory(path)) ?? nil ?? []).filter { $0.name != "." && $0.name != ".." }
            p.h.ret_object(call, "Dir", Unmanaged.passRetained(DirWalk(path: path, entries: entries, plugin: p)).toOpaque())
            return 1
        }),
    endOfMethods,
]

private func file(_ o: UnsafeMutableRawPointer?) -> OpenFile { plugin(o, as: OpenFile.self) }

/// Runs `body` on an open file; a closed one reads as empty (as a false File does).
private func withFile(_ o: UnsafeMutableRawPointer?, _ call: OpaquePointer?, _ orElse: () -> Void, _ body: (OpenFile) -> Void) -> Int32 {
    let f = file(o)
    if f.closed { orElse() } else { body(f) }
    return 1
}

/// Print's text of argument 1 (strings as they are, integers in decimal, floats with 2 decimals).
private func printable(_ f: OpenFile, _ call: OpaquePointer?) -> [UInt8] {
    let host = f.plugin.host
    if f.plugin.h.arg_is_nil(call, 1) != 0 { return [] }
    if let i = argInteger(host, call, 1) { return Array(String(i).utf8) }
    var d = 0.0
    if host.pointee.arg_number(call, 1, &d) == 0 {
        let scaled = (abs(d) * 100).rounded()
        let whole = Int64(scaled / 100), cents = Int64(scaled.truncatingRemainder(dividingBy: 100))
        return Array(((d < 0 ? "-" : "") + "\(whole)." + (cents < 10 ? "0" : "") + "\(cents)").utf8)
    }
    var b: Int32 = 0
    if host.pointee.arg_boolean(call, 1, &b) == 0 { return Array((b != 0 ? "1" : "0").utf8) }
    return argBytes(host, call, 1) ?? []
}

nonisolated(unsafe) private let fileMethods: [esplua_method] = [
    esplua_method(
        name: cstr("print"),
        fn: { _, o, call in
            let f = file(o)
            f.plugin.h.ret_integer(call, f.closed ? 0 : Int64((try? f.file.write(printable(f, call))) ?? 0))
            return 1
        }),
    esplua_method(
        name: cstr("println"),
        fn: { _, o, call in
            let f = file(o)
            f.plugin.h.ret_integer(call, f.closed ? 0 : Int64((try? f.file.write(printable(f, call) + [13, 10])) ?? 0))
            return 1
        }),
    esplua_method(
        name: cstr("read"),
        fn: { _, o, call in
            // read() -> byte or -1; read(n) -> string of up to n bytes
            let f = file(o), h = f.plugin.h
            if let n = argInteger(f.plugin.host, call, 1) {
                retBytes(f.plugin.host, call, f.closed ? [] : ((try? f.file.read(count: max(0, Int(n)))) ?? []))
            } else {
                let b = f.closed ? [] : ((try? f.file.read(count: 1)) ?? [])
                h.ret_integer(call, b.first.map(Int64.init) ?? -1)
            }
            return 1
        }),
    esplua_method(
        name: cstr("readString"),
        fn: { _, o, call in
            let f = file(o)
            retBytes(f.plugin.host, call, f.closed ? [] : ((try? f.file.readAll()) ?? []))
            return 1
        }),
    esplua_method(
        name: cstr("readStringUntil"),
        fn: { _, o, call in
            let f = file(o)
            let term = argBytes(f.plugin.host, call, 1)?.first ?? 0x0A
            var out: [UInt8] = []
            while !f.closed, let b = (try? f.file.read(count: 1))?.first, b != term { out.append(b) }
            retBytes(f.plugin.host, call, out)
            return 1
        }),
    esplua_method(
        name: cstr("peek"),
        fn: { _, o, call in
            let f = file(o)
            var b: UInt8?
            if !f.closed, let got = try? f.file.read(count: 1).first { b = got; _ = try? f.file.seek(-1, whence: .current) }
            f.plugin.h.ret_integer(call, b.map(Int64.init) ?? -1)
            return 1
        }),
    esplua_method(
        name: cstr("write"),
        fn: { _, o, call in
            let f = file(o)
            var bytes: [UInt8]
            if let b = argInteger(f.plugin.host, call, 1) {
                bytes = [UInt8(truncatingIfNeeded: b)]
            } else {
                guard let s = argBytes(f.plugin.host, call, 1) else { return f.plugin.h.error(call, "bad argument #1 to 'write' (string or byte expected)") }
                bytes = s
            }
            f.plugin.h.ret_integer(call, f.closed ? 0 : Int64((try? f.file.write(bytes)) ?? 0))
            return 1
        }),
    esplua_method(
        name: cstr("seek"),
        fn: { _, o, call in
            // seek(pos [, SeekSet|SeekCur|SeekEnd]) -> bool
            let f = file(o)
            let pos = Int(argInteger(f.plugin.host, call, 1) ?? 0)
            let whence: LFSWhence = [LFSWhence.set, .current, .end][Int(max(0, min(2, argInteger(f.plugin.host, call, 2) ?? 0)))]
            f.plugin.h.ret_boolean(call, !f.closed && (try? f.file.seek(pos, whence: whence)) != nil ? 1 : 0)
            return 1
        }),
    esplua_method(
        name: cstr("position"),
        fn: { _, o, call in
            withFile(o, call, { file(o).plugin.h.ret_integer(call, 0) }) { f in f.plugin.h.ret_integer(call, Int64(f.file.tell())) }
        }),
    esplua_method(
        name: cstr("size"),
        fn: { _, o, call in
            withFile(o, call, { file(o).plugin.h.ret_integer(call, 0) }) { f in f.plugin.h.ret_integer(call, Int64(f.file.size)) }
        }),
    esplua_method(
        name: cstr("available"),
        fn: { _, o, call in
            withFile(o, call, { file(o).plugin.h.ret_integer(call, 0) }) { f in f.plugin.h.ret_integer(call, Int64(max(0, f.file.size - f.file.tell()))) }
        }),
    esplua_method(
        name: cstr("truncate"),
        fn: { _, o, call in
            let f = file(o)
            let n = Int(argInteger(f.plugin.host, call, 1) ?? 0)
            f.plugin.h.ret_boolean(call, !f.closed && (try? f.file.truncate(n)) != nil ? 1 : 0)
            return 1
        }),
    esplua_method(
        name: cstr("flush"),
        fn: { _, o, _ in
            let f = file(o); if !f.closed { try? f.file.sync() }; return 0
        }),
    esplua_method(
        name: cstr("close"),
        fn: { _, o, _ in
            file(o).close(); return 0
        }),
    esplua_method(
        name: cstr("name"),
        fn: { _, o, call in
            let f = file(o)
            let base = f.file.path.split(separator: "/").last.map(String.init) ?? f.file.path
            retBytes(f.plugin.host, call, Array(base.utf8)); return 1
        }),
    esplua_method(
        name: cstr("fullName"),
        fn: { _, o, call in
            let f = file(o); retBytes(f.plugin.host, call, Array(f.file.path.utf8)); return 1
        }),
    esplua_method(
        name: cstr("isFile"),
        fn: { _, o, call in
            let f = file(o); f.plugin.h.ret_boolean(call, f.closed ? 0 : 1); return 1
        }),
    esplua_method(
        name: cstr("isDirectory"),
        fn: { _, o, call in
            file(o).plugin.h.ret_boolean(call, 0); return 1
        }),
    endOfMethods,
]

private func dir(_ o: UnsafeMutableRawPointer?) -> DirWalk { plugin(o, as: DirWalk.self) }

nonisolated(unsafe) private let dirMethods: [esplua_method] = [
    esplua_method(
        name: cstr("next"),
        fn: { _, o, call in
            let d = dir(o)
            if d.index < d.entries.count { d.index += 1 }
            d.plugin.h.ret_boolean(call, d.current != nil ? 1 : 0); return 1
        }),
    esplua_method(
        name: cstr("fileName"),
        fn: { _, o, call in
            let d = dir(o); retBytes(d.plugin.host, call, Array((d.current?.name ?? "").utf8)); return 1
        }),
    esplua_method(
        name: cstr("fileSize"),
        fn: { _, o, call in
            let d = dir(o); d.plugin.h.ret_integer(call, Int64(d.current.map { $0.isDirectory ? 0 : $0.size } ?? 0)); return 1
        }),
    esplua_method(
        name: cstr("isDirectory"),
        fn: { _, o, call in
            let d = dir(o); d.plugin.h.ret_boolean(call, d.current?.isDirectory == true ? 1 : 0); return 1
        }),
    esplua_method(
        name: cstr("isFile"),
        fn: { _, o, call in
            let d = dir(o); d.plugin.h.ret_boolean(call, d.current.map { !$0.isDirectory } == true ? 1 : 0); return 1
        }),
    esplua_method(
        name: cstr("openFile"),
        fn: { _, o, call in
            let d = dir(o)
            guard let e = d.current else { d.plugin.h.ret_nil(call); return 1 }
            let mode = argBytes(d.plugin.host, call, 1).map { String(decoding: $0, as: UTF8.self) } ?? "r"
            let base = d.path.hasSuffix("/") ? d.path : d.path + "/"
            return retFile(d.plugin, call, openFile(d.plugin, base + e.name, mode))
        }),
    esplua_method(
        name: cstr("rewind"),
        fn: { _, o, call in
            let d = dir(o); d.index = -1; d.plugin.h.ret_boolean(call, 1); return 1
        }),
    endOfMethods,
]

nonisolated(unsafe) private let classes: [esplua_class] = [
    esplua_class(
        name: cstr("File"), construct: { _, call in nil },
        destroy: { _, o in
            let f = file(o); f.close(); Unmanaged<OpenFile>.fromOpaque(o!).release()
        },
        methods: table(fileMethods), reserved: noReserved),
    esplua_class(
        name: cstr("Dir"), construct: { _, call in nil },
        destroy: { _, o in Unmanaged<DirWalk>.fromOpaque(o!).release() },
        methods: table(dirMethods), reserved: noReserved),
    esplua_class(name: nil, construct: nil, destroy: nil, methods: nil, reserved: noReserved),
]

nonisolated(unsafe) private let constants: [esplua_constant] = [
    esplua_constant(name: cstr("SeekSet"), value: 0), esplua_constant(name: cstr("SeekCur"), value: 1),
    esplua_constant(name: cstr("SeekEnd"), value: 2), esplua_constant(name: nil, value: 0),
]

nonisolated(unsafe) private let modules: [esplua_module] = [
    esplua_module(name: cstr("LittleFS"), functions: table(functions), constants: table(constants), classes: table(classes), reserved: noReserved),
    esplua_module(name: nil, functions: nil, constants: nil, classes: nil, reserved: noReserved),
]

nonisolated(unsafe) private let info = table([
    esplua_plugin_info(
        name: cstr("LittleFS"), version: cstr("1.0.0"),
        summary: cstr("the core's LittleFS on littlefs v2 (disk 2.0, 8 KiB blocks) in the board's flash at 0x200000"),
        modules: table(modules), parts: nil, reserved: noReserved)
])

/// The entry points, exported under their C names by the LittleFSEntry target.
public enum LittleFSExports {
    public static func describe() -> UnsafePointer<esplua_plugin_info> { info }

    public static func start(_ host: UnsafePointer<esplua_host>?, _ board: OpaquePointer?, _ state: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
        startPlugin(host, board, state) { FSPlugin(host: $0, board: $1) }
    }

    public static func stop(_ state: UnsafeMutableRawPointer?) { stopPlugin(state, FSPlugin.self) }
}
