import CPluginABI
import FoundationEssentials
import Glibc

/// Why a plugin could not be used; one sentence, naming the file.
public enum PluginError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, why: String)
    case notAPlugin(path: String)
    case wrongABI(path: String, expected: UInt32, found: UInt32)
    case initFailed(path: String, code: Int32)
    case unknownModule(String)
    case unknownPart(String, known: [String])
    case badPart(String, String)

    static func version(_ v: UInt32) -> String { "\(v >> 16).\(v & 0xffff)" }

    public var description: String {
        switch self {
        case .cannotOpen(let p, let why): return "cannot load the plugin \(p): \(why)"
        case .notAPlugin(let p): return "\(p) is not an esplua plugin (it does not export esplua_plugin_abi and esplua_plugin_describe)"
        case .wrongABI(let p, let e, let f):
            return
                "the plugin \(p) was built for plugin ABI \(PluginError.version(f)), but this esplua provides ABI \(PluginError.version(e)) (rebuild it against this esplua_plugin.h)"
        case .initFailed(let p, let c): return "the plugin \(p) failed to start (esplua_plugin_init returned \(c))"
        case .unknownModule(let m): return "no plugin provides the module '\(m)'"
        case .unknownPart(let p, let known):
            return "no plugin provides the part '\(p)'" + (known.isEmpty ? "" : " (known parts: \(known.joined(separator: ", ")))")
        case .badPart(let p, let why): return "part '\(p)': \(why)"
        }
    }
}

/// A plugin library found on the search path (opened, described, not started).
public final class PluginLibrary {
    public let path: String
    let handle: UnsafeMutableRawPointer
    let info: UnsafePointer<esplua_plugin_info>
    public let abi: UInt32

    public var name: String { String(cString: info.pointee.name) }
    public var version: String { info.pointee.version.map { String(cString: $0) } ?? "" }
    public var summary: String { info.pointee.summary.map { String(cString: $0) } ?? "" }

    public var moduleNames: [String] { modules.map { String(cString: $0.pointee.name) } }
    var modules: [UnsafePointer<esplua_module>] {
        guard var m = info.pointee.modules else { return [] }
        var out: [UnsafePointer<esplua_module>] = []
        while m.pointee.name != nil { out.append(m); m += 1 }
        return out
    }

    public struct PartInfo {
        public let name: String
        public let summary: String
        public let controls: [String]
        /// What the plugin says of its controls (ABI 1.2), in its order; a control it
        /// does not describe is a plain number.
        public let controlInfo: [ControlInfo]
    }

    /// A control's kind, unit and range (`esplua_control_info`, ABI 1.2).
    public struct ControlInfo: Sendable, Equatable {
        public enum Kind: String, Sendable { case value, button, output }
        public let name: String
        public let unit: String
        /// The range it takes; nil when the plugin gives none (min == max).
        public let range: ClosedRange<Double>?
        public let kind: Kind
        /// The slider is logarithmic (`ESPLUA_CONTROL_LOG`).
        public let logarithmic: Bool
    }

    public var parts: [PartInfo] {
        partTypes.map { p in
            var controls: [String] = []
            if var c = p.pointee.controls { while let s = c.pointee { controls.append(String(cString: s)); c += 1 } }
            return PartInfo(
                name: String(cString: p.pointee.name), summary: p.pointee.summary.map { String(cString: $0) } ?? "", controls: controls,
                controlInfo: controlInfo(p))
        }
    }

    /// A part type's `control_info`: read only from a plugin built for 1.2 or later
    /// (the slot was reserved before), and only for controls the type names.
    private func controlInfo(_ p: UnsafePointer<esplua_part_type>) -> [ControlInfo] {
        guard abi & 0xffff >= 2, var c = p.pointee.control_info else { return [] }
        var out: [ControlInfo] = []
        while let name = c.pointee.name {
            let i = c.pointee
            let kind: ControlInfo.Kind =
                switch i.kind {
                case ESPLUA_CONTROL_BUTTON: .button
                case ESPLUA_CONTROL_OUTPUT: .output
                default: .value
                }
            let range = i.min < i.max && i.min.isFinite && i.max.isFinite ? i.min...i.max : nil
            out.append(
                ControlInfo(
                    name: String(cString: name), unit: i.unit.map { String(cString: $0) } ?? "", range: range, kind: kind,
                    logarithmic: i.flags & ESPLUA_CONTROL_LOG != 0 && (range?.lowerBound ?? 0) > 0))
            c += 1
        }
        return out
    }
    var partTypes: [UnsafePointer<esplua_part_type>] {
        guard var p = info.pointee.parts else { return [] }
        var out: [UnsafePointer<esplua_part_type>] = []
        while p.pointee.name != nil { out.append(p); p += 1 }
        return out
    }

    /// Opens `path` and checks its ABI; throws one clear sentence otherwise.
    public init(path: String) throws(PluginError) {
        self.path = path
        guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw .cannotOpen(path: path, why: dlerror().map { String(cString: $0) } ?? "unknown error")
        }
        guard let abiSymbol = dlsym(h, "esplua_plugin_abi"), let describe = dlsym(h, "esplua_plugin_describe"),
            dlsym(h, "esplua_plugin_init") != nil, dlsym(h, "esplua_plugin_destroy") != nil
        else {
            dlclose(h)
            throw .notAPlugin(path: path)
        }
        let found = abiSymbol.load(as: UInt32.self)
        let host = esplua_host_abi()
        guard found >> 16 == host >> 16, found & 0xffff <= host & 0xffff else {
            dlclose(h)
            throw .wrongABI(path: path, expected: host, found: found)
        }
        let fn = unsafeBitCast(describe, to: esplua_plugin_describe_fn.self)
        guard let info = fn() else { dlclose(h); throw .notAPlugin(path: path) }
        handle = h
        abi = found
        self.info = info
    }

    /// Plugin files in `directory`: every `*.so`, or only `libesplua-*.so` for the build folder.
    static func candidates(in directory: String, buildFolder: Bool) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasSuffix(".so") && (!buildFolder || $0.hasPrefix("libesplua-")) }
            .sorted().map { Path.join(directory, $0) }
    }
}
