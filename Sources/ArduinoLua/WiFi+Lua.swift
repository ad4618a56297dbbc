import BoardNet
import LuaRuntime

// Station:  WiFi.begin(ssid [, pass]) -> status   WiFi.begin() (the saved config)   WiFi.persistent(b) WiFi.getPersistent()   WiFi.status() -> WL_*   WiFi.isConnected() -> bool
//           WiFi.waitForConnectResult([ms]) -> status or -1   WiFi.reconnect()   WiFi.disconnect([wifioff])
//           WiFi.localIP() WiFi.subnetMask() WiFi.gatewayIP() WiFi.dnsIP() -> "a.b.c.d"
//           WiFi.macAddress() WiFi.SSID() WiFi.psk() WiFi.BSSIDstr() WiFi.RSSI() WiFi.channel()
//           WiFi.hostByName(name [, ms]) -> "a.b.c.d" or nil   WiFi.broadcastIP() -> "a.b.c.255"
//           WiFi.config(ip, gateway, mask [, dns1 [, dns2]]) -> bool (static address, no DHCP; all "0.0.0.0": DHCP again)
//           WiFi.setAutoReconnect(b) -> bool   WiFi.getAutoReconnect() -> bool
//           WiFi.hostname() -> name   WiFi.hostname(name) -> bool (DHCP option 12; also setHostname/getHostname)
// Modes:    WiFi.mode(m) WiFi.getMode() -> WIFI_*   WiFi.enableSTA(b) WiFi.enableAP(b)
// Soft-AP:  WiFi.softAP(ssid [, psk [, channel [, hidden [, max]]]]) -> bool   WiFi.softAPIP() -> "192.168.4.1"
//           WiFi.softAPmacAddress() WiFi.softAPSSID() WiFi.softAPPSK() WiFi.softAPgetStationNum()
//           WiFi.softAPdisconnect([wifioff])   WiFi.softAPConfig(ip, gateway, mask) -> bool
// Scan:     WiFi.scanNetworks([async [, show_hidden]]) -> n (-1 while async)   WiFi.scanComplete() -> n, -1 or -2   WiFi.SSID(i) WiFi.RSSI(i) WiFi.channel(i)
//           WiFi.encryptionType(i) WiFi.BSSIDstr(i) WiFi.isHidden(i) WiFi.scanDelete()   (i from 0, as in Arduino)
// Events:   WiFi.onStationModeConnected(fn(e: ssid, bssid, channel))
//           WiFi.onStationModeGotIP(fn(e: ip, mask, gw))
//           WiFi.onStationModeDisconnected(fn(e: ssid, bssid, reason))
//           WiFi.onWiFiModeChange(fn(e: oldMode, newMode))
//           WiFi.onEvent(fn(event, info)) with WIFI_EVENT_STAMODE_CONNECTED … (deprecated in the core)
enum WiFiBindings {
    static let constants: [(String, Int)] = [
        ("WL_IDLE_STATUS", 0), ("WL_NO_SSID_AVAIL", 1), ("WL_SCAN_COMPLETED", 2), ("WL_CONNECTED", 3),
        ("WL_CONNECT_FAILED", 4), ("WL_CONNECTION_LOST", 5), ("WL_WRONG_PASSWORD", 6), ("WL_DISCONNECTED", 7),
        ("WL_NO_SHIELD", 255),
        ("WIFI_OFF", 0), ("WIFI_STA", 1), ("WIFI_AP", 2), ("WIFI_AP_STA", 3),
        ("ENC_TYPE_WEP", 5), ("ENC_TYPE_TKIP", 2), ("ENC_TYPE_CCMP", 4), ("ENC_TYPE_NONE", 7), ("ENC_TYPE_AUTO", 8),
        ("WIFI_SCAN_RUNNING", -1), ("WIFI_SCAN_FAILED", -2),
        ("WIFI_EVENT_STAMODE_CONNECTED", 0), ("WIFI_EVENT_STAMODE_DISCONNECTED", 1),
        ("WIFI_EVENT_STAMODE_GOT_IP", 3), ("WIFI_EVENT_MODE_CHANGE", 7),
        ("WIFI_DISCONNECT_REASON_ASSOC_LEAVE", 8), ("WIFI_DISCONNECT_REASON_NO_AP_FOUND", 201),
        ("WIFI_DISCONNECT_REASON_AUTH_FAIL", 202),
    ]

    static func register(in state: LuaState, ctx: SketchContext) {
        for (k, v) in constants { state.setGlobal(k, integer: v) }
        let wifi = ctx.network.wifi
        let network = ctx.network
        var handlers: [(kind: Int, ref: Int32)] = []  // kind: event number, -1 = onEvent (all)

        func eventNumber(_ e: WiFiStation.WiFiEvent) -> Int {
            switch e {
            case .connected: return 0
            case .disconnected: return 1
            case .gotIP: return 3
            case .modeChanged: return 7
            }
        }
        func pushEvent(_ e: WiFiStation.WiFiEvent, _ call: LuaCall) {
            call.newTable(arrayCapacity: 0)
            switch e {
            case .connected(let ssid, let bssid, let channel):
                call.setField("ssid", ssid); call.setField("bssid", bssid); call.setField("channel", channel)
            case .gotIP(let ip, let mask, let gw):
                call.setField("ip", ip); call.setField("mask", mask); call.setField("gw", gw)
            case .disconnected(let ssid, let bssid, let reason):
                call.setField("ssid", ssid); call.setField("bssid", bssid); call.setField("reason", reason)
            case .modeChanged(let old, let new):
                call.setField("oldMode", old.rawValue); call.setField("newMode", new.rawValue)
            }
        }
        wifi.onEvent = { e in
            let n = eventNumber(e)
            for h in handlers where h.kind == n || h.kind == -1 {
                ctx.queueCallback(h.ref) { call in
                    if h.kind == -1 { call.push(n); pushEvent(e, call); return 2 }
                    pushEvent(e, call); return 1
                }
            }
        }
        func on(_ kind: Int) -> LuaFunction {
            return { call throws(LuaError) in
                handlers.append((kind, try call.functionRef(1)))
                call.push(true)
                return 1
            }
        }
        // WiFi.hostname() -> name; WiFi.hostname(name) -> bool (also setHostname/getHostname)
        let hostname: LuaFunction = { call throws(LuaError) in
            if call.isNoneOrNil(1) { call.push(wifi.hostname) } else { call.push(wifi.setHostname(try call.string(1))) }
            return 1
        }
        func scanIndex(_ call: LuaCall) throws(LuaError) -> World.AccessPoint? {
            wifi.scanResult(try call.integer(1))
        }
        state.setLibrary(
            "WiFi",
            [
                (
                    "begin",
                    { call throws(LuaError) in
                        if call.isNoneOrNil(1) { call.push(wifi.begin().rawValue); return 1 }
                        let ssid = try call.string(1)
                        let pass = try call.optionalString(2) ?? ""
                        call.push(wifi.begin(ssid: ssid, password: pass).rawValue)
                        return 1
                    }
                ),
                (
                    "status",
                    { call in
                        call.push(wifi.status.rawValue); return 1
                    }
                ),
                (
                    "isConnected",
                    { call in
                        call.push(wifi.status == .connected); return 1
                    }
                ),
                (
                    "waitForConnectResult",
                    { call throws(LuaError) in
                        let ms = try call.optionalInteger(1, default: 60_000)
                        let deadline = ctx.board.clock.micros + UInt64(max(0, ms)) * 1000
                        let settled: () -> Bool = { wifi.status != .disconnected }
                        ctx.wait(timeoutMicros: deadline - ctx.board.clock.micros) { settled() }
                        call.push(settled() ? wifi.status.rawValue : -1)
                        return 1
                    }
                ),
                (
                    "reconnect",
                    { call in
                        call.push(wifi.reconnect()); return 1
                    }
                ),
                (
                    "disconnect",
                    { call in
                        wifi.disconnect(wifiOff: call.boolean(1)); call.push(true); return 1
                    }
                ),
                (
                    "localIP",
                    { call in
                        call.push(wifi.localIP); return 1
                    }
                ),
                (
                    "subnetMask",
                    { call in
                        call.push(wifi.subnetMask); return 1
                    }
                ),
                (
                    "gatewayIP",
                    { call in
                        call.push(wifi.gatewayIP); return 1
                    }
                ),
                (
                    "dnsIP",
                    { call in
                        call.push(wifi.dnsIP); return 1
                    }
                ),
                (
                    "macAddress",
                    { call in
                        call.push(wifi.macString); return 1
                    }
                ),
                (
                    "softAPConfig",
                    { call throws(LuaError) in
                        let ip = try call.string(1), gateway = try call.string(2), mask = try call.string(3)
                        call.push(wifi.softAPConfig(ip: ip, gateway: gateway, mask: mask)); return 1
                    }
                ),
                (
                    "persistent",
                    { call throws(LuaError) in
                        wifi.persistent = call.boolean(1); return 0
                    }
                ),
                (
                    "getPersistent",
                    { call throws(LuaError) in
                        call.push(wifi.persistent); return 1
                    }
                ),
                (
                    "config",
                    { call throws(LuaError) in
                        // IPAddress arguments as strings; converted here, an unset one is 0.0.0.0
                        var a: [UInt32] = []
                        for i: Int32 in 1...5 {
                            if call.isNoneOrNil(i) { a.append(0); continue }
                            let text = try call.string(i)
                            guard let bits = ipBits(text) else { throw .argument(i, "an IPv4 address like \"10.0.2.50\" expected, got '\(text)'") }
                            a.append(bits)
                        }
                        call.push(wifi.config(ip: a[0], a[1], a[2], a[3], dns2: a[4])); return 1
                    }
                ),
                (
                    "broadcastIP",
                    { call in
                        call.push(wifi.broadcastIP); return 1
                    }
                ),
                (
                    "setAutoReconnect",
                    { call throws(LuaError) in
                        wifi.autoReconnect = call.boolean(1); call.push(true); return 1
                    }
                ),
                (
                    "getAutoReconnect",
                    { call throws(LuaError) in
                        call.push(wifi.autoReconnect); return 1
                    }
                ),
                ("hostname", hostname), ("setHostname", hostname), ("getHostname", hostname),
                (
                    "psk",
                    { call in
                        call.push(wifi.password); return 1
                    }
                ),
                (
                    "hostByName",
                    { call throws(LuaError) in
                        let name = try call.string(1)
                        let ms = try call.optionalInteger(2, default: 10_000)
                        let ip = network.hostByName(name, timeoutMillis: UInt64(max(0, ms)))
                        if let ip { call.push(ip) } else { call.pushNil() }
                        return 1
                    }
                ),
                // SSID/RSSI/channel/BSSIDstr: of the station without an index, of a scan result with one
                (
                    "SSID",
                    { call throws(LuaError) in
                        if call.isNoneOrNil(1) { call.push(wifi.ssid) } else { call.push(try scanIndex(call)?.ssid ?? "") }
                        return 1
                    }
                ),
                (
                    "RSSI",
                    { call throws(LuaError) in
                        if call.isNoneOrNil(1) { call.push(wifi.rssi) } else { call.push(try scanIndex(call)?.rssi ?? 0) }
                        return 1
                    }
                ),
                (
                    "channel",
                    { call throws(LuaError) in
                        if call.isNoneOrNil(1) { call.push(wifi.channel) } else { call.push(try scanIndex(call)?.channel ?? 0) }
                        return 1
                    }
                ),
                (
                    "BSSIDstr",
                    { call throws(LuaError) in
                        if call.isNoneOrNil(1) { call.push(wifi.bssid) } else { call.push(try scanIndex(call)?.bssidString ?? "") }
                        return 1
                    }
                ),
                (
                    "encryptionType",
                    { call throws(LuaError) in
                        call.push(try scanIndex(call)?.encryptionType ?? -1); return 1
                    }
                ),
                (
                    "isHidden",
                    { call throws(LuaError) in
                        call.push(try scanIndex(call)?.hidden ?? false); return 1
                    }
                ),
                (
                    "scanNetworks",
                    { call throws(LuaError) in
                        call.push(wifi.scan(async: call.boolean(1), showHidden: call.boolean(2)))
                        return 1
                    }
                ),
                (
                    "scanComplete",
                    { call in
                        call.push(wifi.scanComplete); return 1
                    }
                ),
                (
                    "scanDelete",
                    { call in
                        wifi.scanDelete(); return 0
                    }
                ),
                (
                    "mode",
                    { call throws(LuaError) in
                        let m = try call.integer(1)
                        guard let mode = WiFiMode(rawValue: m) else { throw .argument(1, "WIFI_OFF, WIFI_STA, WIFI_AP or WIFI_AP_STA expected") }
                        wifi.setMode(mode); call.push(true); return 1
                    }
                ),
                (
                    "getMode",
                    { call in
                        call.push(wifi.mode.rawValue); return 1
                    }
                ),
                (
                    "enableSTA",
                    { call in
                        let on = call.boolean(1), m = wifi.mode.rawValue
                        wifi.setMode(WiFiMode(rawValue: on ? m | 1 : m & 2)!); call.push(true); return 1
                    }
                ),
                (
                    "enableAP",
                    { call in
                        let on = call.boolean(1), m = wifi.mode.rawValue
                        wifi.setMode(WiFiMode(rawValue: on ? m | 2 : m & 1)!); call.push(true); return 1
                    }
                ),
                (
                    "softAP",
                    { call throws(LuaError) in
                        let ssid = try call.string(1)
                        let pass = try call.optionalString(2) ?? ""
                        let channel = try call.optionalInteger(3, default: 1)
                        let hidden = try call.optionalInteger(4, default: 0) != 0
                        let maxConnections = try call.optionalInteger(5, default: 4)
                        call.push(wifi.softAP(ssid: ssid, password: pass, channel: channel, hidden: hidden, maxConnections: maxConnections))
                        return 1
                    }
                ),
                (
                    "softAPIP",
                    { call in
                        call.push(wifi.softAPIP); return 1
                    }
                ),
                (
                    "softAPmacAddress",
                    { call in
                        call.push(wifi.softAPMacString); return 1
                    }
                ),
                (
                    "softAPSSID",
                    { call in
                        call.push(wifi.softAPSSID); return 1
                    }
                ),
                (
                    "softAPPSK",
                    { call in
                        call.push(wifi.softAPPSK); return 1
                    }
                ),
                (
                    "softAPgetStationNum",
                    { call in
                        call.push(wifi.softAPStationCount); return 1
                    }
                ),
                (
                    "softAPdisconnect",
                    { call in
                        wifi.softAPdisconnect(wifiOff: call.boolean(1)); call.push(true); return 1
                    }
                ),
                ("onStationModeConnected", on(0)),
                ("onStationModeDisconnected", on(1)),
                ("onStationModeGotIP", on(3)),
                ("onWiFiModeChange", on(7)),
                ("onEvent", on(-1)),
            ],
            polls: [
                "status", "isConnected", "localIP", "subnetMask", "gatewayIP", "dnsIP", "macAddress", "psk", "SSID",
                "RSSI", "channel", "BSSIDstr", "encryptionType", "isHidden", "scanComplete", "getMode", "softAPIP",
                "softAPmacAddress", "softAPSSID", "softAPPSK", "softAPgetStationNum", "broadcastIP", "getAutoReconnect",
            ])
    }
}
