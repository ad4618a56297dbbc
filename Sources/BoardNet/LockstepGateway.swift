import BoardCore
import Glibc

/// The gateway of a lab run in virtual time: libslirp on the conductor's clock
/// (its `clock_get_ns` and timers read a virtual `BoardClock` the conductor
/// moves), answering ARP for 10.0.2.2 and 10.0.2.3, DHCP (`LANDHCP`) and DNS
/// (10.0.2.3) for every board's name and the host names boards sent in DHCP.
///
/// Nothing reaches this host's programs: their answers would come at wall-clock
/// times, not at the lab's board times, and a lab in virtual time is
/// deterministic. A board's connection or datagram through the NAT (to
/// 10.0.2.2, to the Internet, a lookup of a name outside the lab) is dropped,
/// and `onRefused` says so once per destination; broadcasts stay on the LAN.
/// There are no forwards (the lab refuses them in virtual time).
///
/// Driven by the conductor: `receive` a frame at its delivery time, `run` slirp's
/// timers up to a time; both return the frames the gateway sends, with their
/// send times. Single-threaded.
public final class LockstepGateway {
    private let clock = BoardClock(mode: .virtual)
    private let slirp: SlirpBackend
    private let boardNames: [String: String]
    private var hosts: [String: String]
    /// The LAN's DHCP server.
    public let dhcp: LANDHCP
    /// Board addresses to names, for the messages.
    private let names: [String: String]
    private var refused: Set<String> = []
    /// Told once per board and destination that the gateway dropped.
    public var onRefused: ((String) -> Void)?

    /// `hosts`: the names DNS answers (board name → address); `dhcp` serves the leases.
    public init(hosts: [String: String], dhcp: LANDHCP) throws(NetworkError) {
        slirp = try SlirpBackend(clock: clock)
        self.hosts = hosts
        boardNames = hosts
        self.dhcp = dhcp
        var names: [String: String] = [:]
        for (name, address) in hosts where !name.contains(".") { names[address] = name }
        self.names = names
    }

    public func close() { slirp.close() }

    /// The gateway's time (µs).
    public var now: UInt64 { clock.micros }

    /// The next board time slirp needs its timers run.
    public func nextDeadline() -> UInt64 {
        var fds: [pollfd] = []
        slirp.addDescriptors(to: &fds)
        let now = clock.micros
        return max(slirp.nextDeadline(now: now) ?? now + 1_000_000, now + 1)
    }

    /// Moves the gateway's clock to `t` (never back) and runs slirp's due timers.
    public func run(until t: UInt64) -> [(sentAt: UInt64, frame: [UInt8])] {
        clock.advance(to: t)
        var fds: [pollfd] = []
        slirp.addDescriptors(to: &fds)
        fds.withUnsafeMutableBufferPointer { _ = slirp.handle($0, failed: false) }
        return sent()
    }

    /// A frame from the LAN reaches the gateway at board time `t`.
    public func receive(_ frame: [UInt8], at t: UInt64) -> [(sentAt: UInt64, frame: [UInt8])] {
        var out = run(until: t)
        frame.withUnsafeBytes { buf in
            if let replies = dhcp.handle(buf) {
                for r in replies { out.append((clock.micros, r)) }
                hosts = boardNames.merging(dhcp.hostnames) { board, _ in board }
            } else if let reply = WorldDNS.answer(buf, hosts: hosts) {
                out.append((clock.micros, reply))
            } else if buf.count >= 14, buf[12] == 0x08, buf[13] == 0x06 {
                slirp.input(buf)  // ARP: who has 10.0.2.2 / 10.0.2.3
            } else {
                refuse(buf)
            }
        }
        return out + sent()
    }

    private func sent() -> [(sentAt: UInt64, frame: [UInt8])] {
        let frames = slirp.toDevice.filter { !$0.isEmpty }
        slirp.toDevice.removeAll()
        return frames.map { (clock.micros, $0) }
    }

    /// Drops a board's IPv4 frame for the NAT, saying so once per board and destination.
    private func refuse(_ b: UnsafeRawBufferPointer) {
        guard b.count >= 34, b[12] == 0x08, b[13] == 0x00, b[0] & 1 == 0 else { return }  // broadcasts stay on the LAN
        let source = "\(b[26]).\(b[27]).\(b[28]).\(b[29])", destination = "\(b[30]).\(b[31]).\(b[32]).\(b[33])"
        guard b[33] != 255 else { return }
        let proto = b[23], l4 = 14 + Int(b[14] & 0x0f) * 4
        var what = "IP protocol \(proto) to \(destination)"
        if proto == 6 || proto == 17, b.count >= l4 + 4 {
            let port = UInt16(b[l4 + 2]) << 8 | UInt16(b[l4 + 3])
            what =
                proto == 17 && port == 53 && destination == SlirpBackend.dns
                ? "DNS lookup of a name outside the lab" : "\(proto == 6 ? "TCP" : "UDP") to \(destination):\(port)"
        } else if proto == 1 {
            what = "ping to \(destination)"
        }
        let key = source + " " + what
        guard refused.insert(key).inserted else { return }
        onRefused?(
            "\(names[source] ?? source): \(what) is dropped: in virtual time a lab does not reach this host's programs (their answers would not follow the lab's clock); run the lab with --time real for that"
        )
    }
}
