import BoardCore
import CLwIP

/// `wl_status_t` (wl_definitions.h).
public enum WLStatus: Int, Sendable {
    case idle = 0, noSSIDAvailable = 1, scanCompleted = 2, connected = 3, connectFailed = 4
    case connectionLost = 5, wrongPassword = 6, disconnected = 7, noShield = 255
}

/// `WiFiMode_t`.
public enum WiFiMode: Int, Sendable {
    case off = 0, station = 1, accessPoint = 2, both = 3
    var hasStation: Bool { self == .station || self == .both }
    var hasAccessPoint: Bool { self == .accessPoint || self == .both }
}

/// `WIFI_DISCONNECT_REASON_*` codes the emulator produces (user_interface.h).
public enum DisconnectReason: Int, Sendable {
    case assocLeave = 8, beaconTimeout = 200, noAPFound = 201, authFail = 202
}

/// The ESP8266 radio: the station (association, then DHCP from slirp through the
/// real lwIP client) and the soft-AP (192.168.4.1; on a lab's LAN a cell other
/// boards' stations join, `LabCell`; alone, an interface no station joins).
///
/// With a world file, the station only joins an access point of the world with
/// the right password (`WL_NO_SSID_AVAIL` / `WL_WRONG_PASSWORD` otherwise) and a
/// scan lists the world's access points; without one, any SSID and password join.
/// WiFi is OFF at boot, as in core 3.x (persistent(false)).
public final class WiFiStation {
    /// The owner (never weak: see `Network.active`).
    unowned(unsafe) var network: Network?
    public private(set) var mode: WiFiMode = .off
    public private(set) var ssid = ""
    public private(set) var password = ""
    /// `lost`: the access point went away (a lab's `ap` fault); the SDK looks for it
    /// again (auto-reconnect) at `retryAt`, and `WiFi.status()` says `status` meanwhile.
    private enum Phase { case idle, associating(until: UInt64), dhcp, connected, failed(WLStatus), lost(retryAt: UInt64, status: WLStatus) }
    private var phase: Phase = .idle
    private var accessPoint: World.AccessPoint?
    /// Called on connect / got-IP / disconnect transitions (the SDK's event callback).
    public var onEvent: ((WiFiEvent) -> Void)?
    private(set) var apNetif: UnsafeMutablePointer<CLwIP.netif>?
    public private(set) var softAPSSID = ""
    public private(set) var softAPPSK = ""
    public private(set) var softAPChannel = 1
    public private(set) var softAPHidden = false
    private var scanResults: [World.AccessPoint] = []
    /// `_scanStarted` / `_scanComplete` (ESP8266WiFiScan.cpp:52-56): a scan in progress
    /// ends at this board time.
    private var scanEnds: UInt64?
    private var scanShowsHidden = false
    private var scanCompleted = false

    /// The SDK's event: to the sketch's handler and the board's event stream.
    private func emit(_ e: WiFiEvent) {
        if let uart = network?.board.uart, uart.debugOutput {
            for line in sdkMessages(e) { uart.write(line + "\n") }
        }
        onEvent?(e)
        if let b = network?.board, b.events.wants(.wifi) { b.events.publish(.wifi(e.description)) }
    }

    public enum WiFiEvent: Sendable, Equatable, CustomStringConvertible {
        case connected(ssid: String, bssid: String, channel: Int)
        case gotIP(ip: String, mask: String, gateway: String)
        case disconnected(ssid: String, bssid: String, reason: Int)
        case modeChanged(old: WiFiMode, new: WiFiMode)

        public var description: String {
            switch self {
            case .connected(let ssid, let bssid, let channel): return "connected to \(ssid) (\(bssid), channel \(channel))"
            case .gotIP(let ip, let mask, let gw): return "got IP \(ip) mask \(mask) gateway \(gw)"
            case .disconnected(let ssid, _, let reason): return "disconnected from \(ssid), reason \(reason)"
            case .modeChanged(let old, let new): return "mode \(old) -> \(new)"
            }
        }
    }

    /// How long the station takes to notice that its access point is gone: 60
    /// beacons missed in a row at the usual 102.4 ms interval, then probe requests
    /// without answer (Espressif's description of its station, espressif/esp-idf#1076;
    /// the probes' few hundred ms are not counted). Then `WIFI_EVENT_STAMODE_DISCONNECTED`
    /// with `REASON_BEACON_TIMEOUT` (200, user_interface.h:521).
    public static let beaconTimeoutMicros: UInt64 = 60 * 102_400
    /// After a scan that did not find the access point, the SDK tries again a second
    /// later (its log: "no SSID found, reconnect after 1s"; esp8266/Arduino#6622).
    public static let retryMicros: UInt64 = 1_000_000

    /// What the SDK prints (os_printf) for an event when `Serial.setDebugOutput(true)`:
    /// the NONOS SDK 2.2's station messages as boards print them (state numbers are
    /// the SDK's station states: 0 idle, 2 auth, 3 assoc, 5 run).
    func sdkMessages(_ e: WiFiEvent) -> [String] {
        switch e {
        case .connected(let ssid, _, let channel):
            return [
                "scandone", "state: 0 -> 2 (b0)", "state: 2 -> 3 (0)", "state: 3 -> 5 (10)", "add 0", "aid 1", "cnt ", "",
                "connected with \(ssid), channel \(channel)", "dhcp client start...",
            ]
        case .gotIP(let ip, let mask, let gw):
            return ["ip:\(ip),mask:\(mask),gw:\(gw)"]
        case .disconnected(let ssid, _, let reason):
            switch reason {
            case DisconnectReason.noAPFound.rawValue: return ["scandone", "no \(ssid) found, reconnect after 1s", "reconnect"]
            case DisconnectReason.beaconTimeout.rawValue:
                return ["bcn_timout,ap_probe_send_start", "ap_probe_send over, rest wifi status to disassoc", "state: 5 -> 0 (1)", "rm 0"]
            case DisconnectReason.authFail.rawValue: return ["scandone", "state: 0 -> 2 (b0)", "state: 2 -> 0 (2)", "reconnect"]
            default: return ["state: 5 -> 0 (0)", "rm 0"]
            }
        case .modeChanged(_, let new):
            let sta = "sta(" + macString.lowercased() + ")", ap = "softAP(" + softAPMacString.lowercased() + ")"
            switch new {
            case .station: return ["mode : " + sta]
            case .accessPoint: return ["mode : " + ap]
            case .both: return ["mode : \(sta) + \(ap)"]
            case .off: return []
            }
        }
    }

    /// Time the radio takes for one scan (14 channels at the SDK's ~120 ms each); an estimate.
    public static let scanMicros: UInt64 = 14 * 120_000
    public static let softAPAddress = "192.168.4.1"

    private var world: World { network?.config.world ?? World() }

    /// The station MAC: `--mac` if given (a lab board's `"mac"`), else
    /// Espressif's OUI 5C:CF:7F and the chip id; on a LAN (`--net`) the low three
    /// bytes of the board's address instead, so boards that share a network differ.
    public var macAddress: [UInt8] {
        if let m = network?.config.mac { return m }
        if let n = network, n.config.link != nil, let bits = ipBits(n.config.lanAddress.address) {
            let b = withUnsafeBytes(of: bits) { Array($0) }
            return [0x5C, 0xCF, 0x7F, b[1], b[2], b[3]]
        }
        let id = network?.board.config.chipId ?? 0
        return [0x5C, 0xCF, 0x7F, UInt8((id >> 16) & 0xff), UInt8((id >> 8) & 0xff), UInt8(id & 0xff)]
    }

    /// The soft-AP MAC: the station's with the locally administered bit set (5E:CF:7F:…).
    public var softAPMacAddress: [UInt8] { var m = macAddress; m[0] |= 0x02; return m }

    public var macString: String { WiFiStation.macText(macAddress) }
    public var softAPMacString: String { WiFiStation.macText(softAPMacAddress) }

    static func macText(_ m: [UInt8]) -> String {
        m.map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined(separator: ":")
    }

    // MARK: station

    /// `WiFi.status()`.
    public var status: WLStatus {
        switch phase {
        case .idle: return .idle
        case .associating, .dhcp: return .disconnected
        case .connected: return .connected
        case .failed(let s): return s
        case .lost(_, let s): return s
        }
    }

    /// `WiFi.localIP()`: 0.0.0.0 until DHCP has bound.
    public var localIP: String {
        guard case .connected = phase, let n = network else { return "0.0.0.0" }
        return ipString(n.addressBits)
    }
    public var subnetMask: String { network.map { $0.netifUp ? ipString(clwip_netif_mask($0.netif)) : "0.0.0.0" } ?? "0.0.0.0" }
    public var gatewayIP: String { network.map { $0.netifUp ? ipString(clwip_netif_gw($0.netif)) : "0.0.0.0" } ?? "0.0.0.0" }
    public var dnsIP: String { network.map { $0.netifUp ? ipString(clwip_dns_server(0)) : "0.0.0.0" } ?? "0.0.0.0" }

    /// `WiFi.RSSI()`: the joined access point's level; 31 (the SDK's "invalid") when not connected.
    public var rssi: Int {
        guard case .connected = phase else { return 31 }
        return accessPoint?.rssi ?? -55
    }
    public var bssid: String { accessPoint?.bssidString ?? "00:00:00:00:00:00" }
    public var channel: Int { accessPoint?.channel ?? (mode.hasAccessPoint ? softAPChannel : 1) }

    /// `WiFi.begin(ssid, pass)` (ESP8266WiFiSTA.cpp:133-149): station mode on; an SSID
    /// that is empty or over 32 bytes returns `WL_CONNECT_FAILED` and a passphrase
    /// over 64 `WL_WRONG_PASSWORD`, with nothing started. Any other passphrase is
    /// handed to the SDK, and association starts (a wrong one never joins).
    @discardableResult
    public func begin(ssid: String, password: String) -> WLStatus {
        guard let n = network else { return .noShield }
        if !mode.hasStation { setMode(mode == .accessPoint ? .both : .station) }
        guard (1...32).contains(ssid.utf8.count) else { return .connectFailed }
        guard password.utf8.count <= 64 else { return .wrongPassword }
        if case .connected = phase, ssid == self.ssid, password == self.password { return status }
        leave(reason: .assocLeave)
        if persistent { save(ssid: ssid, password: password) }
        self.ssid = ssid
        self.password = password
        phase = .associating(until: n.board.clock.micros + n.config.associationMicros)
        return status
    }

    /// `WiFi.begin()` (ESP8266WiFiSTA.cpp:236-251): `wifi_station_connect` with the SDK's
    /// current config: the SSID and password given in this boot, or else those saved in
    /// flash by a `begin(ssid, pass)` under `persistent(true)`. Nothing saved: no join.
    @discardableResult
    public func begin() -> WLStatus {
        if ssid.isEmpty, let saved = savedConfig { return begin(ssid: saved.ssid, password: saved.password) }
        guard !ssid.isEmpty else {
            if !mode.hasStation { setMode(mode == .accessPoint ? .both : .station) }
            return status
        }
        return begin(ssid: ssid, password: password)
    }

    // MARK: persistent configuration

    /// `WiFi.persistent(b)`: whether `begin(ssid, pass)` saves the station config in
    /// flash (`wifi_station_set_config`) or keeps it in RAM only (`…_current`).
    /// Off at boot in core 3.x (ESP8266WiFiGeneric.cpp:88).
    public var persistent = false

    /// `WiFi.setAutoReconnect(b)` (`wifi_station_set_reconnect_policy`, ESP8266WiFiSTA.cpp:482-484):
    /// whether the SDK looks for the access point again after losing it. On by default.
    public var autoReconnect = true

    /// Where esplua keeps the saved station config: the SDK's system parameter sectors
    /// (0x3FD000, the last 12 KB of a 4 MB flash; eagle.flash.4m2m.ld "wifi"). The
    /// layout is esplua's own ("ESPL", length-prefixed SSID and password), not the SDK's.
    public static let configAddress = 0x3FD000
    private static let magic: [UInt8] = Array("ESPL".utf8)

    /// The config saved in flash, if any.
    public var savedConfig: (ssid: String, password: String)? {
        guard let flash = network?.board.flash, let b = flash.read(WiFiStation.configAddress, count: 4 + 1 + 32 + 1 + 64),
            Array(b[0..<4]) == WiFiStation.magic
        else { return nil }
        let sl = Int(b[4])
        guard sl <= 32 else { return nil }
        let pl = Int(b[5 + sl])
        guard pl <= 64 else { return nil }
        return (String(decoding: b[5..<5 + sl], as: UTF8.self), String(decoding: b[6 + sl..<6 + sl + pl], as: UTF8.self))
    }

    /// `wifi_station_set_config`: saved only when it differs (ESP8266WiFiSTA.cpp:185-199).
    private func save(ssid: String, password: String) {
        guard let flash = network?.board.flash else { return }
        if let saved = savedConfig, saved.ssid == ssid, saved.password == password { return }
        let record = WiFiStation.magic + [UInt8(ssid.utf8.count)] + Array(ssid.utf8) + [UInt8(password.utf8.count)] + Array(password.utf8)
        if flash.eraseSector(WiFiStation.configAddress) { _ = flash.program(WiFiStation.configAddress, record) }
    }

    // MARK: static address

    /// The station's static addressing (`WiFi.config`), nil with DHCP. SDK RAM.
    public struct StaticAddress: Sendable, Equatable {
        public var ip: UInt32, gateway: UInt32, mask: UInt32
        public var dns1: UInt32, dns2: UInt32
    }
    public private(set) var staticAddress: StaticAddress?

    /// `WiFi.config(local_ip, arg1, arg2, arg3, dns2)` (ESP8266WiFiSTA.cpp:280-340):
    /// station mode on; all zero is DHCP again; else the core's argument order
    /// (ip, gateway, mask, dns1), or Arduino's (ip, dns, gateway[, mask]) when the
    /// third is not a mask starting with 255 (LwipIntf.cpp:61-96); false when the
    /// gateway is not in the subnet. The DHCP client stops; the address applies at
    /// once if the station has one, else when it associates.
    public func config(ip: UInt32, _ arg1: UInt32, _ arg2: UInt32, _ arg3: UInt32 = 0, dns2: UInt32 = 0) -> Bool {
        guard let n = network else { return false }
        if !mode.hasStation { setMode(mode == .accessPoint ? .both : .station) }
        // (addresses in network byte order: the first octet is the low byte)
        if ip == 0 && ((arg1 == 0 && arg2 == 0) || (arg2 == 0 && arg3 == 0)) {
            staticAddress = nil
            n.useDHCP()
            return true
        }
        var gateway = arg1, mask = arg2, dns1 = arg3
        if mask & 0xff != 255 {
            gateway = arg2
            mask = arg3 & 0xff == 0 ? ipBits("255.255.255.0")! : arg3
            dns1 = arg1
        }
        if gateway != 0 && (ip & mask) != (gateway & mask) { return false }
        staticAddress = StaticAddress(ip: ip, gateway: gateway, mask: mask, dns1: dns1, dns2: dns2)
        n.useStaticAddress()
        return true
    }

    /// `WiFi.broadcastIP()` (ESP8266WiFiSTA.cpp:542-548): ip | ~mask of the station interface.
    public var broadcastIP: String {
        guard let n = network, n.netifUp else { return "255.255.255.255" }
        return ipString(n.addressBits | ~clwip_netif_mask(n.netif))
    }

    /// `WiFi.reconnect()`: joins again with the last SSID and password.
    @discardableResult
    public func reconnect() -> Bool {
        guard mode.hasStation, !ssid.isEmpty else { return false }
        let (s, p) = (ssid, password)
        leave(reason: .assocLeave)
        begin(ssid: s, password: p)
        return true
    }

    /// `WiFi.disconnect(wifioff)`: leaves the AP; connections are gone with the interface.
    public func disconnect(wifiOff: Bool = false) {
        leave(reason: .assocLeave)
        ssid = ""
        password = ""
        if wifiOff { setMode(mode == .both ? .accessPoint : (mode == .station ? .off : mode)) }
    }

    private func leave(reason: DisconnectReason) {
        let was: Bool
        switch phase {
        case .connected, .dhcp: was = true
        default: was = false
        }
        network?.bringDown()
        leaveCell()
        phase = .idle
        if was { emit(.disconnected(ssid: ssid, bssid: bssid, reason: reason.rawValue)) }
        accessPoint = nil
    }

    /// The station leaves the lab's cell it joined, if any.
    private func leaveCell() {
        guard let n = network, n.inCell else { return }
        n.inCell = false
        n.cellLink?.join(nil, station: macAddress)
    }

    /// `WiFi.mode(m)`.
    public func setMode(_ m: WiFiMode) {
        let old = mode
        guard m != old else { return }
        if !m.hasStation { leave(reason: .assocLeave) }
        mode = m
        if m.hasAccessPoint && !old.hasAccessPoint {
            if softAPSSID.isEmpty {
                let mac = softAPMacAddress
                softAPSSID = "ESP_" + mac[3...].map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined()
            }
            startAccessPoint()
        } else if !m.hasAccessPoint && old.hasAccessPoint {
            stopAccessPoint()
        }
        emit(.modeChanged(old: old, new: m))
    }

    // MARK: soft-AP

    /// `WiFi.softAP(ssid, psk, channel, hidden, max_connection)`: false for the core's invalid arguments.
    public func softAP(ssid: String, password: String, channel: Int = 1, hidden: Bool = false, maxConnections: Int = 4) -> Bool {
        guard (1...32).contains(ssid.utf8.count), password.isEmpty || (8...64).contains(password.utf8.count),
            (1...13).contains(channel), (0...8).contains(maxConnections)
        else { return false }
        softAPSSID = ssid
        softAPPSK = password
        softAPChannel = channel
        softAPHidden = hidden
        if mode.hasAccessPoint { stopAccessPoint(); startAccessPoint() } else { setMode(mode == .station ? .both : .accessPoint) }
        return true
    }

    /// `WiFi.softAPdisconnect(wifioff)`.
    public func softAPdisconnect(wifiOff: Bool = false) {
        softAPSSID = ""
        softAPPSK = ""
        // the SDK's soft-AP config is emptied (ESP8266WiFiAP.cpp:282-302): a lab's cell closes
        if apNetif != nil { network?.cellLink?.announce(nil) }
        if wifiOff, mode.hasAccessPoint { setMode(mode == .both ? .station : .off) }
    }

    public var softAPIP: String { apNetif == nil ? "0.0.0.0" : softAPAddressConfig.ip }

    /// The soft-AP interface's address and mask: 192.168.4.1/24 until `softAPConfig`
    /// (SDK RAM: a reboot restores it).
    private var softAPAddressConfig = (ip: WiFiStation.softAPAddress, mask: "255.255.255.0")

    /// `WiFi.softAPConfig(local_ip, gateway, subnet)` (ESP8266WiFiAP.cpp:203-273): the
    /// soft-AP is enabled, its interface takes the address and mask (a running one is
    /// restarted with them). False when an address is not IPv4. The SDK's DHCP server
    /// then leases from the soft-AP's address + 99 (`softAPLeaseStart`) to the stations
    /// of other boards that join its cell.
    public func softAPConfig(ip: String, gateway: String, mask: String) -> Bool {
        guard ipBits(ip) != nil, ipBits(gateway) != nil, ipBits(mask) != nil else { return false }
        softAPAddressConfig = (ip, mask)
        softAPLeaseConfigured = true
        if mode.hasAccessPoint {
            stopAccessPoint()
            startAccessPoint()
        } else {
            setMode(mode == .station ? .both : .accessPoint)
        }
        return apNetif != nil
    }
    /// `WiFi.softAPgetStationNum()`: the stations of other boards joined to this
    /// board's cell (a lab's, or any VDE LAN's); alone, none (the world has no stations).
    public var softAPStationCount: Int { apNetif == nil ? 0 : network?.cellLink?.stationCount ?? 0 }

    /// Set by `softAPConfig`: the SDK's DHCP server then leases from the soft-AP's
    /// address + 99 (ESP8266WiFiAP.cpp:235-247), else from the address after it.
    private var softAPLeaseConfigured = false

    /// The last byte of the first address the soft-AP's DHCP server leases: without
    /// `softAPConfig`, `init_dhcps_lease` (LwipDhcpServer.cpp:843-858): the next
    /// address (192.168.4.2), or 100 below one at .128 or above; with it, + 99.
    var softAPLeaseStart: Int {
        let last = Int((ipBits(softAPAddressConfig.ip) ?? 0) >> 24)
        if softAPLeaseConfigured { return last + 99 }
        return last >= 0x80 ? last - 100 : last + 1
    }

    /// The RSSI a station of the lab sees another board's soft-AP at: boards a few
    /// metres apart on a bench (an estimate; the lab has no positions).
    public static let labCellRSSI = -45

    /// The lab's soft-AP cells as a scan shows them.
    private var labAccessPoints: [World.AccessPoint] {
        (network?.cellLink?.cells ?? []).map {
            World.AccessPoint(ssid: $0.ssid, password: $0.psk, channel: $0.channel, rssi: WiFiStation.labCellRSSI, hidden: $0.hidden, bssid: $0.bssid)
        }
    }
    /// Frames the soft-AP interface sent (to no one).
    public var softAPFramesSent: Int { Int(clwip_ap_frames()) }

    private func startAccessPoint() {
        guard apNetif == nil else { return }
        let nif = UnsafeMutablePointer<CLwIP.netif>.allocate(capacity: 1)
        nif.initialize(to: CLwIP.netif())
        let err = softAPMacAddress.withUnsafeBufferPointer {
            clwip_netif_add_ap(nif, $0.baseAddress, ipBits(softAPAddressConfig.ip)!, ipBits(softAPAddressConfig.mask)!)
        }
        if err == 0 { apNetif = nif } else { nif.deallocate() }
        guard apNetif != nil, let cell = network?.cellLink else { return }
        cell.announce(LabCell(owner: 0, ssid: softAPSSID, psk: softAPPSK, channel: softAPChannel, bssid: softAPMacAddress, hidden: softAPHidden))
    }

    private func stopAccessPoint() {
        guard let nif = apNetif else { return }
        clwip_netif_remove(nif)
        nif.deallocate()
        apNetif = nil
        network?.dhcpServer.reset()
        network?.cellLink?.announce(nil)
    }

    // MARK: scan

    /// `WiFi.scanNetworks(async, show_hidden)` (ESP8266WiFiScan.cpp:69-107): -1 while
    /// a scan runs; else the last results are deleted and a scan starts. A blocking
    /// scan waits in `esp_delay` (the board's background runs) and returns how many
    /// it found; an asynchronous one returns `WIFI_SCAN_RUNNING` (-1) at once and
    /// `scanComplete()` tells when it is done.
    public func scan(async: Bool = false, showHidden: Bool = false) -> Int {
        guard let n = network else { return -2 }
        if scanEnds != nil { return -1 }
        if !mode.hasStation { setMode(mode == .accessPoint ? .both : .station) }
        scanDelete()
        scanShowsHidden = showHidden
        scanEnds = n.board.clock.micros + WiFiStation.scanMicros
        if async { return -1 }
        n.board.loop.espDelay(WiFiStation.scanMicros) { self.scanEnds != nil }
        if scanEnds != nil { finishScan() }  // the run is ending: the wait was cut short
        return scanResults.count
    }

    /// `_scanDone`: the results are kept, the scan is complete (l.315-331).
    private func finishScan() {
        scanResults = (world.accessPoints + labAccessPoints).filter { scanShowsHidden || !$0.hidden }
            .enumerated().sorted { ($0.element.channel, $0.offset) < ($1.element.channel, $1.offset) }.map(\.element)
        scanEnds = nil
        scanCompleted = true
    }

    /// `WiFi.scanComplete()` (l.125-136): -1 while scanning, the count once done,
    /// -2 before any scan or after `scanDelete()`.
    public var scanComplete: Int {
        if scanEnds != nil { return -1 }
        return scanCompleted ? scanResults.count : -2
    }

    /// The i-th result of the last scan, nil out of range.
    public func scanResult(_ i: Int) -> World.AccessPoint? {
        scanResults.indices.contains(i) ? scanResults[i] : nil
    }

    /// `scanDelete()` (l.141-148).
    public func scanDelete() {
        scanResults.removeAll()
        scanCompleted = false
    }

    // MARK: host name

    /// `WiFi.hostname()`.
    public var hostname: String { network?.hostname ?? "" }

    /// `WiFi.hostname(name)` (LwipIntf.cpp:119-196): refused when empty or over 32
    /// characters; stored but reported false when not RFC 952 (over 24, a character
    /// besides letters, digits and '-', or a '-' last); a DHCP lease already started
    /// is renewed so the server learns the new name.
    public func setHostname(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 32, let network else { return false }
        var compliant = bytes.count <= 24
        for b in bytes where !(b.isASCIIAlnum || b == UInt8(ascii: "-")) { compliant = false }
        if bytes.last == UInt8(ascii: "-") { compliant = false }
        let renewed = network.setHostname(bytes)
        return renewed && compliant
    }

    // MARK: the loop

    func reset() {
        persistent = false
        autoReconnect = true
        staticAddress = nil
        phase = .idle
        mode = .off
        ssid = ""
        password = ""
        accessPoint = nil
        onEvent = nil
        leaveCell()
        cellGoneSince = nil
        stopAccessPoint()
        softAPLeaseConfigured = false
        softAPSSID = ""
        softAPPSK = ""
        softAPHidden = false
        softAPAddressConfig = (WiFiStation.softAPAddress, "255.255.255.0")
        scanResults.removeAll()
        scanEnds = nil
        scanCompleted = false
    }

    var nextDeadline: UInt64? {
        var next = scanEnds
        func consider(_ t: UInt64) { next = min(next ?? t, t) }
        switch phase {
        case .associating(let until): consider(until)
        case .lost(let retryAt, _): consider(retryAt)
        case .connected, .dhcp:
            if let t = beaconLoss(after: network?.board.clock.micros ?? 0) { consider(t) }
            if let t = cellGoneSince { consider(t + WiFiStation.beaconTimeoutMicros) }
        default: break
        }
        return next
    }

    /// The lab's cell the station joined is gone (its board closed its soft-AP,
    /// rebooted or ended): no beacon reaches the station any more.
    private var cellMissing: Bool {
        guard let n = network, n.inCell else { return false }
        return !(n.cellLink?.cells.contains { $0.ssid == ssid } ?? false)
    }
    /// When the station first found its cell gone (board time), while associated.
    private var cellGoneSince: UInt64?

    /// The access point's outage (`ap` fault) under way at `t`, if any.
    private func outage(at t: UInt64) -> LinkFault? {
        network?.shaper?.faults.first { $0.kind == .accessPointDown && $0.covers(t) }
    }

    /// When the station next notices its access point gone (an outage at least
    /// `beaconTimeoutMicros` long, not yet noticed at `now`).
    private func beaconLoss(after now: UInt64) -> UInt64? {
        guard let faults = network?.shaper?.faults else { return nil }
        return faults.filter { $0.kind == .accessPointDown && $0.duration > WiFiStation.beaconTimeoutMicros }
            .map { $0.at + WiFiStation.beaconTimeoutMicros }.filter { $0 >= now }.min()
    }

    func service(now: UInt64) {
        guard let n = network else { return }
        if let ends = scanEnds, now >= ends { finishScan() }
        var associated = false
        if case .connected = phase { associated = true }
        if case .dhcp = phase { associated = true }
        if associated && cellMissing {
            // from the first beacon missed, when the radio heard them (real time), else from now
            if cellGoneSince == nil { cellGoneSince = min(now, n.cellLink?.firstMissedBeacon(bssid: accessPoint?.bssid ?? []) ?? now) }
        } else {
            cellGoneSince = nil
        }
        // the access point went away long enough ago: beacons lost (ESP8266WiFiGeneric.cpp
        // hands the SDK's reason to onStationModeDisconnected); the netif's link goes
        // down, lwIP keeps its pcbs (their retransmissions find no route meanwhile)
        let apLostAt = outage(at: now).map(\.at) ?? cellGoneSince
        if associated, let lostAt = apLostAt, now >= lostAt + WiFiStation.beaconTimeoutMicros {
            cellGoneSince = nil
            n.linkLost()
            if autoReconnect {
                // the SDK scans for the AP again; while it connects, wifi_station_get_connect_status
                // is STATION_CONNECTING -> WL_DISCONNECTED (ESP8266WiFiSTA.cpp:594-611)
                phase = .lost(retryAt: now + WiFiStation.scanMicros, status: .disconnected)
            } else {
                // the core stops the SDK's connection manager (wifi_station_disconnect,
                // ESP8266WiFiGeneric.cpp:231-238): STATION_IDLE -> WL_IDLE_STATUS, no retry
                phase = .idle
            }
            emit(.disconnected(ssid: ssid, bssid: bssid, reason: DisconnectReason.beaconTimeout.rawValue))
            return
        }
        switch phase {
        case .lost(let retryAt, _) where now >= retryAt:
            if outage(at: now) != nil || cellMissing {
                // not found: STATION_NO_AP_FOUND -> WL_NO_SSID_AVAIL, REASON_NO_AP_FOUND (201), scan again
                // the SDK tries again a second later ("reconnect after 1s", esp8266/Arduino#6622), a scan each time
                phase = .lost(retryAt: now + WiFiStation.retryMicros + WiFiStation.scanMicros, status: .noSSIDAvailable)
                emit(.disconnected(ssid: ssid, bssid: bssid, reason: DisconnectReason.noAPFound.rawValue))
            } else {
                phase = .associating(until: now + n.config.associationMicros)
            }
        case .associating(let until) where now >= until:
            if outage(at: now) != nil || cellMissing {
                phase = .lost(retryAt: now + WiFiStation.retryMicros + WiFiStation.scanMicros, status: .noSSIDAvailable)
                emit(.disconnected(ssid: ssid, bssid: "00:00:00:00:00:00", reason: DisconnectReason.noAPFound.rawValue))
                return
            }
            // another board's soft-AP (a lab's cell): the SDK's auth fails on a wrong
            // passphrase (WL_WRONG_PASSWORD, as for an access point of the world)
            if let cell = n.cellLink?.cells.first(where: { $0.ssid == ssid }) {
                guard cell.psk.isEmpty || cell.psk == password else {
                    phase = .failed(.wrongPassword)
                    emit(.disconnected(ssid: ssid, bssid: WiFiStation.macText(cell.bssid), reason: DisconnectReason.authFail.rawValue))
                    return
                }
                accessPoint = World.AccessPoint(
                    ssid: cell.ssid, password: cell.psk, channel: cell.channel, rssi: WiFiStation.labCellRSSI, hidden: false, bssid: cell.bssid)
                n.inCell = true
                n.cellLink?.join(cell, station: macAddress)
                phase = .dhcp
                // back in a cell that reopened: the link comes up, DHCP confirms the lease
                if n.netifUp { n.linkBack() }
                n.bringUp(mac: macAddress)
                emit(.connected(ssid: ssid, bssid: bssid, channel: channel))
                return
            }
            let w = world
            if w.describesAccessPoints {
                guard let ap = w.accessPoints.first(where: { $0.ssid == ssid }) else {
                    phase = .failed(.noSSIDAvailable)
                    emit(.disconnected(ssid: ssid, bssid: "00:00:00:00:00:00", reason: DisconnectReason.noAPFound.rawValue))
                    return
                }
                guard ap.password.isEmpty || ap.password == password else {
                    phase = .failed(.wrongPassword)
                    emit(.disconnected(ssid: ssid, bssid: ap.bssidString, reason: DisconnectReason.authFail.rawValue))
                    return
                }
                accessPoint = ap
            }
            phase = .dhcp
            // back after an outage: the link comes up and DHCP confirms the lease
            // (lwIP's dhcp_network_changed: DHCPREQUEST in REBOOTING)
            if n.netifUp { n.linkBack() }
            n.bringUp(mac: macAddress)
            emit(.connected(ssid: ssid, bssid: bssid, channel: channel))
        case .dhcp where n.dhcpBound:
            phase = .connected
            emit(.gotIP(ip: localIP, mask: subnetMask, gateway: gatewayIP))
        default:
            break
        }
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

extension UInt8 {
    fileprivate var isASCIIAlnum: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
