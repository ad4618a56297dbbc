import BoardNet
import LuaRuntime

// local client = WiFiClientSecure()     (the core's BearSSL::WiFiClientSecure)
// client:setInsecure()                  client:setFingerprint("AB:CD:…") -> bool (SHA-1 of the certificate)
// client:setTrustAnchors(pem) -> bool   client:setBufferSizes(recv, xmit)   client:setX509Time(unix_s)
// client:connect(host, port) -> true/false (TCP, then the TLS handshake)
// client:getLastSSLError() -> code, text   client:getMFLNStatus() -> bool
// WiFiClientSecure.probeMaxFragmentLength(host, port, len) -> bool (also client:probeMaxFragmentLength)
// client:read() -> byte or -1   client:read(n) -> string, or nil once closed with nothing left
// client:connected() client:available() client:availableForWrite() client:peek()
// client:readString() client:readStringUntil(c) client:print(x) client:println([x]) client:write(s|byte)
// client:flush([ms]) client:stop([ms]) client:status() client:remoteIP() client:remotePort()
// client:localIP() client:localPort() client:setNoDelay(bool) client:setTimeout(ms)
enum WiFiClientSecureBindings {
    static let className = "WiFiClientSecure"

    static func register(in state: LuaState, ctx: SketchContext) {
        func client(_ call: LuaCall) throws(LuaError) -> SecureClient {
            try call.object(1, SecureClient.self, class: className)
        }
        let network = ctx.network
        func send(_ call: LuaCall, _ c: SecureClient, _ writes: [String]) -> Int32 {
            call.push(writes.reduce(0) { $0 + c.write(Array($1.utf8)) })
            return 1
        }
        /// probeMaxFragmentLength(host, port, len): a static method in the core, callable either way
        let probe: LuaFunction = { call throws(LuaError) in
            let first: Int32 = call.type(1) == 7 ? 2 : 1  // 7: LUA_TUSERDATA (called as a method)
            let host = try call.string(first)
            let port = try call.integer(first + 1)
            guard (1...65535).contains(port) else { throw .argument(first + 1, "port must be 1-65535") }
            let len = try call.integer(first + 2)
            let ok: Bool = {
                guard let ip = network.hostByName(host), let bits = ipBits(ip) else { return false }
                return SecureClient.probeMaxFragmentLength(network: network, address: bits, port: UInt16(port), length: len)
            }()
            if ctx.unwindIfStopping(call) != 0 { return LuaCall.yield }
            call.push(ok)
            return 1
        }
        let methods: [(String, LuaFunction)] = [
            (
                "connect",
                { call throws(LuaError) in
                    let c = try client(call)
                    let host = try call.string(2)
                    let port = try call.integer(3)
                    guard (1...65535).contains(port) else { throw .argument(3, "port must be 1-65535") }
                    let ok: Bool = {
                        // connect(name, port) resolves, then passes the name on for SNI and the
                        // certificate's name (cpp:218-229); a dotted quad is connect(ip, port)
                        guard let ip = network.hostByName(host), let bits = ipBits(ip) else { return false }
                        do { return try c.connect(address: bits, port: UInt16(port), host: ip == host ? nil : host) } catch SecureClient.ConnectError
                            .outOfMemory(let size)
                        {
                            ctx.outOfMemory(size: size)
                            return false
                        } catch { return false }
                    }()
                    if ctx.unwindIfStopping(call) != 0 { return LuaCall.yield }
                    call.push(ok)
                    return 1
                }
            ),
            (
                "setInsecure",
                { call throws(LuaError) in
                    try client(call).setInsecure(); return 0
                }
            ),
            (
                "setFingerprint",
                { call throws(LuaError) in
                    let c = try client(call)
                    call.push(c.setFingerprint(try call.string(2))); return 1
                }
            ),
            (
                "setTrustAnchors",
                { call throws(LuaError) in
                    let c = try client(call)
                    let pem = try call.string(2)
                    do { try c.setTrustAnchors(pem: pem) } catch SecureClient.AnchorError.outOfMemory(let size) {
                        ctx.outOfMemory(size: size)  // the X509List's new aborts
                        return ctx.unwindIfStopping(call)
                    } catch {
                        call.push(false); return 1
                    }
                    call.push(true); return 1
                }
            ),
            (
                "setBufferSizes",
                { call throws(LuaError) in
                    let c = try client(call)
                    c.setBufferSizes(receive: try call.integer(2), transmit: try call.integer(3)); return 0
                }
            ),
            (
                "setX509Time",
                { call throws(LuaError) in
                    let c = try client(call)
                    c.x509Time = UInt64(max(0, try call.integer(2))); return 0
                }
            ),
            ("probeMaxFragmentLength", probe),
            (
                "getLastSSLError",
                { call throws(LuaError) in
                    let e = try client(call).lastSSLError
                    call.push(e.code)
                    call.push(e.text)
                    return 2
                }
            ),
            (
                "getMFLNStatus",
                { call throws(LuaError) in
                    call.push(try client(call).mflnStatus); return 1
                }
            ),
            (
                "connected",
                { call throws(LuaError) in
                    call.push(try client(call).connected); return 1
                }
            ),
            (
                "available",
                { call throws(LuaError) in
                    let n = try client(call).available
                    if n > 0 { call.markActive() } else { ctx.optimisticYield(100) }
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
                        guard let b = c.read(max: 1)?.first else { call.push(-1); return 1 }
                        call.markActive(); call.push(Int(b)); return 1
                    }
                    // read(buf, n) (cpp:354-391): nil where the core returns -1 (no session, or
                    // closed with nothing left), "" where it returns 0 (connected, nothing yet)
                    guard let got = c.read(max: max(0, try call.integer(2))) else { call.pushNil(); return 1 }
                    if !got.isEmpty { call.markActive() }
                    call.push(bytes: got); return 1
                }
            ),
            (
                "peek",
                { call throws(LuaError) in
                    guard let b = try client(call).peek() else { call.push(-1); return 1 }
                    call.push(Int(b)); return 1
                }
            ),
            (
                "readString",
                { call throws(LuaError) in
                    let c = try client(call)
                    var out: [UInt8] = []
                    while let b = c.timedRead() { out.append(b) }
                    if ctx.unwindIfStopping(call) != 0 { return LuaCall.yield }
                    call.push(bytes: out); return 1
                }
            ),
            (
                "readStringUntil",
                { call throws(LuaError) in
                    let c = try client(call)
                    let term = try call.bytes(2).first ?? 0
                    var out: [UInt8] = []
                    while let b = c.timedRead(), b != term { out.append(b) }
                    if ctx.unwindIfStopping(call) != 0 { return LuaCall.yield }
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
                "status",
                { call throws(LuaError) in
                    call.push(try client(call).tcp.status); return 1
                }
            ),
            (
                "remoteIP",
                { call throws(LuaError) in
                    call.push(try client(call).tcp.remoteIP); return 1
                }
            ),
            (
                "remotePort",
                { call throws(LuaError) in
                    call.push(try client(call).tcp.remotePort); return 1
                }
            ),
            (
                "localIP",
                { call throws(LuaError) in
                    call.push(try client(call).tcp.localIP); return 1
                }
            ),
            (
                "localPort",
                { call throws(LuaError) in
                    call.push(try client(call).tcp.localPort); return 1
                }
            ),
            (
                "setNoDelay",
                { call throws(LuaError) in
                    try client(call).tcp.setNoDelay(call.boolean(2)); return 0
                }
            ),
            (
                "setTimeout",
                { call throws(LuaError) in
                    try client(call).timeoutMillis = UInt64(max(0, try call.integer(2))); return 0
                }
            ),
        ]
        state.defineClass(
            className,
            methods: methods,
            polls: ["connected", "available", "availableForWrite", "read", "peek", "status", "getMFLNStatus"],
            onCollect: { ($0 as? SecureClient)?.release() })

        state.setLibrary(className, [("probeMaxFragmentLength", probe)])
        state.getGlobal(className)
        state.setCallMetamethod { call in
            do {
                call.pushObject(try SecureClient(network: network), class: className)
            } catch SecureClient.MakeError.outOfMemory(let size) {
                // the context's new, or the BearSSL stack's malloc, abort (StackThunk.cpp:69-73)
                ctx.outOfMemory(size: size)
                return ctx.unwindIfStopping(call)
            } catch { return 0 }
            ctx.scopedObjectsPending = true
            return 1
        }
        state.setTop(state.top - 1)
    }
}
