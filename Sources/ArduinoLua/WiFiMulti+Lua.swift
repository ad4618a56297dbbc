import BoardNet
import LuaRuntime

// local wifiMulti = ESP8266WiFiMulti()
// wifiMulti:addAP(ssid [, passphrase]) -> bool   wifiMulti:existsAP(ssid [, passphrase]) -> bool
// wifiMulti:run([connectTimeoutMs]) -> WL_CONNECTED, WL_NO_SSID_AVAIL or WL_CONNECT_FAILED
// wifiMulti:cleanAPlist()
enum WiFiMultiBindings {
    static let className = "ESP8266WiFiMulti"

    static func register(in state: LuaState, ctx: SketchContext) {
        let wifi = ctx.network.wifi
        func multi(_ call: LuaCall) throws(LuaError) -> WiFiMulti {
            try call.object(1, WiFiMulti.self, class: className)
        }
        state.defineClass(
            className,
            methods: [
                (
                    "addAP",
                    { call throws(LuaError) in
                        call.push(try multi(call).addAP(ssid: try call.string(2), passphrase: try call.optionalString(3) ?? ""))
                        return 1
                    }
                ),
                (
                    "existsAP",
                    { call throws(LuaError) in
                        call.push(try multi(call).existsAP(ssid: try call.string(2), passphrase: try call.optionalString(3) ?? ""))
                        return 1
                    }
                ),
                (
                    "cleanAPlist",
                    { call throws(LuaError) in
                        try multi(call).cleanAPlist(); return 0
                    }
                ),
                (
                    "run",
                    { call throws(LuaError) in
                        let m = try multi(call)
                        let ms = try call.optionalInteger(2, default: WiFiMulti.connectTimeoutMillis)
                        guard ms >= 0 else { throw .argument(2, "a timeout in ms (0 or more) expected") }
                        let status = m.run(connectTimeoutMillis: ms)
                        if ctx.isStopping { return ctx.unwindIfStopping(call) }
                        call.push(status.rawValue)
                        return 1
                    }
                ),
            ], polls: [], onCollect: { _ in })

        // ESP8266WiFiMulti(): a callable class table
        state.setLibrary(className, [])
        state.getGlobal(className)
        state.setCallMetamethod { call in
            call.pushObject(WiFiMulti(wifi: wifi), class: className)
            return 1
        }
        state.setTop(state.top - 1)
    }
}
