/// The network's DNS server (10.0.2.3) answering the world's own names.
///
/// Queries leave the device as real DNS packets (they are in the pcap); the
/// ones for a name of the world file (`hosts`, service names) are answered here
/// with an A record, names under `.invalid` (RFC 6761: never resolvable) with
/// NXDOMAIN, and every other query goes on to slirp, which asks the host's resolver.
enum WorldDNS {
    static let server: UInt32 = 0x0A00_0203  // 10.0.2.3, host byte order

    /// The response frame for `frame` if it is a DNS A query this world answers.
    static func answer(_ frame: UnsafeRawBufferPointer, hosts: [String: String]) -> [UInt8]? {
        // cheap test first: IPv4, UDP, to 10.0.2.3 (with a 20-byte IP header)
        guard frame.count > 42, frame[12] == 0x08, frame[13] == 0x00, frame[23] == 17,
            frame[30] == 10, frame[31] == 0, frame[32] == 2, frame[33] == 3
        else { return nil }
        let f = Array(frame)
        // Ethernet II / IPv4 / UDP to 10.0.2.3:53
        guard f.count >= 14 + 20 + 8 + 12, f[12] == 0x08, f[13] == 0x00 else { return nil }
        let ip = 14
        guard f[ip] >> 4 == 4 else { return nil }
        let ihl = Int(f[ip] & 0x0f) * 4
        guard ihl >= 20, f[ip + 9] == 17, be32(f, ip + 16) == server else { return nil }
        let udp = ip + ihl
        guard f.count >= udp + 8 + 12, be16(f, udp + 2) == 53 else { return nil }
        let dns = udp + 8
        let flags = be16(f, dns + 2)
        guard flags & 0x8000 == 0, flags & 0x7800 == 0, be16(f, dns + 4) == 1 else { return nil }  // one standard query
        // the question: labels, type, class
        var p = dns + 12
        var labels: [String] = []
        while p < f.count, f[p] != 0 {
            let n = Int(f[p])
            guard n < 64, p + 1 + n < f.count else { return nil }
            labels.append(String(decoding: f[(p + 1)...(p + n)], as: UTF8.self))
            p += 1 + n
        }
        guard p + 5 <= f.count else { return nil }
        let questionEnd = p + 5
        let qtype = be16(f, p + 1), qclass = be16(f, p + 3)
        guard qclass == 1 else { return nil }
        let name = labels.joined(separator: ".").lowercased()
        var address: UInt32?
        if let a = hosts[name], let bits = ipBits(a) {
            address = UInt32(bigEndian: bits)
        } else if name == "invalid" || name.hasSuffix(".invalid") {
            address = nil
        } else {
            return nil
        }
        // DNS message: header, the question, and the answer (A records only)
        var msg: [UInt8] = []
        msg += f[dns..<(dns + 2)]  // id
        let rd = UInt16(flags & 0x0100)
        let rcode: UInt16 = address == nil ? 3 : 0  // NXDOMAIN for .invalid
        let answers: UInt16 = (address != nil && qtype == 1) ? 1 : 0
        msg += u16(0x8000 | 0x0400 | rd | 0x0080 | rcode)  // QR, AA, RD copied, RA
        msg += u16(1) + u16(answers) + u16(0) + u16(0)
        msg += f[(dns + 12)..<questionEnd]
        if answers == 1, let a = address {
            msg += u16(0xC00C) + u16(1) + u16(1) + u32(60) + u16(4) + u32(a)
        }
        // UDP and IPv4 back to the device
        let udpLen = 8 + msg.count
        var out: [UInt8] = []
        out += f[6..<12] + f[0..<6] + [0x08, 0x00]  // swap MACs
        var iph: [UInt8] = [0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0]
        iph[2] = UInt8((20 + udpLen) >> 8); iph[3] = UInt8((20 + udpLen) & 0xff)
        iph += f[(ip + 16)..<(ip + 20)] + f[(ip + 12)..<(ip + 16)]  // swap addresses
        let sum = checksum(iph)
        iph[10] = UInt8(sum >> 8); iph[11] = UInt8(sum & 0xff)
        out += iph
        out += f[(udp + 2)..<(udp + 4)] + f[udp..<(udp + 2)]  // swap ports
        out += u16(UInt16(udpLen)) + [0, 0]  // no UDP checksum (allowed on IPv4)
        out += msg
        return out
    }

    private static func be16(_ f: [UInt8], _ i: Int) -> UInt16 { UInt16(f[i]) << 8 | UInt16(f[i + 1]) }
    private static func be32(_ f: [UInt8], _ i: Int) -> UInt32 { UInt32(be16(f, i)) << 16 | UInt32(be16(f, i + 2)) }
    private static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    private static func u32(_ v: UInt32) -> [UInt8] { u16(UInt16(v >> 16)) + u16(UInt16(v & 0xffff)) }

    /// The Internet checksum of a header.
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
