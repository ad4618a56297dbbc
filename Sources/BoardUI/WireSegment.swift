/// One TCP segment seen on the board's wire, for the page's packet ladder: the
/// fields Wireshark's flow graph labels an arrow with.
public struct WireSegment: Sendable, Equatable {
    /// Board time (µs).
    public let time: UInt64
    /// Sent by the board.
    public let outbound: Bool
    /// IPv4 addresses, the first octet in the high byte (formatted only for the page).
    public let sourceIP: UInt32
    public let sourcePort: UInt16
    public let destinationIP: UInt32
    public let destinationPort: UInt16
    public let seq: UInt32
    public let ack: UInt32
    /// The header's flag bits (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10).
    public let flags: UInt8
    public let window: UInt16
    /// Payload bytes.
    public let length: Int

    /// The segment in an Ethernet II frame carrying IPv4 and TCP; nil for anything else
    /// (ARP, UDP, fragments, truncated frames).
    public init?(frame b: UnsafeRawBufferPointer, outbound: Bool, time: UInt64) {
        guard b.count >= 14 + 20, b[12] == 0x08, b[13] == 0x00 else { return nil }
        let ip = 14
        let ihl = Int(b[ip] & 0x0F) * 4
        guard b[ip] >> 4 == 4, ihl >= 20, b[ip + 9] == 6 else { return nil }
        let total = Int(b[ip + 2]) << 8 | Int(b[ip + 3])
        // a fragment other than the first has no TCP header
        guard Int(b[ip + 6] & 0x1F) << 8 | Int(b[ip + 7]) == 0 else { return nil }
        let tcp = ip + ihl
        guard b.count >= tcp + 20, total >= ihl + 20 else { return nil }
        let dataOffset = Int(b[tcp + 12] >> 4) * 4
        func u16(_ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) << 16 | UInt32(u16(i + 2)) }
        self.time = time
        self.outbound = outbound
        sourceIP = u32(ip + 12)
        destinationIP = u32(ip + 16)
        sourcePort = u16(tcp)
        destinationPort = u16(tcp + 2)
        seq = u32(tcp + 4)
        ack = u32(tcp + 8)
        flags = b[tcp + 13]
        window = u16(tcp + 14)
        length = max(0, total - ihl - dataOffset)
    }

    public var source: String { Self.dotted(sourceIP) }
    public var destination: String { Self.dotted(destinationIP) }

    static func dotted(_ a: UInt32) -> String { "\(a >> 24).\(a >> 16 & 0xFF).\(a >> 8 & 0xFF).\(a & 0xFF)" }

    /// A connection's first segment (SYN without ACK).
    public var opens: Bool { flags & 0x12 == 0x02 }
    public var resets: Bool { flags & 0x04 != 0 }

    /// "SYN,ACK", "FIN,ACK", "RST", "ACK", in tcpdump's order.
    public var flagNames: String {
        let names: [(UInt8, String)] = [(0x02, "SYN"), (0x01, "FIN"), (0x04, "RST"), (0x08, "PSH"), (0x10, "ACK")]
        return names.filter { flags & $0.0 != 0 }.map(\.1).joined(separator: ",")
    }
}
