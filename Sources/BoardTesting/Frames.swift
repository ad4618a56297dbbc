import ArduinoLua
import BoardCore
import BoardNet

/// Records every TCP segment of a device (install before `run()`): a subscriber
/// of the board's `.frame` events, beside any other (a pcap writer).
public final class WireRecorder {
    public private(set) var segments: [TCPSegment] = []
    private var subscription: BoardEvents.Subscription?
    public init(_ device: Device) {
        subscription = device.board.events.subscribe(.frame) { [unowned self] t, event in
            guard case .frame(let outbound, let frame) = event else { return }
            if let s = TCPSegment(frame: frame, outbound: outbound, time: t) { segments.append(s) }
        }
    }
}

/// Builds Ethernet II frames for an in-process peer on the board's link.
public enum EthernetFrames {
    /// The board's station MAC (Espressif's OUI and the default chip id).
    public static let boardMAC: [UInt8] = [0x5C, 0xCF, 0x7F, 0x97, 0xF7, 0x40]
    /// slirp's gateway MAC (52:55:0a:00:02:02).
    public static let gatewayMAC: [UInt8] = [0x52, 0x55, 0x0A, 0x00, 0x02, 0x02]

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32) -> [UInt8] { be16(UInt16(v >> 16)) + be16(UInt16(v & 0xFFFF)) }
    /// "10.0.2.2" → its four bytes.
    public static func ip4(_ dotted: String) -> [UInt8] { dotted.split(separator: ".").map { UInt8($0) ?? 0 } }

    /// The Internet checksum (RFC 1071).
    public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// An IPv4 TCP segment (checksums filled in; options padded with NOPs).
    public static func tcp(
        from source: (ip: String, port: UInt16), to destination: (ip: String, port: UInt16),
        seq: UInt32, ack: UInt32, flags: UInt8, window: UInt16, options: [UInt8] = [], payload: [UInt8] = [],
        sourceMAC: [UInt8] = gatewayMAC, destinationMAC: [UInt8] = boardMAC
    ) -> [UInt8] {
        let opts = options + [UInt8](repeating: 1, count: (4 - options.count % 4) % 4)
        var tcp = be16(source.port) + be16(destination.port) + be32(seq) + be32(ack)
        tcp += [UInt8((20 + opts.count) / 4) << 4, flags] + be16(window) + [0, 0, 0, 0] + opts + payload
        let pseudo = ip4(source.ip) + ip4(destination.ip) + [0, 6] + be16(UInt16(tcp.count))
        let tsum = checksum(pseudo + tcp)
        tcp[16] = UInt8(tsum >> 8)
        tcp[17] = UInt8(tsum & 0xFF)
        var ip: [UInt8] = [0x45, 0] + be16(UInt16(20 + tcp.count)) + [0, 1, 0x40, 0, 64, 6, 0, 0]
        ip += ip4(source.ip) + ip4(destination.ip)
        let isum = checksum(ip)
        ip[10] = UInt8(isum >> 8)
        ip[11] = UInt8(isum & 0xFF)
        return destinationMAC + sourceMAC + [0x08, 0x00] + ip + tcp
    }

    /// The ARP reply telling `to` that `ip` is at `mac`, if `frame` is an ARP request for `ip`.
    public static func arpReply(to frame: UnsafeRawBufferPointer, ip: String, mac: [UInt8]) -> [UInt8]? {
        guard frame.count >= 42, frame[12] == 0x08, frame[13] == 0x06, frame[20] == 0, frame[21] == 1,
            Array(frame[38..<42]) == ip4(ip)
        else { return nil }
        let askerMAC = Array(frame[22..<28]), askerIP = Array(frame[28..<32])
        return askerMAC + mac + [0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2] + mac + ip4(ip) + askerMAC + askerIP
    }
}
