import BoardNet
import LuaRuntime

// WiFi.begin(ssid [, pass]) -> status   WiFi.status() -> WL_*     WiFi.isConnected() -> bool
// WiFi.localIP() -> "10.0.2.15"         WiFi.macAddress() -> "5C:CF:7F:97:F7:40"
// WiFi.subnetMask() WiFi.gatewayIP()    WiFi.SSID()   WiFi.RSSI()
// WiFi.disconnect()   WiFi.mode(m)   WiFi.getMode() -> WIFI_*
// Constants: WL_IDLE_STATUS … WL_DISCONNECTED, WL_NO_SHIELD; WIFI_OFF WIFI_STA WIFI_AP WIFI_AP_STA
enum WiFiBindings {
    static let constants: [(String, Int)] = [
        ("WL_IDLE_STATUS", 0), ("WL_NO_SSID_AVAIL", 1), ("WL_SCAN_COMPLETED", 2), ("WL_CONNECTED", 3),
        ("WL_CONNECT_FAILED", 4), ("WL_CONNECTION_LOST", 5), ("WL_WRONG_PASSWORD", 6), ("WL_DISCONNECTED", 7),
        ("WL_NO_SHIELD", 255),
        ("WIFI_OFF", 0), ("WIFI_STA", 1), ("WIFI_AP", 2), ("WIFI_AP_STA", 3),
    ]

    static func register(in state: LuaState, device: Device) {
        for (k, v) in constants { state.setGlobal(k, integer: v) }
        let wifi = device.network.wifi
        state.setLibrary("WiFi", [
            ("begin", { call throws(LuaError) in
                let ssid = try call.string(1)
                let pass = try call.optionalString(2) ?? ""
                guard (1...32).contains(ssid.utf8.count) else { throw .argument(1, "SSID must be 1 to 32 characters") }
                guard pass.isEmpty || (8...64).contains(pass.utf8.count) else {
                    throw .argument(2, "password must be empty or 8 to 64 characters")
                }
                call.push(wifi.begin(ssid: ssid, password: pass).rawValue)
                return 1
            }),
            ("status", { call in call.push(wifi.status.rawValue); return 1 }),
            ("isConnected", { call in call.push(wifi.status == .connected); return 1 }),
            ("localIP", { call in call.push(wifi.localIP); return 1 }),
            ("subnetMask", { call in call.push(wifi.subnetMask); return 1 }),
            ("gatewayIP", { call in call.push(wifi.gatewayIP); return 1 }),
            ("macAddress", { call in call.push(wifi.macString); return 1 }),
            ("SSID", { call in call.push(wifi.ssid); return 1 }),
            ("RSSI", { call in call.push(wifi.status == .connected ? -55 : 31); return 1 }),
            ("disconnect", { call in wifi.disconnect(); call.push(true); return 1 }),
            ("mode", { call throws(LuaError) in
                let m = try call.integer(1)
                guard let mode = WiFiMode(rawValue: m) else { throw .argument(1, "WIFI_OFF, WIFI_STA, WIFI_AP or WIFI_AP_STA expected") }
                wifi.setMode(mode); call.push(true); return 1
            }),
            ("getMode", { call in call.push(wifi.mode.rawValue); return 1 }),
        ])
    }
}
