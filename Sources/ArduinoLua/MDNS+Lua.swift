import BoardNet
import LuaRuntime

// MDNS.begin(hostname) -> bool          MDNS.end_() / MDNS.close() -> bool (also MDNS["end"]())
// MDNS.isRunning() -> bool              MDNS.setHostname(name) -> bool
// MDNS.addService([name,] service, proto, port) -> bool
// MDNS.addServiceTxt(service, proto, key, value) -> bool
// MDNS.update() -> bool                 MDNS.announce() -> bool
// MDNS.queryService(service, proto [, timeout_ms=1000]) -> n   (blocks for the timeout, as the core's)
// MDNS.hostname(i) / answerHostname(i) -> "name.local"   MDNS.IP(i) / answerIP(i) -> "a.b.c.d"
// MDNS.port(i) / answerPort(i) -> port  MDNS.removeQuery() -> bool      (i from 0)
// The core's LEAmDNS responder (BoardNet/MDNSResponder.swift) on the board's lwIP.
enum MDNSBindings {
    static let name = "MDNS"

    static func register(in state: LuaState, ctx: SketchContext) {
        let network = ctx.network
        func close(_ call: LuaCall) -> Int32 {
            call.push(network.mdns.end())
            return 1
        }
        func answer(_ call: LuaCall) throws(LuaError) -> MDNSResponder.Answer? {
            let i = try call.integer(1)
            let all = network.mdns.answers
            return all.indices.contains(i) ? all[i] : nil
        }
        let hostname: LuaFunction = { call throws(LuaError) in
            call.push(try answer(call)?.hostDomain ?? "")
            return 1
        }
        let ip: LuaFunction = { call throws(LuaError) in
            call.push(ipString(try answer(call)?.address ?? 0))
            return 1
        }
        let port: LuaFunction = { call throws(LuaError) in
            call.push(Int(try answer(call)?.port ?? 0))
            return 1
        }
        state.setLibrary(
            name,
            [
                (
                    "begin",
                    { call throws(LuaError) in
                        // begin(name [, IPAddress [, ttl]]): the core ignores the other two (LEAmDNS.h:191-192)
                        call.push(network.mdns.begin(try call.string(1)))
                        return 1
                    }
                ),
                ("end", { call in close(call) }), ("end_", { call in close(call) }), ("close", { call in close(call) }),
                (
                    "isRunning",
                    { call in
                        call.push(network.mdns.isRunning)
                        return 1
                    }
                ),
                (
                    "setHostname",
                    { call throws(LuaError) in
                        call.push(network.mdns.setHostname(try call.string(1)))
                        return 1
                    }
                ),
                (
                    "addService",
                    { call throws(LuaError) in
                        // addService(service, proto, port) names the instance after the host;
                        // addService(name, service, proto, port) gives it its own name (nil: the host's)
                        let four = call.count >= 4
                        let base: Int32 = four ? 2 : 1
                        let instance = four ? try call.optionalString(1) : nil
                        let p = try call.integer(base + 2)
                        guard (1...65535).contains(p) else { throw .argument(base + 2, "port must be 1-65535") }
                        call.push(
                            network.mdns.addService(
                                name: instance, service: try call.string(base), proto: try call.string(base + 1), port: UInt16(p)))
                        return 1
                    }
                ),
                (
                    "addServiceTxt",
                    { call throws(LuaError) in
                        call.push(
                            network.mdns.addServiceTxt(
                                service: try call.string(1), proto: try call.string(2), key: try call.string(3),
                                value: try call.printable(4)))
                        return 1
                    }
                ),
                (
                    "update",
                    { call in
                        call.push(network.mdns.update())
                        return 1
                    }
                ),
                (
                    "announce",
                    { call in
                        call.push(network.mdns.announce())
                        return 1
                    }
                ),
                (
                    "queryService",
                    { call throws(LuaError) in
                        let timeout = try call.optionalInteger(3, default: MDNSResponder.queryWaitMillis)
                        guard (0...65535).contains(timeout) else { throw .argument(3, "timeout must be 0-65535 ms") }
                        let n = network.mdns.queryService(service: try call.string(1), proto: try call.string(2), timeoutMillis: timeout)
                        let unwind = ctx.unwindIfStopping(call)
                        if unwind != 0 { return unwind }
                        call.push(n)
                        return 1
                    }
                ),
                (
                    "removeQuery",
                    { call in
                        call.push(network.mdns.removeQuery())
                        return 1
                    }
                ),
                ("hostname", hostname), ("answerHostname", hostname),
                ("IP", ip), ("answerIP", ip),
                ("port", port), ("answerPort", port),
            ], polls: ["isRunning", "update"])
    }
}
