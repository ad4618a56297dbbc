/// `ESP8266WiFiMulti` (libraries/ESP8266WiFi/src/ESP8266WiFiMulti.cpp, core 3.1.2):
/// a list of known access points; `run()` keeps the station connected by
/// scanning and joining the known network with the strongest signal.
public final class WiFiMulti {
    private unowned let wifi: WiFiStation
    public private(set) var accessPoints: [(ssid: String, passphrase: String)] = []
    private var firstRun = true

    /// WIFI_CONNECT_TIMEOUT_MS and WIFI_SCAN_TIMEOUT_MS (ESP8266WiFiMulti.h:45-50).
    public static let connectTimeoutMillis = 5000
    public static let scanTimeoutMillis = 5000

    public init(wifi: WiFiStation) { self.wifi = wifi }

    /// `addAP(ssid, passphrase)` (APlistAdd, cpp:386-428): false for an empty SSID
    /// or one over 32 bytes, or a passphrase over 64; an entry already there is true.
    public func addAP(ssid: String, passphrase: String) -> Bool {
        guard (1...32).contains(ssid.utf8.count), passphrase.utf8.count <= 64 else { return false }
        if existsAP(ssid: ssid, passphrase: passphrase) { return true }
        accessPoints.append((ssid, passphrase))
        return true
    }

    /// `existsAP` (APlistExists, cpp:436-460): the same SSID and passphrase.
    public func existsAP(ssid: String, passphrase: String) -> Bool {
        accessPoints.contains { $0.ssid == ssid && $0.passphrase == passphrase }
    }

    /// `cleanAPlist()`.
    public func cleanAPlist() { accessPoints.removeAll() }

    /// `run(connectTimeoutMs)` (cpp:176-214).
    public func run(connectTimeoutMillis: Int = WiFiMulti.connectTimeoutMillis) -> WLStatus {
        if firstRun {
            firstRun = false
            // fast connect to the previous WiFi (the SDK's current config)
            if !wifi.ssid.isEmpty || wifi.savedConfig != nil {
                wifi.begin()
                _ = waitConnect(connectTimeoutMillis)
            }
        }
        if wifi.status == .connected { return .connected }
        guard startScan() >= 0 else { return .noSSIDAvailable }
        return connectMulti(connectTimeoutMillis)
    }

    /// `esp_delay(timeout, blocked, 100)`: the condition is looked at every 100 ms.
    private func delay(_ timeoutMillis: Int, while blocked: () -> Bool) {
        guard let loop = wifi.network?.board.loop, let clock = wifi.network?.board.clock else { return }
        let deadline = clock.micros + UInt64(max(0, timeoutMillis)) * 1000
        while blocked() && !loop.isStopping {
            let now = clock.refresh()
            guard now < deadline else { return }
            loop.espDelay(min(100_000, deadline - now))
        }
    }

    /// `waitWiFiConnect` (cpp:96-124): WL_CONNECTED, or WL_CONNECT_FAILED on failure or timeout.
    private func waitConnect(_ timeoutMillis: Int) -> WLStatus {
        var status = WLStatus.connectFailed
        delay(timeoutMillis) {
            status = wifi.status
            return status != .connected && status != .connectFailed
        }
        return status == .connected ? .connected : .connectFailed
    }

    /// `startScan` (cpp:221-251): an asynchronous scan after a disconnect, waited for.
    private func startScan() -> Int {
        wifi.scanDelete()
        wifi.disconnect()
        _ = wifi.scan(async: true)
        var result = -1
        delay(WiFiMulti.scanTimeoutMillis) {
            result = wifi.scanComplete
            return result < 0
        }
        return result < 0 ? -2 : result
    }

    /// `connectWiFiMulti` (cpp:258-352): the known networks of the scan by RSSI
    /// (strongest first, the core's stable exchange sort), then the known networks
    /// the scan did not show (hidden), each with the connect timeout.
    private func connectMulti(_ timeoutMillis: Int) -> WLStatus {
        var known: [Int] = []
        for i in 0..<max(0, wifi.scanComplete) {
            guard let ap = wifi.scanResult(i) else { continue }
            for entry in accessPoints where entry.ssid == ap.ssid { known.append(i) }
        }
        let rssi = { (i: Int) in self.wifi.scanResult(i)?.rssi ?? -127 }
        for i in 0..<known.count {
            for j in (i + 1)..<max(i + 1, known.count) where rssi(known[j]) > rssi(known[i]) {
                known.swapAt(i, j)
            }
        }
        var skip = [Bool](repeating: false, count: accessPoints.count)
        for k in known {
            guard let ap = wifi.scanResult(k) else { continue }
            for (j, entry) in accessPoints.enumerated() where entry.ssid == ap.ssid {
                wifi.begin(ssid: ap.ssid, password: entry.passphrase)
                if waitConnect(timeoutMillis) == .connected { return .connected }
                skip[j] = true
            }
        }
        for (j, entry) in accessPoints.enumerated() where !skip[j] {
            wifi.begin(ssid: entry.ssid, password: entry.passphrase)
            if waitConnect(timeoutMillis) == .connected { return .connected }
        }
        return .connectFailed
    }
}
