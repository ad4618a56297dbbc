/// A lab's DHCP server (the gateway's, at 10.0.2.2): one lease per MAC for any
/// number of boards (slirp's own server has 16), with the options slirp gives —
/// server id and router 10.0.2.2, netmask 255.255.255.0, DNS 10.0.2.3, a lease
/// of 24 h — and the host name a board sends (option 12) recorded, so the
/// lab's DNS answers it too.
///
/// Addresses are stable across runs without a lease file: a board of the lab
/// file has its address reserved (its place in the file, or its `"ip"`), so the
/// same lab gives the same addresses on every run and every machine; a MAC the
/// lab does not know (a board of a joined lab without its own gateway, a board
/// on a TAP device) gets the first free address from a hash of its MAC into
/// 10.0.2.15–10.0.2.254, so the same MAC usually gets the same address too.
public final class LANDHCP {
    public static let firstHost: UInt8 = 15, lastHost: UInt8 = 254
    /// The gateway's MAC on the LAN (slirp's for 10.0.2.2: 52:55 and the address).
    static let serverMAC: [UInt8] = [0x52, 0x55, 10, 0, 2, 2]
    static let leaseSeconds: UInt32 = 24 * 3600

    /// MAC → last byte of the address (10.0.2.x).
    private var reserved: [[UInt8]: UInt8]
    public private(set) var leases: [[UInt8]: UInt8] = [:]
    /// Addresses a client declined (its ARP probe found them in use: a static
    /// address the server did not know of, as a joined lab's `"ip"`), never offered again.
    public private(set) var declined: Set<UInt8> = []
    /// Host names the boards sent (lower-cased) → address.
    public private(set) var hostnames: [String: String] = [:]
    /// Told of every lease bound (DHCPACK): the MAC, address and host name.
    public var onLease: (([UInt8], String, String?) -> Void)?

    /// `reservations`: each known board's MAC and address (10.0.2.x).
    public init(reservations: [(mac: [UInt8], address: String)]) {
        var r: [[UInt8]: UInt8] = [:]
        for (mac, address) in reservations {
            if let bits = ipBits(address) { r[mac] = withUnsafeBytes(of: bits) { $0[3] } }
        }
        reserved = r
    }

    public static func text(_ host: UInt8) -> String { "10.0.2.\(host)" }

    /// The last byte of a 10.0.2.x address (0 if it is not one).
    public static func host(of address: String) -> UInt8 {
        guard let bits = ipBits(address) else { return 0 }
        return withUnsafeBytes(of: bits) { $0[3] }
    }

    /// The address for `mac`: its lease, its reservation, or a free one from its hash.
    func address(for mac: [UInt8]) -> UInt8? {
        if let a = leases[mac] ?? reserved[mac], !declined.contains(a) { return a }
        let taken = Set(reserved.values).union(leases.values).union(declined)
        var h: UInt32 = 2_166_136_261  // FNV-1a
        for b in mac { h = (h ^ UInt32(b)) &* 16_777_619 }
        let span = UInt32(LANDHCP.lastHost - LANDHCP.firstHost) + 1
        for i in 0..<span {
            let a = UInt8(UInt32(LANDHCP.firstHost) + (h &+ i) % span)
            if !taken.contains(a) { return a }
        }
        return nil
    }

    public func handle(frame: [UInt8]) -> [[UInt8]]? { frame.withUnsafeBytes { handle($0) } }

    /// nil if `frame` is not a DHCP request to a server; else the reply frames
    /// (none for a message the server does not answer, as DHCPRELEASE).
    public func handle(_ frame: UnsafeRawBufferPointer) -> [[UInt8]]? {
        // Ethernet / IPv4 / UDP to port 67
        guard frame.count >= 14 + 20 + 8 + 240, frame[12] == 0x08, frame[13] == 0x00, frame[14] >> 4 == 4, frame[23] == 17 else { return nil }
        let f = Array(frame)
        let udp = 14 + Int(f[14] & 0x0f) * 4
        guard f.count >= udp + 8 + 240, be16(f, udp + 2) == 67 else { return nil }
        let bootp = udp + 8
        guard f[bootp] == 1, f[bootp + 1] == 1, f[bootp + 2] == 6, Array(f[(bootp + 236)..<(bootp + 240)]) == [99, 130, 83, 99] else { return [] }
        let mac = Array(f[(bootp + 28)..<(bootp + 34)])
        var type: UInt8 = 0
        var requested: UInt32?
        var hostname: String?
        var p = bootp + 240
        while p < f.count, f[p] != 255 {
            if f[p] == 0 { p += 1; continue }
            guard p + 1 < f.count, p + 2 + Int(f[p + 1]) <= f.count else { break }
            let n = Int(f[p + 1]), v = Array(f[(p + 2)..<(p + 2 + n)])
            switch f[p] {
            case 53 where n == 1: type = v[0]
            case 50 where n == 4: requested = be32(v, 0)
            case 12 where n > 0: hostname = String(decoding: v, as: UTF8.self)
            default: break
            }
            p += 2 + n
        }
        let ciaddr = be32(f, bootp + 12)
        switch type {
        case 1:  // DISCOVER
            guard let a = address(for: mac) else { return [] }
            return [reply(to: f, bootp: bootp, type: 2, address: a)]
        case 3:  // REQUEST: SELECTING/REBOOTING name the address in option 50, RENEWING in ciaddr
            guard let a = address(for: mac) else { return [] }
            let asked = requested ?? ciaddr
            if let server = optionServer(f, bootp), server != 0x0A00_0202 { return [] }  // another server's offer was taken
            guard asked == 0 || asked == 0x0A00_0200 | UInt32(a) else { return [reply(to: f, bootp: bootp, type: 6, address: nil)] }  // NAK
            leases[mac] = a
            if let name = hostname?.lowercased(), !name.isEmpty {
                for (k, v) in hostnames where v == LANDHCP.text(a) { hostnames[k] = nil }
                hostnames[name] = LANDHCP.text(a)
            }
            onLease?(mac, LANDHCP.text(a), hostname)
            return [reply(to: f, bootp: bootp, type: 5, address: a)]
        case 4:  // DECLINE: the address is in use
            if let asked = requested, asked >> 8 == 0x000A_0002 {
                declined.insert(UInt8(asked & 0xff))
                if leases[mac] == UInt8(asked & 0xff) { leases[mac] = nil }
            }
            return []
        case 7:  // RELEASE
            leases[mac] = nil
            return []
        default:
            return []
        }
    }

    private func optionServer(_ f: [UInt8], _ bootp: Int) -> UInt32? {
        var p = bootp + 240
        while p + 1 < f.count, f[p] != 255 {
            if f[p] == 0 { p += 1; continue }
            let n = Int(f[p + 1])
            if f[p] == 54, n == 4, p + 6 <= f.count { return be32(f, p + 2) }
            p += 2 + n
        }
        return nil
    }

    /// An OFFER (2), ACK (5) or NAK (6) as slirp's bootp.c builds it: from
    /// 10.0.2.2:67 to 255.255.255.255:68, Ethernet broadcast.
    private func reply(to f: [UInt8], bootp: Int, type: UInt8, address: UInt8?) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 236)
        b[0] = 2
        b[1] = 1
        b[2] = 6
        b[4..<8] = f[(bootp + 4)..<(bootp + 8)]  // xid
        b[10..<12] = f[(bootp + 10)..<(bootp + 12)]  // flags
        if let a = address {
            b[16..<20] = [10, 0, 2, a][...]  // yiaddr
            b[20..<24] = [10, 0, 2, 2][...]  // siaddr
        }
        b[28..<44] = f[(bootp + 28)..<(bootp + 44)]  // chaddr
        b += [99, 130, 83, 99, 53, 1, type]
        if address != nil {
            b += [54, 4, 10, 0, 2, 2, 1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 2, 2, 6, 4, 10, 0, 2, 3]
            b += [51, 4] + u32(LANDHCP.leaseSeconds)
        } else {
            let why = Array("requested address not available".utf8)
            b += [54, 4, 10, 0, 2, 2, 56, UInt8(why.count)] + why
        }
        b.append(255)
        if b.count < 548 { b += [UInt8](repeating: 0, count: 548 - b.count) }  // slirp's fixed BOOTP size
        let udpLen = 8 + b.count
        var out: [UInt8] = [255, 255, 255, 255, 255, 255] + LANDHCP.serverMAC + [0x08, 0x00]
        var ip: [UInt8] = [0x45, 0x10, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 2, 2, 255, 255, 255, 255]
        ip[2] = UInt8((20 + udpLen) >> 8)
        ip[3] = UInt8((20 + udpLen) & 0xff)
        let sum = WorldDNS.checksum(ip)
        ip[10] = UInt8(sum >> 8)
        ip[11] = UInt8(sum & 0xff)
        out += ip
        out += u16(67) + u16(68) + u16(UInt16(udpLen)) + [0, 0]  // no UDP checksum (allowed on IPv4)
        out += b
        return out
    }

    private func be16(_ f: [UInt8], _ i: Int) -> UInt16 { UInt16(f[i]) << 8 | UInt16(f[i + 1]) }
    private func be32(_ f: [UInt8], _ i: Int) -> UInt32 { UInt32(be16(f, i)) << 16 | UInt32(be16(f, i + 2)) }
    private func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    private func u32(_ v: UInt32) -> [UInt8] { u16(UInt16(v >> 16)) + u16(UInt16(v & 0xffff)) }

    /// Parses "5C:CF:7F:12:34:56" (or with '-'): six hex bytes.
    public static func mac(parsing text: String) -> [UInt8]? {
        let parts = text.split(separator: text.contains("-") ? "-" : ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        let bytes = parts.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
        return bytes.count == 6 ? bytes : nil
    }

    public static func macText(_ m: [UInt8]) -> String {
        m.map { String($0, radix: 16, uppercase: true).count == 1 ? "0" + String($0, radix: 16, uppercase: true) : String($0, radix: 16, uppercase: true) }
            .joined(separator: ":")
    }
}
