import ArduinoLua
import ArgumentParser
import BoardCore
import FoundationEssentials

/// `esplua api`: the Lua API as esplua installs it, from its one registry: a list,
/// LuaLS annotations for editors, or the luacheck configuration `esplua check` uses.
struct API: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the Lua API (every global, its kind and members), or write it for editors (--luals) and luacheck (--luacheck).")

    @Option(name: .customLong("luals"), help: ArgumentHelp("Write LuaLS annotations (---@meta) to DIR/esplua.lua.", valueName: "DIR"))
    var luals: String?

    @Option(name: .customLong("luacheck"), help: ArgumentHelp("Write the luacheck configuration (the esplua standard) to FILE.", valueName: "FILE"))
    var luacheck: String?

    @Option(name: .customLong("plugin-path"), help: ArgumentHelp("A folder with plugins (*.so) whose modules are included. Repeatable.", valueName: "DIR"))
    var pluginPaths: [String] = []

    func run() throws {
        // the registry's type is LuaRuntime's, which the CLI does not import
        let found = Result { try APICatalog.registry(pluginPaths: pluginPaths) }
        guard case .success(let api) = found else { fail("esplua: \(found)") }
        if let luals {
            do { try FileManager.default.createDirectory(atPath: luals, withIntermediateDirectories: true) } catch {
                fail("esplua: api: cannot make the folder '\(luals)': \(error)")
            }
            let path = luals.hasSuffix("/") ? luals + "esplua.lua" : luals + "/esplua.lua"
            guard FileManager.default.createFile(atPath: path, contents: Data(api.luaLSAnnotations().utf8)) else {
                fail("esplua: api: cannot write '\(path)'")
            }
            writeStandardError("esplua: wrote \(path) (add the folder to workspace.library in .luarc.json)\n")
        }
        if let luacheck {
            guard FileManager.default.createFile(atPath: luacheck, contents: Data(api.luacheckConfig().utf8)) else {
                fail("esplua: api: cannot write '\(luacheck)'")
            }
        }
        if luals != nil || luacheck != nil { return }
        var out = ""
        for g in api.globals {
            out += "\(g.name)  \(g.kind.rawValue)"
            if !g.functions.isEmpty { out += "  functions: " + g.functions.joined(separator: " ") }
            if !g.constants.isEmpty { out += "  constants: " + g.constants.joined(separator: " ") }
            if let m = api.methods[g.name] { out += "  methods: " + m.joined(separator: " ") }
            out += "\n"
        }
        for c in api.classNames where api.global(c) == nil {
            out += "\(c)  object  methods: " + (api.methods[c] ?? []).joined(separator: " ") + "\n"
        }
        print(out, terminator: "")
    }
}
