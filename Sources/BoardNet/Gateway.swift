import BoardCore
import Glibc

/// A LAN's gateway (the access point's router of a lab): libslirp attached to a
/// VDE network, so boards on the LAN reach the host (10.0.2.2, NAT) and the host
/// reaches boards through forwards, with the PC-like filter between slirp and
/// the boards (ACK before FIN, segments within the boards' MSS, broadcasts kept
/// on the machine), DHCP for any number of boards (`LANDHCP`, in place of
/// slirp's 16 leases) and DNS (10.0.2.3) answering the boards' names and the
/// host names they sent in DHCP itself.
///
/// Runs in its own process (the lab's), driven by `step`: one `ppoll` over
/// slirp's sockets, the LAN and the caller's descriptors.
public final class Gateway {
    private let clock = BoardClock(mode: .real)
    private let slirp: SlirpBackend
    private let lan: LinkBackend
    private let filter = PCFilter()
    private let boardNames: [String: String]
    /// The boards' names and the DHCP host names (a board's name wins).
    private var hosts: [String: String]
    /// The LAN's DHCP server.
    public let dhcp: LANDHCP
    /// The boards' MACs as a router keeps them (slirp's own table has 16).
    var arp = GatewayARP()
    /// slirp's ARP requests the table answered (no frame on the LAN).
    public private(set) var arpAnswered = 0
    /// Frames for the LAN held behind a barrier (a FIN after its ACK).
    private var pending: [[UInt8]] = []
    private var holdUntil: UInt64 = 0
    /// How long a FIN split from its ACK waits: long enough for the board to
    /// run a pass between the two frames.
    public var finDelayMicros: UInt64 = 500

    /// Joins `url` (a VDE switch); `hosts` are names DNS answers (board names);
    /// `forwards` reach the given board addresses; `dhcp` serves the LAN's leases.
    public convenience init(url: String, hosts: [String: String], forwards: [(Forward, String)], dhcp: LANDHCP) throws(NetworkError) {
        try self.init(lan: try VDEBackend(url: url), hosts: hosts, forwards: forwards, dhcp: dhcp, restricted: false)
    }

    init(lan: LinkBackend, hosts: [String: String], forwards: [(Forward, String)], dhcp: LANDHCP, restricted: Bool) throws(NetworkError) {
        slirp = try SlirpBackend(clock: clock, restricted: restricted)
        slirp.filter = filter
        self.lan = lan
        self.hosts = hosts
        boardNames = hosts
        self.dhcp = dhcp
        for (f, address) in forwards { try slirp.addForward(f, deviceAddress: address) }
    }

    /// A gateway on a LAN held in memory, its slirp restricted to its own services
    /// (ARP, DHCP, ICMP echo of its addresses: no frame opens a host socket), for
    /// tests and the fuzzer: `exchange` hands it the boards' frames.
    public static func inMemory(
        hosts: [String: String], reservations: [(mac: [UInt8], address: String)] = []
    ) throws(NetworkError) -> Gateway {
        try Gateway(lan: MemoryLAN(), hosts: hosts, forwards: [], dhcp: LANDHCP(reservations: reservations), restricted: true)
    }

    /// Frames from the boards, handled as `step` handles the LAN's (names answered
    /// here, the rest through the filter into slirp); returns what the gateway put
    /// on the LAN meanwhile. Only for `inMemory` gateways.
    public func exchange(_ frames: [[UInt8]]) -> [[UInt8]] {
        guard let memory = lan as? MemoryLAN else { return [] }
        clock.refresh()
        // slirp's timers (nothing to poll: a restricted slirp has no host sockets)
        var fds: [pollfd] = []
        slirp.addDescriptors(to: &fds)
        fds.withUnsafeMutableBufferPointer { _ = slirp.handle($0, failed: false) }
        memory.toDevice += frames
        fromBoards()
        toBoards()
        defer { memory.sent.removeAll() }
        return memory.sent
    }

    public func close() {
        slirp.close()
        lan.close()
    }

    /// One round: waits (at most `maxWaitMicros`) for slirp, the LAN or `extra`,
    /// moves frames both ways, and returns `extra` with its poll results.
    public func step(extra: [pollfd], maxWaitMicros: UInt64) -> [pollfd] {
        let now = clock.refresh()
        var fds: [pollfd] = []
        slirp.addDescriptors(to: &fds)
        let slirpEnd = fds.count
        lan.addDescriptors(to: &fds)
        let lanEnd = fds.count
        fds += extra
        var wait = maxWaitMicros
        if let d = slirp.nextDeadline(now: now) { wait = min(wait, d > now ? d - now : 0) }
        if !pending.isEmpty { wait = min(wait, holdUntil > now ? holdUntil - now : 0) }
        let r = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), Int32((wait + 999) / 1000)) }
        clock.refresh()
        fds.withUnsafeMutableBufferPointer { all in
            _ = slirp.handle(UnsafeMutableBufferPointer(rebasing: all[0..<slirpEnd]), failed: r < 0)
            _ = lan.handle(UnsafeMutableBufferPointer(rebasing: all[slirpEnd..<lanEnd]), failed: r < 0)
        }
        fromBoards()
        toBoards()
        return Array(fds[lanEnd...])
    }

    /// IPv4 fragments from the LAN kept from slirp (see `fromBoards`).
    public private(set) var droppedFragments = 0

    /// The boards' frames (waiting in `lan.toDevice`) into slirp, names answered
    /// here (its answers queue in slirp.toDevice).
    ///
    /// IPv4 fragments never reach slirp: libslirp 4.7.0 (Debian 12) crashes the
    /// process when a datagram's last fragment arrives before its first (ip_reass
    /// "completes" a queue it has just made; found by `make fuzz`'s gateway target,
    /// corpus/gateway/regression-slirp-*), and anything on a lab's switch can send
    /// one. A board's UDP datagram larger than the MTU (the only thing a board
    /// fragments: its TCP segments fit its MSS) is lost on the way out, as on a
    /// path that drops fragments.
    private func fromBoards() {
        for frame in lan.toDevice {
            frame.withUnsafeBytes { buf in
                if Self.isIPv4Fragment(buf) {
                    droppedFragments += 1
                    return
                }
                // a soft-AP cell's frames (`CellRadio`) are the boards' radio, not the LAN's traffic
                if buf.count >= 14, buf[12] == 0x88, buf[13] == 0xB5 { return }
                arp.learn(buf, now: clock.micros)
                if let replies = dhcp.handle(buf) {
                    for r in replies { r.withUnsafeBytes { lan.input($0) } }
                    hosts = boardNames.merging(dhcp.hostnames) { board, _ in board }
                    return
                }
                // mDNS is link-local (224.0.0.251, never routed, RFC 6762 §11): the boards hear each other on the switch
                if WorldMDNS.isMDNS(buf) { return }
                if let reply = WorldDNS.answer(buf, hosts: hosts) {
                    reply.withUnsafeBytes { lan.input($0) }
                    return
                }
                switch filter.fromBoard(buf) {
                case .pass: slirp.input(buf)
                case .drop: break
                case .replace(let f): f.withUnsafeBytes { slirp.input($0) }
                }
            }
        }
        lan.toDevice.removeAll()
    }

    /// An IPv4 fragment (more fragments follow, or an offset).
    static func isIPv4Fragment(_ frame: UnsafeRawBufferPointer) -> Bool {
        guard frame.count >= 34, frame[12] == 0x08, frame[13] == 0x00, frame[14] >> 4 == 4 else { return false }
        return (UInt16(frame[20]) << 8 | UInt16(frame[21])) & 0x3FFF != 0  // MF and the offset, not DF
    }

    /// slirp's frames onto the LAN, a FIN held a little behind its ACK.
    private func toBoards() {
        let t = clock.micros
        for f in slirp.toDevice {
            switch f.withUnsafeBytes({ arp.resolve($0, now: t) }) {
            case .pass: pending.append(f)
            case .probe(let p): pending.append(p)
            case .answer(let r):
                arpAnswered += 1
                r.withUnsafeBytes { slirp.input($0) }
            }
        }
        slirp.toDevice.removeAll()
        while let f = pending.first {
            if f.isEmpty {
                if holdUntil == 0 {
                    holdUntil = t + finDelayMicros
                    break
                }
                if t < holdUntil { break }
                holdUntil = 0
                pending.removeFirst()
                continue
            }
            pending.removeFirst()
            f.withUnsafeBytes { lan.input($0) }
        }
    }
}

/// A LAN held in memory: what the boards sent waits in `toDevice`, what the
/// gateway sends collects in `sent`.
final class MemoryLAN: LinkBackend {
    var toDevice: [[UInt8]] = []
    var sent: [[UInt8]] = []
    func input(_ frame: UnsafeRawBufferPointer) { sent.append(Array(frame)) }
    func addDescriptors(to fds: inout [pollfd]) {}
    func handle(_ results: UnsafeMutableBufferPointer<pollfd>, failed: Bool) -> Bool { false }
    func nextDeadline(now: UInt64) -> UInt64? { nil }
    func close() {}
}
