import ArduinoLua
import ArgumentParser
import FoundationEssentials
import Glibc

/// `esplua check SKETCH…`: a sketch's mistakes before it runs, as a compiler
/// would give them: luacheck with the esplua standard generated from the API
/// registry (unknown globals, unknown fields of the API's singletons, syntax
/// errors), plus the dot/colon mix-ups a pass over the source sees.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check sketches before running them: unknown names of the API, dot/colon mix-ups, syntax errors (needs luacheck).")

    @Argument(help: "The sketches (Lua files).") var sketches: [String]

    @Option(name: .customLong("plugin-path"), help: ArgumentHelp("A folder with plugins (*.so) whose modules count as known. Repeatable.", valueName: "DIR"))
    var pluginPaths: [String] = []

    func run() throws {
        var sources: [(String, String)] = []
        for path in sketches {
            guard let data = FileManager.default.contents(atPath: path) else { fail("esplua: cannot open sketch '\(path)': no such file") }
            sources.append((path, String(decoding: data, as: UTF8.self)))
        }
        // the registry's type is LuaRuntime's, which the CLI does not import
        let found = Result { try APICatalog.registry(pluginPaths: pluginPaths) }
        guard case .success(let api) = found else { fail("esplua: \(found)") }
        let config = "/tmp/esplua-check-\(getpid()).luacheckrc"
        guard FileManager.default.createFile(atPath: config, contents: Data(api.luacheckConfig().utf8)) else {
            fail("esplua: check: cannot write its luacheck configuration in /tmp")
        }
        defer { unlink(config) }
        let args = ["--config", config, "--formatter", "plain", "--codes", "--no-color", "--only", "011", "113", "143", "--"] + sketches
        guard let (status, output) = runProgram("luacheck", args) else {
            fail("esplua: check needs luacheck, which is not installed: apt-get install lua-check (or make setup)")
        }
        guard status <= 2 else { fail("esplua: luacheck failed (status \(status)): \(output)") }
        var findings = SketchCheck.translate(luacheckOutput: output, api: api)
        for (path, source) in sources { findings += SketchCheck.dotColon(source: source, file: path, api: api) }
        findings.sort { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) }
        for f in findings { print(f) }
        if !findings.isEmpty { throw ExitCode(1) }
    }
}
