/// The soft-AP's DHCP server, as the core's `DhcpServer` (LwipDhcpServer.cpp, the
/// SDK's dhcps ported) answers the stations of a lab's cell: a lease per station
/// MAC from the pool `init_dhcps_lease` makes (without `softAPConfig`: the
/// address after the soft-AP's, 192.168.4.2 for 192.168.4.1, up to 100 of them,
/// l.815-861; with it, from the soft-AP's address + 99, ESP8266WiFiAP.cpp:235-247),
/// and the options of `add_offer_options` (l.346-379): mask, server id, lease
/// time (720 min, LwipDhcpServer.h:45), router and DNS (the soft-AP), broadcast
/// address, MTU 1500, no router discovery. Works on frames: a DHCPDISCOVER gets a
/// DHCPOFFER, a DHCPREQUEST a DHCPACK, sent to the subnet's broadcast address
/// (192.168.4.255: `broadcast_dhcps`, l.884-889; the client has no address yet).
/// Single-threaded.
public final class SoftAPDHCPServer {
    /// Leases by station MAC, in the order given.
    public private(set) var leases: [[UInt8]: UInt32] = [:]
    public static let maxLeases = 100
    public static let leaseMinutes: UInt32 = 720

    public init() {}

    /// Forgets every lease (the soft-AP stopped, the board rebooted).
    public func reset() { leases.removeAll() }

    /// The reply to `frame` if it is a DHCP request to port 67, else nil.
    /// `address` and `mask` are the soft-AP interface's (network byte order);
    /// `leaseStart` the last byte of the pool's first address.
    public func answer(_ frame: [UInt8], mac: [UInt8], address: UInt32, mask: UInt32, leaseStart: Int) -> [UInt8]? {
        // Ethernet, IPv4, UDP to 67
        guard frame.count >= 14 + 20 + 8 + 240, frame[12] == 0x08, frame[13] == 0x00, frame[14] >> 4 == 4, frame[23] == 17 else { return nil }
        let ihl = Int(frame[14] & 0x0f) * 4
        let udp = 14 + ihl, bootp = udp + 8
        guard frame.count >= bootp + 240, frame[udp + 2] == 0, frame[udp + 3] == 67, frame[bootp] == 1 else { return nil }
        guard Array(frame[bootp + 236..<bootp + 240]) == [99, 130, 83, 99] else { return nil }
        var type: UInt8 = 0
        var i = bootp + 240
        while i < frame.count, frame[i] != 255 {
            if frame[i] == 0 {
                i += 1
                continue
            }
            guard i + 1 < frame.count else { break }
            let len = Int(frame[i + 1])
            if frame[i] == 53, len >= 1, i + 2 < frame.count { type = frame[i + 2] }
            i += 2 + len
        }
        let reply: UInt8
        switch type {
        case 1: reply = 2  // DISCOVER -> OFFER
        case 3: reply = 5  // REQUEST -> ACK
        default: return nil
        }
        let client = Array(frame[bootp + 28..<bootp + 34])
        guard let lease = lease(for: client, address: address, leaseStart: leaseStart) else { return nil }

        var m = [UInt8](repeating: 0, count: 240)
        m[0] = 2  // BOOTREPLY
        m[1] = 1
        m[2] = 6
        for k in 4..<8 { m[k] = frame[bootp + k] }  // xid
        m[10] = frame[bootp + 10]  // flags
        m[11] = frame[bootp + 11]
        put(&m, 16, lease)  // yiaddr
        put(&m, 20, address)  // siaddr
        for k in 0..<6 { m[28 + k] = client[k] }
        m[236] = 99
        m[237] = 130
        m[238] = 83
        m[239] = 99
        let broadcast = (address & mask) | ~mask
        var options: [UInt8] = [53, 1, reply]
        func add(_ code: UInt8, _ v: UInt32) {
            options += [code, 4]
            withUnsafeBytes(of: v) { options += $0 }
        }
        add(1, mask)
        add(54, address)
        add(51, (SoftAPDHCPServer.leaseMinutes * 60).bigEndian)
        add(3, address)
        add(6, address)
        add(28, broadcast)
        options += [26, 2, 0x05, 0xdc, 31, 1, 0, 255]
        let payload = m + options
        return SoftAPDHCPServer.udpFrame(
            from: mac, to: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], source: address, destination: broadcast, sourcePort: 67,
            destinationPort: 68, payload: payload)
    }

    private func lease(for client: [UInt8], address: UInt32, leaseStart: Int) -> UInt32? {
        if let l = leases[client] { return l }
        guard leases.count < SoftAPDHCPServer.maxLeases else { return nil }
        let host = UInt32(bigEndian: address)
        let base = host & 0xffff_ff00
        var next = UInt32(leaseStart)
        let taken = Set(leases.values.map { UInt32(bigEndian: $0) & 0xff })
        while taken.contains(next) || next == host & 0xff { next += 1 }
        guard next < 255 else { return nil }
        let l = (base | next).bigEndian
        leases[client] = l
        return l
    }

    private func put(_ m: inout [UInt8], _ at: Int, _ v: UInt32) {
        withUnsafeBytes(of: v) { for k in 0..<4 { m[at + k] = $0[k] } }
    }

    /// An Ethernet/IPv4/UDP frame (addresses in network byte order), IP checksum
    /// set, UDP checksum 0 (none, allowed over IPv4).
    static func udpFrame(
        from: [UInt8], to: [UInt8], source: UInt32, destination: UInt32, sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8]
    ) -> [UInt8] {
        var f = to + from + [0x08, 0x00]
        let total = 20 + 8 + payload.count
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 0, 0, 0, 64, 17, 0, 0]
        withUnsafeBytes(of: source) { ip += $0 }
        withUnsafeBytes(of: destination) { ip += $0 }
        var sum: UInt32 = 0
        for k in stride(from: 0, to: 20, by: 2) { sum += UInt32(ip[k]) << 8 | UInt32(ip[k + 1]) }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        let c = ~UInt16(sum)
        ip[10] = UInt8(c >> 8)
        ip[11] = UInt8(c & 0xff)
        f += ip
        let ulen = 8 + payload.count
        f += [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xff), UInt8(destinationPort >> 8), UInt8(destinationPort & 0xff)]
        f += [UInt8(ulen >> 8), UInt8(ulen & 0xff), 0, 0]
        return f + payload
    }
}
