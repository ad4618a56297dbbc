/// The PC-like filter between slirp and the board (DESIGN.md 4): slirp's TCP is
/// 4.4BSD's, not what a PC sends, and its NAT sends a board's broadcasts to the
/// host's gateway. Stateless, frame by frame:
///
/// - **towards the board**, a TCP segment carrying FIN is delivered as its ACK
///   (and data) first and the FIN in a later pass (a `barrier` between them ends
///   the pass, so the sketch runs between): slirp's delayed ACK rides inside the
///   host's FIN, where Linux sends two segments microseconds apart; a `stop()`
///   that waits for that ACK must see it before the FIN (else the core aborts).
///   Segments longer than the board's MSS (from its SYN's option; 536 by
///   default) are re-cut into segments within it, as a PC honours the option.
/// - **from the board**, a UDP datagram to the limited (255.255.255.255) or
///   subnet (10.0.2.255) broadcast address, or to a multicast group, never
///   reaches slirp's NAT as it is: it is re-addressed to the host (10.0.2.2, which
///   slirp maps to the host's loopback), so a host program on 127.0.0.1 bound to
///   that port receives it and can answer; nothing leaves the machine. DHCP
///   (to port 67) passes unchanged; other broadcast IP (ICMP) is dropped.
public final class PCFilter {
    /// The board's MSS, learnt from the option of its SYN / SYN-ACK.
    public private(set) var boardMSS: Int
    /// An empty frame in the queue towards the board: the pass ends here.
    static let barrier: [UInt8] = []

    public init(boardMSS: Int = 536) { self.boardMSS = boardMSS }

    static let hostAddress: [UInt8] = [10, 0, 2, 2]
    static let subnetBroadcast: [UInt8] = [10, 0, 2, 255]
    /// slirp's MAC for 10.0.2.2 (52:55: + its address).
    static let hostMAC: [UInt8] = [0x52, 0x55, 10, 0, 2, 2]

    // MARK: towards the board

    /// The frames to deliver for one frame from slirp (with `barrier`s between
    /// frames that must not reach lwIP in the same pass).
    public func toBoard(_ frame: [UInt8]) -> [[UInt8]] {
        guard let seg = Segment(frame), seg.flags & (Segment.syn | Segment.rst) == 0 else { return [frame] }
        let fin = seg.flags & Segment.fin != 0
        guard fin || seg.payloadLength > boardMSS else { return [frame] }
        var out: [[UInt8]] = []
        var offset = 0
        let payload = seg.payloadLength
        repeat {
            let n = min(boardMSS, payload - offset)
            let last = offset + n == payload
            var flags = seg.flags & ~(Segment.fin | Segment.psh)
            if last { flags |= seg.flags & Segment.psh }
            out.append(seg.rebuilt(payloadOffset: offset, count: n, flags: flags, idDelta: out.count))
            offset += n
        } while offset < payload
        if fin {
            // the FIN goes alone, in a later pass, after the ACK (and data) it came with
            out.append(Self.barrier)
            out.append(
                seg.rebuilt(
                    payloadOffset: payload, count: 0, flags: (seg.flags & Segment.ack) | Segment.fin,
                    idDelta: out.count - 1))
        }
        return out
    }

    // MARK: from the board

    public enum Verdict: Equatable {
        case pass
        case drop
        /// Deliver this frame instead (re-addressed to the host).
        case replace([UInt8])
    }

    /// What becomes of a frame from the board before slirp sees it; learns the board's MSS.
    public func fromBoard(_ frame: UnsafeRawBufferPointer) -> Verdict {
        guard frame.count >= 34, frame[12] == 0x08, frame[13] == 0x00, frame[14] >> 4 == 4 else { return .pass }
        let ihl = Int(frame[14] & 0x0f) * 4
        let proto = frame[23]
        if proto == 6, frame.count >= 14 + ihl + 20 {
            let t = 14 + ihl
            // (an MSS under 64 is no MSS a stack sends: kept out, or re-cutting would never end)
            if frame[t + 13] & Segment.syn != 0, let mss = Segment.mssOption(frame, tcp: t), mss >= 64 { boardMSS = mss }
            return .pass
        }
        let dst = Array(frame[30..<34])
        let broadcast = dst == [255, 255, 255, 255] || dst == Self.subnetBroadcast || dst[0] >> 4 == 14
        guard broadcast else { return .pass }
        guard proto == 17, frame.count >= 14 + ihl + 8 else { return .drop }
        let u = 14 + ihl
        let dport = UInt16(frame[u + 2]) << 8 | UInt16(frame[u + 3])
        if dport == 67 { return .pass }  // DHCP: slirp's server
        var f = Array(frame)
        f.replaceSubrange(0..<6, with: Self.hostMAC)
        f.replaceSubrange(30..<34, with: Self.hostAddress)
        f[24] = 0
        f[25] = 0
        let ipSum = checksum(f[14..<(14 + ihl)])
        f[24] = UInt8(ipSum >> 8)
        f[25] = UInt8(ipSum & 0xff)
        let ipLength = Int(UInt16(f[16]) << 8 | UInt16(f[17]))
        let udpEnd = max(u + 8, min(f.count, 14 + ipLength))  // (a length field shorter than the headers)
        if f[u + 6] != 0 || f[u + 7] != 0 {  // a checksum was sent: recompute it
            f[u + 6] = 0
            f[u + 7] = 0
            var sum = transportChecksum(f, ipStart: 14, start: u, end: udpEnd, proto: 17)
            if sum == 0 { sum = 0xffff }
            f[u + 6] = UInt8(sum >> 8)
            f[u + 7] = UInt8(sum & 0xff)
        }
        return .replace(f)
    }
}

/// An IPv4 TCP segment in an Ethernet frame, for re-cutting.
struct Segment {
    static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, rst: UInt8 = 0x04, psh: UInt8 = 0x08, ack: UInt8 = 0x10

    let frame: [UInt8]
    let ip: Int, tcp: Int, payload: Int
    let payloadLength: Int
    let flags: UInt8
    let seq: UInt32

    init?(_ frame: [UInt8]) {
        guard frame.count >= 54, frame[12] == 0x08, frame[13] == 0x00, frame[14] >> 4 == 4, frame[23] == 6 else { return nil }
        let ihl = Int(frame[14] & 0x0f) * 4
        let total = Int(UInt16(frame[16]) << 8 | UInt16(frame[17]))
        // fragments are left alone
        guard frame[20] & 0x3f == 0, frame[21] == 0 else { return nil }
        ip = 14
        tcp = 14 + ihl
        guard frame.count >= tcp + 20, 14 + total <= frame.count else { return nil }
        let thl = Int(frame[tcp + 12] >> 4) * 4
        payload = tcp + thl
        guard thl >= 20, payload <= 14 + total else { return nil }
        payloadLength = 14 + total - payload
        flags = frame[tcp + 13]
        seq = UInt32(frame[tcp + 4]) << 24 | UInt32(frame[tcp + 5]) << 16 | UInt32(frame[tcp + 6]) << 8 | UInt32(frame[tcp + 7])
        self.frame = frame
    }

    /// The same headers with `count` bytes of payload from `payloadOffset`, its
    /// sequence number moved accordingly, `flags`, the IP id advanced by `idDelta`,
    /// and both checksums recomputed.
    func rebuilt(payloadOffset: Int, count: Int, flags: UInt8, idDelta: Int) -> [UInt8] {
        var f = Array(frame[0..<payload])
        f.append(contentsOf: frame[(payload + payloadOffset)..<(payload + payloadOffset + count)])
        let total = f.count - 14
        f[16] = UInt8(total >> 8)
        f[17] = UInt8(total & 0xff)
        let id = (UInt16(f[18]) << 8 | UInt16(f[19])) &+ UInt16(truncatingIfNeeded: idDelta)
        f[18] = UInt8(id >> 8)
        f[19] = UInt8(id & 0xff)
        f[24] = 0
        f[25] = 0
        let ipSum = checksum(f[ip..<tcp])
        f[24] = UInt8(ipSum >> 8)
        f[25] = UInt8(ipSum & 0xff)
        let s = seq &+ UInt32(truncatingIfNeeded: payloadOffset)
        f[tcp + 4] = UInt8(s >> 24)
        f[tcp + 5] = UInt8((s >> 16) & 0xff)
        f[tcp + 6] = UInt8((s >> 8) & 0xff)
        f[tcp + 7] = UInt8(s & 0xff)
        f[tcp + 13] = flags
        f[tcp + 16] = 0
        f[tcp + 17] = 0
        let sum = transportChecksum(f, ipStart: ip, start: tcp, end: f.count, proto: 6)
        f[tcp + 16] = UInt8(sum >> 8)
        f[tcp + 17] = UInt8(sum & 0xff)
        // Ethernet's minimum frame (what a NIC pads short frames to)
        if f.count < 60 { f.append(contentsOf: [UInt8](repeating: 0, count: 60 - f.count)) }
        return f
    }

    /// The MSS option of a SYN whose TCP header starts at `tcp`.
    static func mssOption(_ frame: UnsafeRawBufferPointer, tcp: Int) -> Int? {
        let end = min(frame.count, tcp + Int(frame[tcp + 12] >> 4) * 4)
        var i = tcp + 20
        while i < end {
            switch frame[i] {
            case 0: return nil
            case 1: i += 1
            default:
                guard i + 1 < end else { return nil }
                let len = Int(frame[i + 1])
                if frame[i] == 2, len == 4, i + 3 < end { return Int(frame[i + 2]) << 8 | Int(frame[i + 3]) }
                guard len >= 2 else { return nil }
                i += len
            }
        }
        return nil
    }
}

/// The Internet checksum (RFC 1071) of `bytes`, folded and complemented.
func checksum<C: Collection>(_ bytes: C, initial: UInt32 = 0) -> UInt16 where C.Element == UInt8, C.Index == Int {
    var sum = initial
    var i = bytes.startIndex
    while i + 1 < bytes.endIndex {
        sum &+= UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
        i += 2
    }
    if i < bytes.endIndex { sum &+= UInt32(bytes[i]) << 8 }
    while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
    return ~UInt16(sum)
}

/// TCP/UDP checksum of `f[start..<end]` with the IPv4 pseudo-header.
func transportChecksum(_ f: [UInt8], ipStart: Int, start: Int, end: Int, proto: UInt8) -> UInt16 {
    var pseudo: UInt32 = 0
    for i in stride(from: ipStart + 12, to: ipStart + 20, by: 2) { pseudo &+= UInt32(f[i]) << 8 | UInt32(f[i + 1]) }
    pseudo &+= UInt32(proto)
    pseudo &+= UInt32(end - start)
    return checksum(f[start..<end], initial: pseudo)
}
