import BoardCore

/// The board's exchanges with programs on the host through slirp's NAT (a
/// Python server on 127.0.0.1 reached at 10.0.2.2, a web API, the host's DNS
/// resolver behind 10.0.2.3): while one is outstanding, board time must not run
/// ahead of the host (`BoardLoop.heldToHostPace`), or in virtual time the
/// board's clock jumps past its timeouts before the host's answer exists.
///
/// Stateless beyond a small table, fed with every frame between the board and
/// slirp (Ethernet II, IPv4):
/// - a TCP connection the board opens (its SYN) to anything but a world service
///   is outstanding until it is reset or both sides have sent their FIN;
/// - a UDP datagram the board sends (a DNS query slirp forwards to the host's
///   resolver, a request to a host program) is outstanding until a datagram
///   comes back from where it went, or for `udpHoldMicros` of board time;
///   an answer to a peer that spoke first is not a question.
///
/// Not counted: world services and visitors (peers in this process: they answer
/// within slirp's calls, so virtual time keeps its determinism with them), DHCP
/// (slirp's own server), connections from the host through `--forward` (the
/// host's client speaks first and owes the board nothing).
/// Single-threaded: the board's thread.
final class HostFlows {
    private struct TCPKey: Hashable {
        let boardPort: UInt16, remote: UInt32, remotePort: UInt16
    }
    private struct TCPFlow {
        var boardFin = false, hostFin = false
    }
    private struct UDPKey: Hashable {
        let boardPort: UInt16, remote: UInt32, remotePort: UInt16
    }

    /// Addresses and ports of the world's services (in-process peers).
    private let services: Set<UInt64>
    private var tcp: [TCPKey: TCPFlow] = [:]
    /// Board time until which each UDP exchange is held.
    private var udp: [UDPKey: UInt64] = [:]
    /// UDP peers that spoke first (a host program or a visitor through a
    /// forward): the board's datagrams to them are answers, not questions.
    private var answered: Set<UDPKey> = []
    /// How long a datagram without an answer holds the clock (board time).
    var udpHoldMicros: UInt64 = 3_000_000
    /// Told of the run's first exchange with the host ("TCP to 10.0.2.2:8000").
    var onFirstExchange: ((String) -> Void)?
    private var announced = false

    init(world: World) {
        var s: Set<UInt64> = []
        for service in world.services {
            if let bits = ipBits(service.address) { s.insert(UInt64(bits) << 16 | UInt64(service.port)) }
        }
        services = s
    }

    /// Outstanding exchanges with the host, for messages and tests.
    var count: Int { tcp.count + udp.count }

    /// Whether an exchange with the host is outstanding at board time `now`.
    func active(now: UInt64) -> Bool {
        if !tcp.isEmpty { return true }
        if udp.isEmpty { return false }
        udp = udp.filter { $0.value > now }
        return !udp.isEmpty
    }

    func forget() {
        tcp.removeAll()
        udp.removeAll()
        answered.removeAll()
    }

    /// A frame the board sent towards slirp.
    func fromBoard(_ b: UnsafeRawBufferPointer, now: UInt64) {
        guard let p = Packet(b) else { return }
        if services.contains(UInt64(p.destination) << 16 | UInt64(p.destinationPort)) { return }
        if p.isTCP {
            let key = TCPKey(boardPort: p.sourcePort, remote: p.destination, remotePort: p.destinationPort)
            if p.flags & 0x04 != 0 {
                tcp[key] = nil
            } else if p.flags & 0x12 == 0x02 {
                tcp[key] = TCPFlow()
                announce("TCP to \(ipString(p.destination)):\(p.destinationPort)")
            } else if p.flags & 0x01 != 0, var f = tcp[key] {
                f.boardFin = true
                tcp[key] = f.hostFin ? nil : f
            }
        } else {
            guard p.destinationPort != 67, p.sourcePort != 68 else { return }  // DHCP: slirp's own
            let key = UDPKey(boardPort: p.sourcePort, remote: p.destination, remotePort: p.destinationPort)
            guard !answered.contains(key) else { return }
            udp[key] = now + udpHoldMicros
            let dns = p.destinationPort == 53 && ipString(p.destination) == SlirpBackend.dns
            announce(dns ? "a DNS lookup, which the host's resolver answers" : "UDP to \(ipString(p.destination)):\(p.destinationPort)")
        }
    }

    private func announce(_ what: String) {
        guard !announced else { return }
        announced = true
        onFirstExchange?(what)
    }

    /// A frame slirp sent to the board.
    func toBoard(_ b: UnsafeRawBufferPointer) {
        guard let p = Packet(b) else { return }
        if p.isTCP {
            let key = TCPKey(boardPort: p.destinationPort, remote: p.source, remotePort: p.sourcePort)
            guard var f = tcp[key] else { return }
            if p.flags & 0x04 != 0 {
                tcp[key] = nil
            } else if p.flags & 0x01 != 0 {
                f.hostFin = true
                tcp[key] = f.boardFin ? nil : f
            }
        } else {
            let key = UDPKey(boardPort: p.destinationPort, remote: p.source, remotePort: p.sourcePort)
            if udp.removeValue(forKey: key) == nil && answered.count < 4096 { answered.insert(key) }
        }
    }

    /// The fields of an IPv4 TCP or UDP frame the table needs (addresses in network byte order).
    private struct Packet {
        let isTCP: Bool
        let source: UInt32, destination: UInt32
        let sourcePort: UInt16, destinationPort: UInt16
        let flags: UInt8

        init?(_ b: UnsafeRawBufferPointer) {
            guard b.count >= 14 + 20, b[12] == 0x08, b[13] == 0x00, b[14] >> 4 == 4 else { return nil }
            let ihl = Int(b[14] & 0x0F) * 4
            let proto = b[14 + 9]
            guard proto == 6 || proto == 17, b.count >= 14 + ihl + (proto == 6 ? 14 : 8) else { return nil }
            // later fragments carry no ports
            guard (UInt16(b[14 + 6]) << 8 | UInt16(b[14 + 7])) & 0x1FFF == 0 else { return nil }
            isTCP = proto == 6
            source = b.loadUnaligned(fromByteOffset: 14 + 12, as: UInt32.self)
            destination = b.loadUnaligned(fromByteOffset: 14 + 16, as: UInt32.self)
            let l4 = 14 + ihl
            sourcePort = UInt16(b[l4]) << 8 | UInt16(b[l4 + 1])
            destinationPort = UInt16(b[l4 + 2]) << 8 | UInt16(b[l4 + 3])
            flags = isTCP ? b[l4 + 13] : 0
        }
    }
}
