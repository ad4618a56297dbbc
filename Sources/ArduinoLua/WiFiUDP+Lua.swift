import BoardNet
import LuaRuntime

// local udp = WiFiUDP()
// udp:begin(port) -> true/false          udp:stop()             udp:localPort()
// udp:parsePacket() -> size (0 if none)  udp:available() -> n   udp:read() -> byte or -1   udp:read(n) -> string
// udp:peek() -> byte or -1               udp:remoteIP() udp:remotePort() udp:destinationIP()
// udp:flush()                            (the core's flush() is endPacket(): sends the buffer)
// udp:beginPacket(host, port) -> true/false   udp:write(s|byte) -> n   udp:print(x)   udp:endPacket() -> true/false
// WiFiUDP.stopAll()
enum WiFiUDPBindings {
    static let className = "WiFiUDP"

    static func register(in state: LuaState, ctx: SketchContext) {
        let network = ctx.network
        func udp(_ call: LuaCall) throws(LuaError) -> UDPContext {
            try call.object(1, UDPContext.self, class: className)
        }
        var all: [ObjectIdentifier: UDPContext] = [:]
        state.defineClass(
            className,
            methods: [
                (
                    "begin",
                    { call throws(LuaError) in
                        let u = try udp(call)
                        let port = try call.integer(2)
                        guard (0...65535).contains(port) else { throw .argument(2, "port must be 0-65535") }
                        call.push(u.begin(port: UInt16(port)))
                        return 1
                    }
                ),
                (
                    "stop",
                    { call throws(LuaError) in
                        try udp(call).stop(); return 0
                    }
                ),
                (
                    "localPort",
                    { call throws(LuaError) in
                        call.push(try udp(call).localPort); return 1
                    }
                ),
                (
                    "parsePacket",
                    { call throws(LuaError) in
                        let n = try udp(call).parsePacket()
                        if n > 0 { call.markActive() } else { ctx.optimisticYield(100) }
                        call.push(n)
                        return 1
                    }
                ),
                // WiFiUdp.cpp:110-124: optimistic_yield(1000) when nothing is there ("to prevent WDT reset")
                (
                    "available",
                    { call throws(LuaError) in
                        let n = try udp(call).available
                        if n > 0 { call.markActive() } else { ctx.optimisticYield(1000) }
                        call.push(n); return 1
                    }
                ),
                (
                    "read",
                    { call throws(LuaError) in
                        let u = try udp(call)
                        if call.isNoneOrNil(2) {
                            guard let b = u.read(max: 1).first else { call.push(-1); return 1 }
                            call.markActive(); call.push(Int(b)); return 1
                        }
                        let got = u.read(max: max(0, try call.integer(2)))
                        if !got.isEmpty { call.markActive() }
                        call.push(bytes: got)
                        return 1
                    }
                ),
                (
                    "peek",
                    { call throws(LuaError) in
                        call.push(try udp(call).peek().map(Int.init) ?? -1); return 1
                    }
                ),
                (
                    "flush",
                    { call throws(LuaError) in
                        _ = try udp(call).flush(); return 0
                    }
                ),
                (
                    "remoteIP",
                    { call throws(LuaError) in
                        call.push(try udp(call).remoteIP); return 1
                    }
                ),
                (
                    "remotePort",
                    { call throws(LuaError) in
                        call.push(try udp(call).remotePort); return 1
                    }
                ),
                (
                    "destinationIP",
                    { call throws(LuaError) in
                        call.push(try udp(call).destinationIP); return 1
                    }
                ),
                (
                    "beginPacket",
                    { call throws(LuaError) in
                        let u = try udp(call)
                        let host = try call.string(2)
                        let port = try call.integer(3)
                        guard (1...65535).contains(port) else { throw .argument(3, "port must be 1-65535") }
                        let ip = network.hostByName(host)
                        guard let ip, let bits = ipBits(ip) else { call.push(false); return 1 }
                        call.push(u.beginPacket(address: bits, port: UInt16(port)))
                        return 1
                    }
                ),
                (
                    "write",
                    { call throws(LuaError) in
                        let u = try udp(call)
                        if call.type(2) == 3 { call.push(u.write([UInt8(truncatingIfNeeded: try call.integer(2))])); return 1 }
                        call.push(u.write(try call.bytes(2)))
                        return 1
                    }
                ),
                (
                    "print",
                    { call throws(LuaError) in
                        let u = try udp(call)
                        call.push(u.write(Array(try call.printable(2).utf8)))
                        return 1
                    }
                ),
                (
                    "endPacket",
                    { call throws(LuaError) in
                        call.push(try udp(call).endPacket()); return 1
                    }
                ),
            ], polls: ["parsePacket", "available", "read", "peek", "remoteIP", "remotePort", "destinationIP", "localPort"],
            onCollect: { o in
                guard let u = o as? UDPContext else { return }
                all.removeValue(forKey: ObjectIdentifier(u))
                u.stop()
            })

        state.setLibrary(
            className,
            [
                (
                    "stopAll",
                    { _ in
                        for u in all.values { u.stop() }; return 0
                    }
                )
            ])
        state.getGlobal(className)
        state.setCallMetamethod { call in
            let u = UDPContext(network: network)
            all[ObjectIdentifier(u)] = u
            call.pushObject(u, class: className)
            return 1
        }
        state.setTop(state.top - 1)
    }
}
