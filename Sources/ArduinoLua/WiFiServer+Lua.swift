import BoardNet
import LuaRuntime

// local server = WiFiServer(port)
// server:begin([port [, backlog]]) -> bool    server:accept() -> client or nil (also server:available())
// server:hasClient() -> bool                  server:hasMaxPendingClients() -> bool
// server:hasClientData() -> bytes waiting on the first unaccepted connection with data
// server:status() -> 1 (LISTEN) or 0          server:port() -> port
// server:setNoDelay(bool)                     server:stop() / server:close() / server:end()
enum WiFiServerBindings {
    static let className = "WiFiServer"

    static func register(in state: LuaState, ctx: SketchContext) {
        let network = ctx.network
        func server(_ call: LuaCall) throws(LuaError) -> TCPServer {
            try call.object(1, TCPServer.self, class: className)
        }
        let accept: LuaFunction = { call throws(LuaError) in
            let s = try server(call)
            if let c = s.accept() {
                call.markActive()
                call.pushObject(c, class: WiFiClientBindings.className)
                ctx.scopedObjectsPending = true
            } else {
                ctx.optimisticYield(1000)
                call.pushNil()
            }
            return 1
        }
        let close: LuaFunction = { call throws(LuaError) in
            try server(call).close(); return 0
        }
        state.defineClass(
            className,
            methods: [
                (
                    "begin",
                    { call throws(LuaError) in
                        let s = try server(call)
                        let port = call.isNoneOrNil(2) ? nil : UInt16(clamping: try call.integer(2))
                        // uint8_t backlog, converted as C++ does (256 is 0: no listening)
                        let backlog = UInt8(truncatingIfNeeded: try call.optionalInteger(3, default: TCPServer.defaultBacklog))
                        do { call.push(try s.begin(port: port, backlog: backlog)) } catch { call.push(false) }
                        return 1
                    }
                ),
                ("accept", accept),
                ("available", accept),
                (
                    "hasClient",
                    { call throws(LuaError) in
                        let has = try server(call).hasClient
                        if has { call.markActive() }
                        call.push(has); return 1
                    }
                ),
                (
                    "hasClientData",
                    { call throws(LuaError) in
                        call.push(try server(call).hasClientData); return 1
                    }
                ),
                (
                    "hasMaxPendingClients",
                    { call throws(LuaError) in
                        call.push(try server(call).hasMaxPendingClients); return 1
                    }
                ),
                (
                    "status",
                    { call throws(LuaError) in
                        call.push(try server(call).status); return 1
                    }
                ),
                (
                    "port",
                    { call throws(LuaError) in
                        call.push(Int(try server(call).port)); return 1
                    }
                ),
                (
                    "setNoDelay",
                    { call throws(LuaError) in
                        try server(call).noDelay = call.boolean(2); return 0
                    }
                ),
                (
                    "getNoDelay",
                    { call throws(LuaError) in
                        call.push(try server(call).noDelay); return 1
                    }
                ),
                ("stop", close), ("close", close), ("end", close),
            ], polls: ["accept", "available", "hasClient", "hasClientData", "hasMaxPendingClients", "status", "port", "getNoDelay"],
            onCollect: { ($0 as? TCPServer)?.release() }
        )

        // WiFiServer(port): a callable class table
        state.setLibrary(className, [])
        state.getGlobal(className)
        state.setCallMetamethod { call throws(LuaError) in
            let port = try call.integer(2)
            guard (0...65535).contains(port) else { throw .argument(2, "port must be 0-65535") }
            call.pushObject(TCPServer(network: network, port: UInt16(port)), class: className)
            return 1
        }
        state.setTop(state.top - 1)
    }
}
