import BoardCore
import CLwIP

/// `wl_status_t` (wl_definitions.h).
public enum WLStatus: Int, Sendable {
    case idle = 0, noSSIDAvailable = 1, scanCompleted = 2, connected = 3, connectFailed = 4
    case connectionLost = 5, wrongPassword = 6, disconnected = 7, noShield = 255
}

/// `WiFiMode_t`.
public enum WiFiMode: Int, Sendable { case off = 0, station = 1, accessPoint = 2, both = 3 }

/// The ESP8266 station: association (a short, realistic delay), then DHCP from
/// slirp through the real lwIP client. With no world file any SSID and password
/// are accepted. WiFi is OFF at boot, as in core 3.x (persistent(false)).
public final class WiFiStation {
    weak var network: Network?
    public private(set) var mode: WiFiMode = .off
    public private(set) var ssid = ""
    private(set) var password = ""
    private enum Phase { case idle, associating(until: UInt64), dhcp, connected }
    private var phase: Phase = .idle
    /// Called with the new status on connect/got-IP/disconnect transitions.
    public var onEvent: ((WiFiEvent) -> Void)?

    public enum WiFiEvent: Sendable, Equatable { case connected(ssid: String), gotIP(String), disconnected }

    /// The station MAC: Espressif's OUI 5C:CF:7F and the chip id.
    public var macAddress: [UInt8] {
        let id = network?.board.config.chipId ?? 0
        return [0x5C, 0xCF, 0x7F, UInt8((id >> 16) & 0xff), UInt8((id >> 8) & 0xff), UInt8(id & 0xff)]
    }

    public var macString: String {
        macAddress.map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined(separator: ":")
    }

    /// `WiFi.status()`.
    public var status: WLStatus {
        switch phase {
        case .idle: return mode == .off ? .idle : .disconnected
        case .associating, .dhcp: return .disconnected
        case .connected: return .connected
        }
    }

    /// `WiFi.localIP()`: 0.0.0.0 until DHCP has bound.
    public var localIP: String {
        guard case .connected = phase, let n = network else { return "0.0.0.0" }
        return ipString(n.addressBits)
    }
    public var subnetMask: String { network.map { $0.netifUp ? ipString(clwip_netif_mask($0.netif)) : "0.0.0.0" } ?? "0.0.0.0" }
    public var gatewayIP: String { network.map { $0.netifUp ? ipString(clwip_netif_gw($0.netif)) : "0.0.0.0" } ?? "0.0.0.0" }

    /// `WiFi.begin(ssid, pass)`: station mode on, association starts.
    @discardableResult
    public func begin(ssid: String, password: String) -> WLStatus {
        guard let n = network else { return .noShield }
        if case .connected = phase, ssid == self.ssid { return status }
        disconnect()
        if mode == .off { mode = .station } else if mode == .accessPoint { mode = .both }
        self.ssid = ssid
        self.password = password
        phase = .associating(until: n.board.clock.micros + n.config.associationMicros)
        return status
    }

    /// `WiFi.disconnect()`: leaves the AP; connections are gone with the interface.
    public func disconnect() {
        let wasConnected: Bool
        if case .connected = phase { wasConnected = true } else { wasConnected = false }
        network?.bringDown()
        phase = .idle
        if wasConnected { onEvent?(.disconnected) }
    }

    public func setMode(_ m: WiFiMode) {
        if m == .off || m == .accessPoint { disconnect() }
        mode = m
    }

    func reset() {
        phase = .idle
        mode = .off
        ssid = ""
        onEvent = nil
    }

    var nextDeadline: UInt64? {
        if case .associating(let until) = phase { return until }
        return nil
    }

    func service(now: UInt64) {
        guard let n = network else { return }
        switch phase {
        case .associating(let until) where now >= until:
            phase = .dhcp
            n.bringUp(mac: macAddress)
            onEvent?(.connected(ssid: ssid))
        case .dhcp where n.dhcpBound:
            phase = .connected
            onEvent?(.gotIP(localIP))
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
