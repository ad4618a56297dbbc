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
    private let lan: VDEBackend
    private let filter = PCFilter()
    private let boardNames: [String: String]
    /// The boards' names and the DHCP host names (a board's name wins).
    private var hosts: [String: String]
    /// The LAN's DHCP server.
    public let dhcp: LANDHCP
    /// Frames for the LAN held behind a barrier (a FIN after its ACK).
    private var pending: [[UInt8]] = []
    private var holdUntil: UInt64 = 0
    /// How long a FIN split from its ACK waits: long enough for the board to
    /// run a pass between the two frames.
    public var finDelayMicros: UInt64 = 500

    /// Joins `url` (a VDE switch); `hosts` are names DNS answers (board names);
    /// `forwards` reach the given board addresses; `dhcp` serves the LAN's leases.
    public init(url: String, hosts: [String: String], forwards: [(Forward, String)], dhcp: LANDHCP) throws(NetworkError) {
        slirp = try SlirpBackend(clock: clock)
        slirp.filter = filter
        lan = try VDEBackend(url: url)
        self.hosts = hosts
        boardNames = hosts
        self.dhcp = dhcp
        for (f, address) in forwards { try slirp.addForward(f, deviceAddress: address) }
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
        // boards -> slirp (its answers queue in slirp.toDevice)
        for frame in lan.toDevice {
            frame.withUnsafeBytes { buf in
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
        // slirp -> boards, a FIN held a little behind its ACK
        pending += slirp.toDevice
        slirp.toDevice.removeAll()
        let t = clock.micros
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
        return Array(fds[lanEnd...])
    }
}
