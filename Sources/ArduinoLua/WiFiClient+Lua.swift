import BoardNet
import LuaRuntime

// local client = server:accept()       local client = WiFiClient()
// client:connect(host, port) -> true/false (host: "a.b.c.d" or a name, resolved by DNS)
// client:keepAlive([idle_s [, intv_s [, count]]])  client:disableKeepAlive()  client:isKeepAliveEnabled()
// client:getKeepAliveIdle() client:getKeepAliveInterval() client:getKeepAliveCount()
// WiFiClient.stopAll()   WiFiClient.setLocalPortStart(port)
// client:connected() -> bool         client:available() -> n        client:availableForWrite() -> n
// client:read() -> byte or -1        client:read(n) -> string       client:peek() -> byte or -1
// client:readString() -> string      client:readStringUntil(char) -> string
// client:print(x [, base]) client:println([x [, base]]) client:write(s|byte) -> bytes written
// client:flush([ms]) -> bool         client:stop([ms]) -> bool      client:abort()
// client:status() -> 0..10           client:remoteIP() client:remotePort() client:localIP() client:localPort()
// client:setNoDelay(bool)            client:getNoDelay()            client:setTimeout(ms)
enum WiFiClientBindings {
    static let className = "WiFiClient"

    static func register(in state: LuaState, ctx: SketchContext) {
        func client(_ call: LuaCall) throws(LuaError) -> TCPClient {
            try call.object(1, TCPClient.self, class: className)
        }
        /// Stream::timedRead: a byte, or nil after the stream timeout without one.
        func timedRead(_ call: LuaCall, _ c: TCPClient) -> UInt8? {
            if let b = c.read(max: 1).first { return b }
            ctx.wait(timeoutMicros: c.timeoutMillis * 1000) { c.available > 0 }
            return c.read(max: 1).first
        }
        let network = ctx.network
        let loop = ctx.loop
        func send(_ call: LuaCall, _ c: TCPClient, _ writes: [String]) -> Int32 {
            call.push(c.print(writes.map { Array($0.utf8) }))
            return 1
        }
        state.defineClass(
            className,
            methods: [
                (
                    "connect",
                    { call throws(LuaError) in
                        let c = try client(call)
                        let host = try call.string(2)
                        let port = try call.integer(3)
                        guard (1...65535).contains(port) else { throw .argument(3, "port must be 1-65535") }
                        let ok: Bool = {
                            guard let ip = network.hostByName(host, timeoutMillis: c.timeoutMillis), let bits = ipBits(ip) else { return false }
                            do { return try c.connect(address: bits, port: UInt16(port)) } catch {
                                ctx.outOfMemory(size: TCPClient.contextBytes)
                                return false
                            }
                        }()
                        if ctx.unwindIfStopping(call) != 0 { return LuaCall.yield }
                        call.push(ok)
                        return 1
                    }
                ),
                (
                    "keepAlive",
                    { call throws(LuaError) in
                        // uint16_t idle_sec, uint16_t intv_sec, uint8_t count, converted as C++ does
                        try client(call).keepAlive(
                            idleSeconds: UInt16(truncatingIfNeeded: try call.optionalInteger(2, default: 7200)),
                            intervalSeconds: UInt16(truncatingIfNeeded: try call.optionalInteger(3, default: 75)),
                            count: UInt8(truncatingIfNeeded: try call.optionalInteger(4, default: 9)))
                        return 0
                    }
                ),
                (
                    "disableKeepAlive",
                    { call throws(LuaError) in
                        try client(call).disableKeepAlive(); return 0
                    }
                ),
                (
                    "isKeepAliveEnabled",
                    { call throws(LuaError) in
                        call.push(try client(call).isKeepAliveEnabled); return 1
                    }
                ),
                (
                    "getKeepAliveIdle",
                    { call throws(LuaError) in
                        call.push(try client(call).keepAliveSettings.idle); return 1
                    }
                ),
                (
                    "getKeepAliveInterval",
                    { call throws(LuaError) in
                        call.push(try client(call).keepAliveSettings.interval); return 1
                    }
                ),
                (
                    "getKeepAliveCount",
                    { call throws(LuaError) in
                        call.push(try client(call).keepAliveSettings.count); return 1
                    }
                ),
                (
                    "connected",
                    { call throws(LuaError) in
                        call.push(try client(call).connected); return 1
                    }
                ),
                // the hottest poll: the object unretained, the loop reached directly
                (
                    "available",
                    { call throws(LuaError) in
                        let n = try call.withObject(1, TCPClient.self, class: className) { $0.available }
                        if n > 0 { call.markActive() } else { loop.optimisticYield(100) }
                        call.push(n); return 1
                    }
                ),
                (
                    "availableForWrite",
                    { call throws(LuaError) in
                        call.push(try client(call).availableForWrite); return 1
                    }
                ),
                (
                    "read",
                    { call throws(LuaError) in
                        let c = try client(call)
                        if call.isNoneOrNil(2) {
                            // WiFiClient.cpp:259-265: read() is `if (!available()) return -1`,
                            // and available() optimistic_yield(100)s when there is nothing
                            guard let b = c.read(max: 1).first else { ctx.optimisticYield(100); call.push(-1); return 1 }
                            call.markActive(); call.push(Int(b)); return 1
                        }
                        let got = c.read(max: max(0, try call.integer(2)))
                        if !got.isEmpty { call.markActive() }
                        call.push(bytes: got); return 1
                    }
                ),
                // WiFiClient.cpp:277-283: peek() goes through available() as read() does
                (
                    "peek",
                    { call throws(LuaError) in
                        guard let b = try client(call).peek() else { ctx.optimisticYield(100); call.push(-1); return 1 }
                        call.push(Int(b)); return 1
                    }
                ),
                (
                    "readString",
                    { call throws(LuaError) in
                        let c = try client(call)
                        var out: [UInt8] = []
                        while let b = timedRead(call, c) { out.append(b) }
                        call.push(bytes: out); return 1
                    }
                ),
                (
                    "readStringUntil",
                    { call throws(LuaError) in
                        let c = try client(call)
                        let term = try call.bytes(2).first ?? 0
                        var out: [UInt8] = []
                        while let b = timedRead(call, c), b != term { out.append(b) }
                        call.push(bytes: out); return 1
                    }
                ),
                (
                    "print",
                    { call throws(LuaError) in
                        let c = try client(call)
                        return send(call, c, try call.streamPrintWrites(newline: false))
                    }
                ),
                (
                    "println",
                    { call throws(LuaError) in
                        let c = try client(call)
                        return send(call, c, try call.streamPrintWrites(newline: true))
                    }
                ),
                (
                    "write",
                    { call throws(LuaError) in
                        let c = try client(call)
                        if call.type(2) == 3 { call.push(c.write([UInt8(truncatingIfNeeded: try call.integer(2))])); return 1 }
                        call.push(c.write(try call.bytes(2))); return 1
                    }
                ),
                (
                    "flush",
                    { call throws(LuaError) in
                        let c = try client(call)
                        call.push(c.flush(maxWaitMillis: UInt64(max(0, try call.optionalInteger(2, default: 0))))); return 1
                    }
                ),
                (
                    "stop",
                    { call throws(LuaError) in
                        let c = try client(call)
                        call.push(c.stop(maxWaitMillis: UInt64(max(0, try call.optionalInteger(2, default: 0))))); return 1
                    }
                ),
                (
                    "abort",
                    { call throws(LuaError) in
                        try client(call).abort(); return 0
                    }
                ),
                (
                    "status",
                    { call throws(LuaError) in
                        call.push(try client(call).status); return 1
                    }
                ),
                (
                    "remoteIP",
                    { call throws(LuaError) in
                        call.push(try client(call).remoteIP); return 1
                    }
                ),
                (
                    "remotePort",
                    { call throws(LuaError) in
                        call.push(try client(call).remotePort); return 1
                    }
                ),
                (
                    "localIP",
                    { call throws(LuaError) in
                        call.push(try client(call).localIP); return 1
                    }
                ),
                (
                    "localPort",
                    { call throws(LuaError) in
                        call.push(try client(call).localPort); return 1
                    }
                ),
                (
                    "setNoDelay",
                    { call throws(LuaError) in
                        try client(call).setNoDelay(call.boolean(2)); return 0
                    }
                ),
                (
                    "getNoDelay",
                    { call throws(LuaError) in
                        call.push(try client(call).noDelay); return 1
                    }
                ),
                (
                    "setTimeout",
                    { call throws(LuaError) in
                        try client(call).timeoutMillis = UInt64(max(0, try call.integer(2))); return 0
                    }
                ),
            ],
            polls: [
                "connected", "available", "availableForWrite", "read", "peek", "status", "remoteIP", "remotePort",
                "localIP", "localPort", "getNoDelay", "isKeepAliveEnabled", "getKeepAliveIdle", "getKeepAliveInterval",
                "getKeepAliveCount",
            ],
            onCollect: { ($0 as? TCPClient)?.release() })

        // WiFiClient(): a callable class table with the static methods
        state.setLibrary(
            className,
            [
                (
                    "stopAll",
                    { _ in
                        network.stopAllClients(); return 0
                    }
                ),
                (
                    "setLocalPortStart",
                    { call throws(LuaError) in
                        let p = try call.integer(1)
                        guard (1...65535).contains(p) else { throw .argument(1, "port must be 1-65535") }
                        network.localPortStart = UInt16(p)
                        return 0
                    }
                ),
            ])
        state.getGlobal(className)
        state.setCallMetamethod { call in
            call.pushObject(TCPClient(network: network), class: className)
            ctx.scopedObjectsPending = true  // a local WiFiClient dies with its scope
            return 1
        }
        state.setTop(state.top - 1)
    }
}
