import LuaRuntime

/// Answers for a name the sketch uses that esplua does not have: whether the
/// ESP8266 core has it (and esplua not yet), whether esplua has it under another
/// name, and where the reference is. Used at run time (a missing field raises its
/// answer; a call of a missing global has it added to Lua's message) and by
/// `esplua check`.
public enum APIHelp {
    /// Where the user finds what esplua has.
    public static let reference = "see \"Lua API reference\" in esplua's README.md"

    /// Names of the ESP8266 core 3.1.2 that esplua does not have (yet), with what to
    /// use instead where there is something. From shared/reference/api-coverage.md
    /// (its ✗ rows), the ones classroom sketches call most. Keys: `name` for a
    /// global, `Owner.name` for a singleton's or class's function, `Class:name` for
    /// an object's method.
    public static let coreOnly: [String: String] = [
        // Arduino.h
        "min": "use math.min", "max": "use math.max", "abs": "use math.abs",
        "round": "use math.floor(x + 0.5)", "sq": "use x * x", "radians": "use math.rad", "degrees": "use math.deg",
        "bitRead": "use Lua's bit operators: (x >> n) & 1", "bitSet": "use x | (1 << n)", "bitClear": "use x & ~(1 << n)",
        "bitWrite": "use Lua's bit operators & | ~ << >>", "bit": "use 1 << n", "lowByte": "use x & 0xFF",
        "highByte": "use (x >> 8) & 0xFF",
        "analogReference": "", "analogWriteResolution": "", "analogWriteMode": "",
        "attachInterruptArg": "use attachInterrupt(pin, function() ... end, mode): a Lua function keeps its own values",
        "optimistic_yield": "use yield()",
        // libraries
        "SPIFFS": "use LittleFS (require(\"LittleFS\"))", "SD": "",
        "Serial1": "", "ArduinoOTA": "", "ArduinoWiFiServer": "",
        "String": "strings are Lua strings", "IPAddress": "addresses are strings, like \"10.0.2.15\"",
        "F": "strings are Lua strings (no PROGMEM)", "PSTR": "strings are Lua strings (no PROGMEM)",
        // ESP8266WiFi
        "WiFi.setAutoConnect": "", "WiFi.getAutoConnect": "",
        "WiFi.setSleepMode": "", "WiFi.getSleepMode": "", "WiFi.setSleep": "", "WiFi.setPhyMode": "",
        "WiFi.getPhyMode": "", "WiFi.setOutputPower": "", "WiFi.forceSleepBegin": "", "WiFi.forceSleepWake": "",
        "WiFi.printDiag": "", "WiFi.scanNetworksAsync": "use WiFi.scanNetworks()", "WiFi.BSSID": "use WiFi.BSSIDstr()",
        "WiFi.beginSmartConfig": "", "WiFi.beginWPSConfig": "", "WiFi.softAPDhcpServer": "",
        "WiFi.onStationModeDHCPTimeout": "", "WiFi.onStationModeAuthModeChanged": "",
        "WiFi.onSoftAPModeStationConnected": "", "WiFi.onSoftAPModeStationDisconnected": "",
        // HardwareSerial, Stream
        "Serial.readBytes": "use Serial.read() or Serial.readString()",
        "Serial.readBytesUntil": "use Serial.readStringUntil(c)", "Serial.find": "", "Serial.findUntil": "",
        "Serial.parseInt": "use tonumber(Serial.readStringUntil(\"\\n\"))", "Serial.parseFloat": "use tonumber(Serial.readStringUntil(\"\\n\"))",
        "Serial.getTimeout": "", "Serial.swap": "", "Serial.setRxBufferSize": "", "Serial.printf_P": "use Serial.printf",
        "Serial.updateBaudRate": "",
        // Esp.h
        "ESP.reset": "use ESP.restart()", "ESP.getCycleCount": "use micros()",
        "ESP.getFlashChipId": "", "ESP.getHeapStats": "use ESP.getFreeHeap(), ESP.getMaxFreeBlockSize() and ESP.getHeapFragmentation()",
        "ESP.eraseConfig": "", "ESP.random": "use random", "ESP.getBootVersion": "", "ESP.getBootMode": "", "ESP.getFreeContStack": "",
        // WiFiClient, WiFiServer, WiFiUDP
        "WiFiClient:printf": "use client:print(string.format(fmt, ...))", "WiFiClient:setSync": "", "WiFiClient:getSync": "",
        "WiFiClient:peekBytes": "", "WiFiClient:readBytes": "use client:read(n)", "WiFiClient:readBytesUntil": "use client:readStringUntil(c)",
        "WiFiClient:getTimeout": "", "WiFiClient:parseInt": "", "WiFiClient:find": "",
        "WiFiClient.stopAllExcept": "", "WiFiUDP:println": "use udp:print(x .. \"\\r\\n\")", "WiFiUDP:printf": "use udp:print(string.format(fmt, ...))",
        "WiFiUDP:beginMulticast": "", "WiFiUDP:beginPacketMulticast": "", "WiFiUDP:readString": "use udp:read(udp:available())",
        "WiFiUDP.stopAllExcept": "",
    ]

    /// The answer for `owner.key` (or `owner:key`, an object's method) that esplua
    /// does not have, given what it has (`api`).
    public static func missing(owner: String, key: String, isMethod: Bool, api: APIRegistry?) -> String {
        let sep = isMethod ? ":" : "."
        let full = "\(owner)\(sep)\(key)"
        let known = coreOnly["\(owner)\(sep)\(key)"] ?? coreOnly["\(owner)\(isMethod ? "." : ":")\(key)"]
        var names: [String] = []
        if let api {
            if let g = api.global(owner) { names += g.functions + g.constants }
            if let m = api.methods[owner] { names += m }
        }
        // obj.method / Class:function mixed up: the other kind of call of a real name
        if let api, isMethod, let g = api.global(owner), g.functions.contains(key) {
            return "\(full): \(owner).\(key) is a function of the class, not of an object: call \(owner).\(key)(...)"
        }
        if let known {
            return "\(full) is in the ESP8266 core but not in esplua (yet)" + (known.isEmpty ? "" : "; \(known)") + "; \(reference)"
        }
        if let near = nearest(key, in: names) {
            return "esplua has no \(full); it has \(owner)\(sep)\(near); \(reference)"
        }
        return "esplua has no \(full), and neither has the ESP8266 core's \(owner) as esplua knows it; \(reference)"
    }

    /// The answer for a global `name` that is nil where the sketch uses it.
    public static func missingGlobal(_ name: String, api: APIRegistry?) -> String {
        if let known = coreOnly[name] {
            return "\(name) is in the ESP8266 core but not in esplua (yet)" + (known.isEmpty ? "" : "; \(known)") + "; \(reference)"
        }
        if let api, let near = nearest(name, in: api.globals.map(\.name) + api.classNames) {
            return "esplua has no \(name); it has \(near); \(reference)"
        }
        if let plugin = pluginModules[name] {
            return "\(name) is a plugin module: local \(name) = require(\"\(name)\")" + (plugin.isEmpty ? "" : " (\(plugin))")
        }
        return "esplua has no global \(name) (a typo, or a variable not set yet?); \(reference)"
    }

    /// The built-in plugins' modules, which a sketch gets with `require`.
    static let pluginModules: [String: String] = ["Wire": "", "SPI": "", "Servo": "", "LittleFS": "", "SPISettings": "from require(\"SPI\")"]

    /// Adds the answer to Lua's message for a missing global (`attempt to call a
    /// nil value (global 'map')`, or to index it, or to compute with it); other
    /// messages come back unchanged. Works on the
    /// first line; a traceback below it is kept.
    public static func explain(_ message: String, api: APIRegistry?) -> String {
        let lineEnd = message.firstIndex(of: "\n") ?? message.endIndex
        let first = message[..<lineEnd]
        // "attempt to call / index / perform arithmetic on / concatenate a nil value (global 'x')"
        for pattern in ["a nil value (global '"] {
            guard let r = first.firstRange(of: pattern) else { continue }
            let name = first[r.upperBound...].prefix { $0 != "'" }
            guard !name.isEmpty else { continue }
            return String(first) + ": " + missingGlobal(String(name), api: api) + message[lineEnd...]
        }
        return message
    }

    /// A name of `names` that `name` is probably a misspelling of: the same but for
    /// case, or within two edits (one for short names).
    static func nearest(_ name: String, in names: [String]) -> String? {
        let lower = name.lowercased()
        if let same = names.first(where: { $0.lowercased() == lower && $0 != name }) { return same }
        let limit = name.count <= 4 ? 1 : 2
        var best: (String, Int)?
        for n in names where n != name {
            let d = editDistance(Array(lower), Array(n.lowercased()), limit: limit)
            if d <= limit, d < (best?.1 ?? Int.max) { best = (n, d) }
        }
        return best?.0
    }

    static func editDistance(_ a: [Character], _ b: [Character], limit: Int) -> Int {
        if abs(a.count - b.count) > limit { return limit + 1 }
        var prev = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return a.isEmpty ? b.count : prev[b.count]
    }
}
