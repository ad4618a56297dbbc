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
        do { try state.load(Array((common + source).utf8), name: name) } catch {
            ctx.log("esplua: internal library \(name) does not load: \(error)")
            return
        }
        state.getGlobal(privateName)
        if let err = state.protectedCall(nargs: 1) { ctx.log("esplua: internal library \(name): \(err)") }
    }

    private static let privateName = "__esplua_heap"

    /// What every library chunk starts with: its private heap table, Lua's own
    /// functions held before the sandbox's wrappers, and the helpers they share.
    static let common = #"""
        local heap = ...
        local millis, yield, type, tostring, tonumber, error = millis, yield, type, tostring, tonumber, error
        -- the sandbox's setmetatable refuses __gc to sketches; these libraries (installed before it) keep Lua's
        local setmetatable = setmetatable
        local sfind, ssub, slower, sformat, schar, sbyte = string.find, string.sub, string.lower, string.format, string.char, string.byte

        local function badArg(n, fname, msg) error(sformat("bad argument #%d to '%s' (%s)", n, fname, msg), 3) end
        local function checkString(v, n, fname)
          if type(v) == "number" then return tostring(v) end
          if type(v) ~= "string" then badArg(n, fname, "string expected, got " .. (v == nil and "no value" or type(v))) end
          return v
        end
        local function trim(s) return (string.match(s, "^%s*(.-)%s*$")) end
        -- WiFiClient's destructor (ClientContext::unref): close, free the context
        local function release(client) getmetatable(client).__close(client) end

        local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        local function base64(s)
          local out = {}
          for i = 1, #s, 3 do
            local a, b, c = sbyte(s, i, i + 2)
            local n = (a << 16) | ((b or 0) << 8) | (c or 0)
            local q = {}
            for k = 1, 4 do
              local idx = (n >> (6 * (4 - k))) & 63
              q[k] = ssub(b64chars, idx + 1, idx + 1)
            end
            if not b then q[3], q[4] = "=", "=" elseif not c then q[4] = "=" end
            out[#out + 1] = table.concat(q)
          end
          return table.concat(out)
        end

        """#
}
