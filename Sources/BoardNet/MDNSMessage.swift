/// A DNS message as mDNS uses it (RFC 1035 §4, RFC 6762 §18): the header, questions
/// (with the unicast-response bit of the class, RFC 6762 §5.4) and resource records
/// (with the cache-flush bit, RFC 6762 §10.2). Reading follows compression pointers;
/// writing writes full names (valid DNS; LEAmDNS compresses one level, which no
/// reader can tell apart).
public struct MDNSMessage: Equatable, Sendable {
    public static let port: UInt16 = 5353
    /// 224.0.0.251 (RFC 6762 §3), network byte order.
    public static let group: UInt32 = UInt32(224) | UInt32(0) << 8 | UInt32(0) << 16 | UInt32(251) << 24
    public static let typeA: UInt16 = 1, typePTR: UInt16 = 12, typeTXT: UInt16 = 16, typeAAAA: UInt16 = 28
    public static let typeSRV: UInt16 = 33, typeANY: UInt16 = 255
    public static let classIN: UInt16 = 1
    /// The top bit of a question's class (QU) or a record's class (cache flush).
    public static let topBit: UInt16 = 0x8000

    public struct Question: Equatable, Sendable {
        public var name: String
        public var type: UInt16
        /// The class with its top bit (QU: a unicast response is asked for).
        public var qclass: UInt16
        public init(name: String, type: UInt16, unicast: Bool = false) {
            self.name = name
            self.type = type
            self.qclass = MDNSMessage.classIN | (unicast ? MDNSMessage.topBit : 0)
        }
        public var unicast: Bool { qclass & MDNSMessage.topBit != 0 }
    }

    public enum RData: Equatable, Sendable {
        case a(UInt32)  // network byte order
        case ptr(String)
        case srv(priority: UInt16, weight: UInt16, port: UInt16, target: String)
        case txt([String])
        case other([UInt8])
    }

    public struct Record: Equatable, Sendable {
        public var name: String
        public var type: UInt16
        /// The class with its top bit (cache flush).
        public var rclass: UInt16
        public var ttl: UInt32
        public var data: RData
        public init(name: String, type: UInt16, cacheFlush: Bool, ttl: UInt32, data: RData) {
            self.name = name
            self.type = type
            self.rclass = MDNSMessage.classIN | (cacheFlush ? MDNSMessage.topBit : 0)
            self.ttl = ttl
            self.data = data
        }
        public var cacheFlush: Bool { rclass & MDNSMessage.topBit != 0 }
    }

    public var id: UInt16 = 0
    /// QR, opcode, AA, TC, RD, RA, rcode.
    public var flags: UInt16 = 0
    public var questions: [Question] = []
    public var answers: [Record] = []
    public var authority: [Record] = []
    public var additional: [Record] = []

    public init(id: UInt16 = 0, response: Bool = false, authoritative: Bool = false) {
        self.id = id
        flags = (response ? 0x8000 : 0) | (authoritative ? 0x0400 : 0)
    }

    public var isResponse: Bool { flags & 0x8000 != 0 }
    public var isAuthoritative: Bool { flags & 0x0400 != 0 }
    public var opcode: Int { Int(flags >> 11 & 0xf) }

    // MARK: writing

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func u16(_ v: UInt16) { out += [UInt8(v >> 8), UInt8(v & 0xff)] }
        func u32(_ v: UInt32) { u16(UInt16(v >> 16)); u16(UInt16(v & 0xffff)) }
        func name(_ n: String) -> [UInt8] {
            var b: [UInt8] = []
            for label in n.split(separator: ".") where !label.isEmpty {
                let l = Array(label.utf8.prefix(63))
                b.append(UInt8(l.count))
                b += l
            }
            return b + [0]
        }
        u16(id)
        u16(flags)
        u16(UInt16(questions.count))
        u16(UInt16(answers.count))
        u16(UInt16(authority.count))
        u16(UInt16(additional.count))
        for q in questions {
            out += name(q.name)
            u16(q.type)
            u16(q.qclass)
        }
        for r in answers + authority + additional {
            out += name(r.name)
            u16(r.type)
            u16(r.rclass)
            u32(r.ttl)
            var rd: [UInt8] = []
            switch r.data {
            case .a(let bits): rd = withUnsafeBytes(of: bits) { Array($0) }
            case .ptr(let target): rd = name(target)
            case .srv(let pri, let w, let port, let target):
                rd = [UInt8(pri >> 8), UInt8(pri & 0xff), UInt8(w >> 8), UInt8(w & 0xff), UInt8(port >> 8), UInt8(port & 0xff)]
                rd += name(target)
            case .txt(let items):
                for t in items {
                    let b = Array(t.utf8.prefix(255))
                    rd.append(UInt8(b.count))
                    rd += b
                }
            case .other(let bytes): rd = bytes
            }
            u16(UInt16(rd.count))
            out += rd
        }
        return out
    }

    // MARK: reading

    /// Parses `bytes`; nil if the message is malformed or truncated.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= 12 else { return nil }
        func u16(_ i: Int) -> UInt16 { UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]) }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) << 16 | UInt32(u16(i + 2)) }
        /// A name at `start`: (dotted name, offset after it in the message); at most 6
        /// compression jumps (LEAmDNS's MDNS_DOMAIN_MAX_REDIRCTION).
        func readName(_ start: Int) -> (String, Int)? {
            var labels: [String] = []
            var p = start
            var end: Int?
            var jumps = 0
            while true {
                guard p < bytes.count else { return nil }
                let len = Int(bytes[p])
                if len == 0 {
                    return (labels.joined(separator: "."), end ?? p + 1)
                } else if len & 0xC0 == 0xC0 {
                    guard p + 1 < bytes.count, jumps < 6 else { return nil }
                    if end == nil { end = p + 2 }
                    p = (len & 0x3f) << 8 | Int(bytes[p + 1])
                    jumps += 1
                } else {
                    guard len < 64, p + len < bytes.count else { return nil }
                    labels.append(String(decoding: bytes[(p + 1)...(p + len)], as: UTF8.self))
                    p += 1 + len
                }
            }
        }
        id = u16(0)
        flags = u16(2)
        let counts = (Int(u16(4)), Int(u16(6)), Int(u16(8)), Int(u16(10)))
        var p = 12
        for _ in 0..<counts.0 {
            guard let (n, next) = readName(p), next + 4 <= bytes.count else { return nil }
            var q = Question(name: n, type: u16(next))
            q.qclass = u16(next + 2)
            questions.append(q)
            p = next + 4
        }
        func record() -> Record? {
            guard let (n, next) = readName(p), next + 10 <= bytes.count else { return nil }
            let type = u16(next), rclass = u16(next + 2), ttl = u32(next + 4), len = Int(u16(next + 8))
            let rd = next + 10
            guard rd + len <= bytes.count else { return nil }
            var data: RData = .other(Array(bytes[rd..<(rd + len)]))
            switch type {
            case MDNSMessage.typeA where len == 4:
                data = .a(UInt32(bytes[rd]) | UInt32(bytes[rd + 1]) << 8 | UInt32(bytes[rd + 2]) << 16 | UInt32(bytes[rd + 3]) << 24)
            case MDNSMessage.typePTR:
                guard let (t, _) = readName(rd) else { return nil }
                data = .ptr(t)
            case MDNSMessage.typeSRV where len >= 7:
                guard let (t, _) = readName(rd + 6) else { return nil }
                data = .srv(priority: u16(rd), weight: u16(rd + 2), port: u16(rd + 4), target: t)
            case MDNSMessage.typeTXT:
                var items: [String] = []
                var i = rd
                while i < rd + len {
                    let l = Int(bytes[i])
                    guard i + 1 + l <= rd + len else { return nil }
                    items.append(String(decoding: bytes[(i + 1)..<(i + 1 + l)], as: UTF8.self))
                    i += 1 + l
                }
                data = .txt(items)
            default: break
            }
            p = rd + len
            var r = Record(name: n, type: type, cacheFlush: false, ttl: ttl, data: data)
            r.rclass = rclass
            return r
        }
        for _ in 0..<counts.1 { guard let r = record() else { return nil }; answers.append(r) }
        for _ in 0..<counts.2 { guard let r = record() else { return nil }; authority.append(r) }
        for _ in 0..<counts.3 { guard let r = record() else { return nil }; additional.append(r) }
    }

    /// Case-insensitive DNS name equality (RFC 1035 §2.3.3).
    public static func sameName(_ a: String, _ b: String) -> Bool { a.lowercased() == b.lowercased() }
}

/// Ethernet/IPv4/UDP framing of mDNS datagrams (the world's responder and tests).
public enum MDNSFrame {
    /// 01:00:5e:00:00:fb, the Ethernet group of 224.0.0.251 (RFC 1112 §6.4).
    public static let groupMAC: [UInt8] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]

    /// A UDP datagram in an Ethernet frame, IP TTL 255 (RFC 6762 §11), with its UDP checksum.
    public static func udp(
        from source: (mac: [UInt8], ip: UInt32, port: UInt16), to destination: (mac: [UInt8], ip: UInt32, port: UInt16),
        payload: [UInt8]
    ) -> [UInt8] {
        func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
        let sip = withUnsafeBytes(of: source.ip) { Array($0) }, dip = withUnsafeBytes(of: destination.ip) { Array($0) }
        var udp = be16(source.port) + be16(destination.port) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
        var pseudo = sip + dip + [0, 17] + be16(UInt16(udp.count)) + udp
        if pseudo.count % 2 == 1 { pseudo.append(0) }
        var sum = checksum(pseudo)
        if sum == 0 { sum = 0xffff }
        udp[6] = UInt8(sum >> 8)
        udp[7] = UInt8(sum & 0xff)
        var ip: [UInt8] = [0x45, 0] + be16(UInt16(20 + udp.count)) + [0, 0, 0x40, 0, 255, 17, 0, 0] + sip + dip
        let isum = checksum(ip)
        ip[10] = UInt8(isum >> 8)
        ip[11] = UInt8(isum & 0xff)
        return destination.mac + source.mac + [0x08, 0x00] + ip + udp
    }

    /// The UDP datagram of an IPv4 Ethernet frame: addresses (network byte order), ports, payload.
    public static func parseUDP(
        _ frame: UnsafeRawBufferPointer
    ) -> (
        srcIP: UInt32, srcPort: UInt16, dstIP: UInt32, dstPort: UInt16, payload: [UInt8]
    )? {
        guard frame.count >= 42, frame[12] == 0x08, frame[13] == 0x00, frame[14] >> 4 == 4, frame[23] == 17 else { return nil }
        let ihl = Int(frame[14] & 0x0f) * 4
        let u = 14 + ihl
        guard frame.count >= u + 8 else { return nil }
        func ip(_ i: Int) -> UInt32 {
            UInt32(frame[i]) | UInt32(frame[i + 1]) << 8 | UInt32(frame[i + 2]) << 16 | UInt32(frame[i + 3]) << 24
        }
        let len = Int(UInt16(frame[u + 4]) << 8 | UInt16(frame[u + 5]))
        guard len >= 8, u + len <= frame.count else { return nil }
        return (
            ip(26), UInt16(frame[u]) << 8 | UInt16(frame[u + 1]), ip(30), UInt16(frame[u + 2]) << 8 | UInt16(frame[u + 3]),
            Array(frame[(u + 8)..<(u + len)])
        )
    }
}
