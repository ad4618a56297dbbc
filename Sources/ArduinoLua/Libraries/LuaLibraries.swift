import BoardCore
import LuaRuntime

/// Arduino libraries that the core writes in C++ over `WiFiClient`/`WiFiServer`
/// (ESP8266WebServer, ESP8266HTTPClient), written here in Lua over the same
/// bindings: every network call they make is a call of the ClientContext model,
/// so the wire is the core's. What their C++ objects cost on the board's heap is
/// charged through `heap.alloc`/`heap.free`, a table only these chunks receive.
enum LuaLibraries {
    /// Runs `source` (a chunk named `=name`) with the private heap table as its argument.
    static func install(_ source: String, name: String, in state: LuaState, ctx: SketchContext) {
        let heap = ctx.board.heap
        state.setLibrary(
            privateName,
            [
                // heap.alloc(bytes, owner) -> handle; the core's `new` failing crashes the sketch
                (
                    "alloc",
                    { call throws(LuaError) in
                        let bytes = try call.integer(1)
                        guard let h = heap.allocate(bytes, owner: try call.optionalString(2) ?? "") else {
                            ctx.outOfMemory(size: bytes)
                            return ctx.unwindIfStopping(call)
                        }
                        call.push(Int(h))
                        return 1
                    }
                ),
                // heap.free(handle)
                (
                    "free",
                    { call throws(LuaError) in
                        heap.free(Int32(truncatingIfNeeded: try call.integer(1)))
                        return 0
                    }
                ),
            ])
        defer {
            _ = state.run("package.loaded.\(privateName) = nil", name: "=esplua")
            state.setGlobalNil(privateName)
        }
        do { try state.load(Array(source.utf8), name: name) } catch {
            ctx.log("esplua: internal library \(name) does not load: \(error)")
            return
        }
        state.getGlobal(privateName)
        if let err = state.protectedCall(nargs: 1) { ctx.log("esplua: internal library \(name): \(err)") }
    }

    private static let privateName = "__esplua_heap"
}
