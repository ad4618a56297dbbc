/// One TCP segment on the board's wire, decoded from an Ethernet II / IPv4 frame:
/// the one decoder behind the tests' wire recorder, a spec's `b:frames`/`b:tcp`,
/// the page's packet ladder and the fuzz targets' checks.
public struct TCPSegment: Sendable, Equatable, CustomStringConvertible {
    /// Sent by the board.
    public let outbound: Bool
    /// Board time (µs).
    public let time: UInt64
    public let source: String
    public let sourcePort: UInt16
    public let destination: String
    public let destinationPort: UInt16
    /// The header's flag bits (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10).
    public let flags: UInt8
    public let seq: UInt32
    public let ackNumber: UInt32
    public let window: UInt16
    /// Payload bytes.
    public let payload: Int
    /// The header's option bytes (after the 20 fixed ones).
    public let options: [UInt8]

    public static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, rst: UInt8 = 0x04, psh: UInt8 = 0x08, ackFlag: UInt8 = 0x10

    public var syn: Bool { flags & Self.syn != 0 }
    public var fin: Bool { flags & Self.fin != 0 }
    public var rst: Bool { flags & Self.rst != 0 }
    public var ack: Bool { flags & Self.ackFlag != 0 }
    /// A connection's first segment (SYN without ACK).
    public var opens: Bool { flags & 0x12 == 0x02 }
    /// The port on the peer's side of the connection.
    public var peerPort: UInt16 { outbound ? destinationPort : sourcePort }

    /// nil for anything but IPv4 TCP with a whole header (ARP, UDP, later
    /// fragments, truncated frames).
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
        self.outbound = outbound
        self.time = time
        source = "\(b[ip + 12]).\(b[ip + 13]).\(b[ip + 14]).\(b[ip + 15])"
        destination = "\(b[ip + 16]).\(b[ip + 17]).\(b[ip + 18]).\(b[ip + 19])"
        sourcePort = u16(tcp)
        destinationPort = u16(tcp + 2)
        seq = u32(tcp + 4)
        ackNumber = u32(tcp + 8)
        flags = b[tcp + 13]
        window = u16(tcp + 14)
        payload = max(0, total - ihl - dataOffset)
        options = dataOffset > 20 ? Array(b[(tcp + 20)..<min(tcp + dataOffset, b.count)]) : []
    }

    /// "SYN,ACK", "FIN,ACK", "RST", "ACK", in tcpdump's order.
    public var flagNames: String {
        let names: [(UInt8, String)] = [(0x02, "SYN"), (0x01, "FIN"), (0x04, "RST"), (0x08, "PSH"), (0x10, "ACK")]
        return names.filter { flags & $0.0 != 0 }.map(\.1).joined(separator: ",")
    }

    public var description: String {
        "\(Double(time) / 1e6) \(source):\(sourcePort) > \(destination):\(destinationPort) [\(flagNames)] len \(payload)"
    }
}
