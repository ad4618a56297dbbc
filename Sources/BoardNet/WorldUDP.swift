/// The world's UDP services (`"protocol": "udp"` in the world file), answered
/// here as the world's DNS is (`WorldDNS`): the device's datagrams and the
/// answers are real frames (in the pcap), and in virtual time an answer comes
/// the same way on every run.
///
/// - **ntp**: an NTP v4 server at stratum 1 (RFC 5905 §7.3) whose clock reads
///   `epoch` + the board time, so tests know what `time()` must say.
/// - **echo**: sends each datagram back (RFC 862).
/// - **syslog**: a sink; each datagram becomes a line (`Network.syslogLines`).
///
/// slirp answers ARP only for its own addresses and its guest forwards (TCP
/// services), so a UDP service's address is answered here too, with a MAC made
/// as slirp makes its own (52:55 + the IPv4 address).
enum WorldUDP {
    enum Answer { case reply([UInt8]), log(String), none }

    /// Seconds from 1900 (NTP's era 0) to 1970.
    static let ntpToUnix: UInt64 = 2_208_988_800

    static func answer(_ frame: UnsafeRawBufferPointer, world: World, boardMicros: UInt64) -> Answer? {
        guard frame.count >= 42 else { return nil }
        if frame[12] == 0x08, frame[13] == 0x06 { return arp(frame, world: world) }
        guard frame[12] == 0x08, frame[13] == 0x00, frame[14] >> 4 == 4, frame[23] == 17 else { return nil }
        let ihl = Int(frame[14] & 0x0f) * 4
        let udp = 14 + ihl
        guard frame.count >= udp + 8 else { return nil }
        let dst = be32(frame, 30)
        let port = UInt16(be16(frame, udp + 2))
        guard let svc = world.udpServices.first(where: { ipBits($0.address).map { UInt32(bigEndian: $0) } == dst && $0.port == port })
        else { return nil }
        let length = min(Int(be16(frame, udp + 4)), frame.count - udp)
        guard length >= 8 else { return Answer.none }
        let payload = Array(frame[(udp + 8)..<(udp + length)])
        switch svc.kind {
        case .echo:
            return .reply(udpReply(frame, ihl: ihl, payload: payload))
        case .syslog:
            var text = String(decoding: payload, as: UTF8.self)
            while text.last == "\n" || text.last == "\r" { text.removeLast() }
            return .log("\(svc.name ?? svc.address): \(text)")
        case .ntp:
            // a client request (mode 3) of 48 bytes or more; anything else is ignored
            guard payload.count >= 48, payload[0] & 0x07 == 3 else { return Answer.none }
            let version = (payload[0] >> 3) & 0x07
            let now = svc.epoch * 1_000_000 + boardMicros
            let sec = UInt32(truncatingIfNeeded: now / 1_000_000 + ntpToUnix)
            let frac = UInt32(truncatingIfNeeded: ((now % 1_000_000) << 32) / 1_000_000)
            var m = [UInt8](repeating: 0, count: 48)
            m[0] = (0 << 6) | (version << 3) | 4  // LI 0, the client's version, mode 4 (server)
            m[1] = 1  // stratum 1: a primary server
            m[2] = payload[2]  // poll, as asked
            m[3] = UInt8(bitPattern: -20)  // precision ~1 µs
            m.replaceSubrange(12..<16, with: Array("WRLD".utf8))  // reference id
            let stamp = u32(sec) + u32(frac)
            m.replaceSubrange(16..<24, with: stamp)  // reference
            m.replaceSubrange(24..<32, with: payload[40..<48])  // originate = the client's transmit
            m.replaceSubrange(32..<40, with: stamp)  // receive
            m.replaceSubrange(40..<48, with: stamp)  // transmit
            return .reply(udpReply(frame, ihl: ihl, payload: m))
        }
    }

    /// An ARP reply for a UDP service's address (unless a TCP service, which slirp answers, has it).
    private static func arp(_ f: UnsafeRawBufferPointer, world: World) -> Answer? {
        guard be16(f, 20) == 1 else { return nil }  // a request
        let target = be32(f, 38)
        let ours = world.udpServices.contains { ipBits($0.address).map { UInt32(bigEndian: $0) } == target }
        let slirps = world.services.contains { ipBits($0.address).map { UInt32(bigEndian: $0) } == target }
        guard ours, !slirps else { return nil }
        let mac: [UInt8] = [0x52, 0x55] + u32(target)
        var out: [UInt8] = Array(f[6..<12]) + mac + [0x08, 0x06]
        out += [0, 1, 0x08, 0, 6, 4, 0, 2]
        out += mac + u32(target)
        out += Array(f[22..<28]) + Array(f[28..<32])
        out += [UInt8](repeating: 0, count: 60 - out.count)  // padded to Ethernet's minimum, as slirp's
        return .reply(out)
    }

    /// `payload` back to the sender of `f`: addresses and ports swapped, no UDP checksum (allowed on IPv4).
    private static func udpReply(_ f: UnsafeRawBufferPointer, ihl: Int, payload: [UInt8]) -> [UInt8] {
        let ip = 14, udp = 14 + ihl
        let udpLen = 8 + payload.count
        var out: [UInt8] = Array(f[6..<12]) + Array(f[0..<6]) + [0x08, 0x00]
        var iph: [UInt8] = [0x45, 0, UInt8((20 + udpLen) >> 8), UInt8((20 + udpLen) & 0xff), 0, 0, 0x40, 0, 64, 17, 0, 0]
        iph += Array(f[(ip + 16)..<(ip + 20)]) + Array(f[(ip + 12)..<(ip + 16)])
        let sum = WorldDNS.checksum(iph)
        iph[10] = UInt8(sum >> 8); iph[11] = UInt8(sum & 0xff)
        out += iph
        out += Array(f[(udp + 2)..<(udp + 4)]) + Array(f[udp..<(udp + 2)])
        out += [UInt8(udpLen >> 8), UInt8(udpLen & 0xff), 0, 0]
        out += payload
        return out
    }

    private static func be16(_ f: UnsafeRawBufferPointer, _ i: Int) -> UInt32 { UInt32(f[i]) << 8 | UInt32(f[i + 1]) }
    private static func be32(_ f: UnsafeRawBufferPointer, _ i: Int) -> UInt32 { be16(f, i) << 16 | be16(f, i + 2) }
    private static func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
}
