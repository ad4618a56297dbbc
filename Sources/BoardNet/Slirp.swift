import BoardCore
import CSlirp
import Glibc

/// A port forward from the host into the device (`--forward [udp:]HOST:DEVICE`).
public struct Forward: Sendable, Equatable, CustomStringConvertible {
    public var udp: Bool
    public var hostAddress: String
    public var hostPort: UInt16
    public var devicePort: UInt16

    public init(udp: Bool = false, hostAddress: String = "127.0.0.1", hostPort: UInt16, devicePort: UInt16) {
        self.udp = udp
        self.hostAddress = hostAddress
        self.hostPort = hostPort
        self.devicePort = devicePort
    }

    /// Parses `HOST:DEVICE`, `udp:HOST:DEVICE` or `ADDR:HOST:DEVICE` (e.g. `0.0.0.0:8080:80`).
    public init?(parsing text: String) {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var udp = false
        if let first = parts.first, first == "udp" || first == "tcp" {
            udp = first == "udp"
            parts.removeFirst()
        }
        var address = "127.0.0.1"
        if parts.count == 3 {
            address = parts.removeFirst()
            var probe = in_addr()
            guard inet_pton(AF_INET, address, &probe) == 1 else { return nil }
        }
        guard parts.count == 2, let h = UInt16(parts[0]), let d = UInt16(parts[1]), h > 0, d > 0 else { return nil }
        self.init(udp: udp, hostAddress: address, hostPort: h, devicePort: d)
    }

    public var description: String {
        "\(udp ? "udp:" : "")\(hostAddress):\(hostPort) -> device:\(devicePort)"
    }
}

public enum NetworkError: Error, CustomStringConvertible, Equatable {
    case forwardFailed(Forward, String)
    case slirpFailed
    case worldFailed(String)
    case linkFailed(String, String)

    public var description: String {
        switch self {
        case .forwardFailed(let f, let why):
            return "cannot forward \(f.udp ? "UDP" : "TCP") \(f.hostAddress):\(f.hostPort) to the device's port \(f.devicePort): \(why)"
        case .slirpFailed:
            return "could not start the user-mode network (libslirp)"
        case .worldFailed(let why):
            return "cannot set up the world: \(why)"
        case .linkFailed(let url, let why):
            return "cannot join the network \(url): \(why)"
        }
    }
}

/// The host side of the device's WiFi: libslirp's user-mode NAT (DHCP, DNS,
/// outbound connections, port forwards), as QEMU's `-nic user` uses it.
///
/// slirp calls `send_packet` from inside `slirp_input`; frames for the device are
/// queued here and delivered by the event loop, never re-entering lwIP.
final class SlirpBackend: LinkBackend {
    private(set) var slirp: OpaquePointer?
    let clock: BoardClock
    private var callbacks: UnsafeMutablePointer<SlirpCb>
    /// Frames from the network to the device, waiting for the event loop.
    var toDevice: [[UInt8]] = []
    /// The PC-like filter frames from slirp pass through, if any.
    var filter: PCFilter?
    /// slirp's descriptors as its last fill listed them (`addDescriptors`).
    private var pollFDs: [pollfd] = []
    /// Timeout slirp asked for at its last fill (ms), for the loop's next deadline.
    private(set) var requestedTimeoutMs: UInt32 = 1000
    /// slirp's state may have changed since its last fill: a frame went in, it handled
    /// its sockets or ran its timers, a forward was added. Until then a fill would list
    /// the same descriptors, so `addDescriptors` hands over `pollFDs` again.
    private var stale = true
    /// A TCP segment without SYN or data (an ACK, a FIN, an RST) went in since the last
    /// fill: what it may change (slirp reads a socket again once the board's ACKs drained
    /// half its send buffer; a FIN or an RST only ends interest) waits for the next fill:
    /// before the loop's next wait, when slirp next handles its sockets (at the latest on
    /// its next millisecond), or the next frame that needs one at once (a SYN: a
    /// connection to open, or one the board accepted, whose socket is read from then on;
    /// data, which slirp writes to its socket).
    private var lagging = false
    /// An ARP frame went into slirp since it last handled its sockets and timers.
    private var arpSincePoll = false
    /// slirp's clock (ms) when it last handled its sockets and timers.
    private var polledAtMs: UInt64 = .max

    final class Timer {
        let cb: SlirpTimerCb
        let opaque: UnsafeMutableRawPointer?
        var expireMs: Int64 = -1
        init(cb: SlirpTimerCb, opaque: UnsafeMutableRawPointer?) { self.cb = cb; self.opaque = opaque }
    }
    private var timers: [UnsafeMutableRawPointer: Timer] = [:]

    static let network = "10.0.2.0", netmask = "255.255.255.0", host = "10.0.2.2"
    static let dhcpStart = "10.0.2.15", dns = "10.0.2.3"

    /// `restricted`: slirp's own services only (ARP, DHCP, ICMP echo of its
    /// addresses); nothing a guest sends opens a host socket (a gateway being fuzzed).
    init(clock: BoardClock, restricted: Bool = false) throws(NetworkError) {
        self.clock = clock
        callbacks = .allocate(capacity: 1)
        callbacks.initialize(to: SlirpCb())
        callbacks.pointee.send_packet = { buf, len, opaque in
            let me = Unmanaged<SlirpBackend>.fromOpaque(opaque!).takeUnretainedValue()
            let frame = Array(UnsafeRawBufferPointer(start: buf, count: len))
            if let f = me.filter { me.toDevice.append(contentsOf: f.toBoard(frame)) } else { me.toDevice.append(frame) }
            return len
        }
        callbacks.pointee.guest_error = { msg, _ in
            writeStandardError("esplua: slirp: \(String(cString: msg!))\n")
        }
        callbacks.pointee.clock_get_ns = { opaque in
            let me = Unmanaged<SlirpBackend>.fromOpaque(opaque!).takeUnretainedValue()
            return Int64(me.clock.micros) * 1000
        }
        callbacks.pointee.timer_new = { cb, cbOpaque, opaque in
            let me = Unmanaged<SlirpBackend>.fromOpaque(opaque!).takeUnretainedValue()
            let t = Timer(cb: cb!, opaque: cbOpaque)
            let key = Unmanaged.passUnretained(t).toOpaque()
            me.timers[key] = t
            return key
        }
        callbacks.pointee.timer_free = { timer, opaque in
            let me = Unmanaged<SlirpBackend>.fromOpaque(opaque!).takeUnretainedValue()
            me.timers.removeValue(forKey: timer!)
        }
        callbacks.pointee.timer_mod = { timer, expire, opaque in
            let me = Unmanaged<SlirpBackend>.fromOpaque(opaque!).takeUnretainedValue()
            me.timers[timer!]?.expireMs = expire
        }
        callbacks.pointee.register_poll_fd = { _, _ in }
        callbacks.pointee.unregister_poll_fd = { _, _ in }
        callbacks.pointee.notify = { _ in }

        var cfg = SlirpConfig()
        cfg.version = 1
        cfg.restricted = restricted ? 1 : 0
        cfg.in_enabled = true
        inet_pton(AF_INET, SlirpBackend.network, &cfg.vnetwork)
        inet_pton(AF_INET, SlirpBackend.netmask, &cfg.vnetmask)
        inet_pton(AF_INET, SlirpBackend.host, &cfg.vhost)
        inet_pton(AF_INET, SlirpBackend.dhcpStart, &cfg.vdhcp_start)
        inet_pton(AF_INET, SlirpBackend.dns, &cfg.vnameserver)
        cfg.in6_enabled = false
        cfg.vhostname = nil
        let me = Unmanaged.passUnretained(self).toOpaque()
        slirp = slirp_new(&cfg, callbacks, me)
        guard slirp != nil else { callbacks.deallocate(); throw .slirpFailed }
    }

    func close() {
        if let s = slirp { slirp_cleanup(s) }
        slirp = nil
    }

    deinit {
        close()
        callbacks.deallocate()
    }

    /// A frame from the device to the network.
    func input(_ frame: UnsafeRawBufferPointer) {
        guard let s = slirp else { return }
        // an ARP reply lets slirp send what waited for it (if_start, from slirp_pollfds_poll);
        // what any other frame makes slirp send goes at once (if_output calls if_start)
        if frame.count >= 14 && frame[12] == 0x08 && frame[13] == 0x06 { arpSincePoll = true }
        // in virtual time every look crosses a millisecond anyway (and a jump must not skip what a
        // whole list would have shown)
        if clock.mode == .real && Self.isBareTCPSegment(frame) { lagging = true } else { stale = true }
        slirp_input(s, frame.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(frame.count))
    }

    func addForward(_ f: Forward, deviceAddress: String) throws(NetworkError) {
        guard let s = slirp else { throw .slirpFailed }
        var host = in_addr(), guest = in_addr()
        inet_pton(AF_INET, f.hostAddress, &host)
        inet_pton(AF_INET, deviceAddress, &guest)
        stale = true
        errno = 0
        if slirp_add_hostfwd(s, f.udp ? 1 : 0, host, Int32(f.hostPort), guest, Int32(f.devicePort)) != 0 {
            let why = errno == EADDRINUSE || errno == 0 ? "the port is already in use" : String(cString: strerror(errno))
            throw .forwardFailed(f, why)
        }
    }

    /// A device connection to `address:port` reaches the Unix socket at `path` (a world service).
    func addUnixService(path: String, address: String, port: UInt16) throws(NetworkError) {
        guard let s = slirp else { throw .slirpFailed }
        var guest = in_addr()
        inet_pton(AF_INET, address, &guest)
        stale = true
        if slirp_add_unix(s, path, &guest, Int32(port)) != 0 {
            throw .worldFailed("slirp refused a service at \(address):\(port)")
        }
    }

    /// Appends slirp's host sockets to `fds` (slirp_pollfds_fill) and lowers
    /// `requestedTimeoutMs` to what its TCP timers need.
    ///
    /// The fill walks every socket slirp has, those in TIME_WAIT included (2 × 5 s
    /// after each connection it closed first: thousands under a load of sequential
    /// requests), so it is asked again only when its state may have changed (`stale`);
    /// a board polling its host every 20 µs otherwise walks the list each time.
    func addDescriptors(to fds: inout [pollfd]) { addDescriptors(to: &fds, mayWait: true) }

    func addDescriptors(to fds: inout [pollfd], mayWait: Bool) {
        guard let s = slirp else { return }
        guard stale || (lagging && mayWait) else {
            fds.append(contentsOf: pollFDs)
            return
        }
        stale = false
        lagging = false
        pollFDs.removeAll(keepingCapacity: true)
        var timeout: UInt32 = 1000
        let me = Unmanaged.passUnretained(self).toOpaque()
        slirp_pollfds_fill(
            s, &timeout,
            { fd, events, opaque in
                let me = Unmanaged<SlirpBackend>.fromOpaque(opaque!).takeUnretainedValue()
                var ev: Int16 = 0
                if events & Int32(SLIRP_POLL_IN) != 0 { ev |= Int16(POLLIN) }
                if events & Int32(SLIRP_POLL_OUT) != 0 { ev |= Int16(POLLOUT) }
                if events & Int32(SLIRP_POLL_PRI) != 0 { ev |= Int16(POLLPRI) }
                me.pollFDs.append(pollfd(fd: fd, events: ev, revents: 0))
                return Int32(me.pollFDs.count - 1)
            }, me)
        requestedTimeoutMs = timeout
        fds.append(contentsOf: pollFDs)
    }

    /// After the poll: slirp reads and writes its ready sockets
    /// (slirp_pollfds_poll) and runs its due timers. `results` are the entries
    /// `addDescriptors` added. Returns whether any socket was ready.
    ///
    /// slirp_pollfds_poll walks every socket too. With no socket ready, no ARP frame in
    /// since its last call and its millisecond clock where it was then, it would do
    /// nothing (its TCP timers compare that clock: tcp_fasttimo, 2 ms after a delayed
    /// ACK, tcp_slowtimo every 500 ms; its if_start sends what waited for an ARP reply),
    /// so it is not called.
    func handle(_ results: UnsafeMutableBufferPointer<pollfd>, failed: Bool) -> Bool {
        guard let s = slirp else { return false }
        var ready = false
        for i in 0..<min(results.count, pollFDs.count) {
            pollFDs[i].revents = results[i].revents
            if results[i].revents != 0 { ready = true }
        }
        let nowMs = clock.micros / 1000
        if !ready && !failed && !arpSincePoll && nowMs == polledAtMs {
            fireTimers()
            return false
        }
        polledAtMs = nowMs
        arpSincePoll = false
        stale = true
        let me = Unmanaged.passUnretained(self).toOpaque()
        slirp_pollfds_poll(
            s, failed ? 1 : 0,
            { idx, opaque in
                let me = Unmanaged<SlirpBackend>.fromOpaque(opaque!).takeUnretainedValue()
                let e = Int32(me.pollFDs[Int(idx)].revents)
                var r: Int32 = 0
                if e & Int32(POLLIN) != 0 { r |= Int32(SLIRP_POLL_IN) }
                if e & Int32(POLLOUT) != 0 { r |= Int32(SLIRP_POLL_OUT) }
                if e & Int32(POLLPRI) != 0 { r |= Int32(SLIRP_POLL_PRI) }
                if e & Int32(POLLERR) != 0 { r |= Int32(SLIRP_POLL_ERR) }
                if e & Int32(POLLHUP) != 0 { r |= Int32(SLIRP_POLL_HUP) }
                return r
            }, me)
        fireTimers()
        return ready
    }

    private func fireTimers() {
        let nowMs = Int64(clock.micros / 1000)
        for t in timers.values where t.expireMs >= 0 && t.expireMs <= nowMs {
            t.expireMs = -1
            stale = true
            t.cb(t.opaque)
        }
    }

    /// Whether an Ethernet frame is an IPv4 TCP segment without SYN and without data (an
    /// ACK, a FIN, an RST): nothing in it makes slirp start reading or writing a socket at
    /// once (data could: a delayed ACK's timer starts at the next fill).
    static func isBareTCPSegment(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 34, b[12] == 0x08, b[13] == 0x00, b[23] == 6 else { return false }
        let ipHeader = Int(b[14] & 0x0F) * 4
        let tcp = 14 + ipHeader
        guard ipHeader >= 20, tcp + 20 <= b.count else { return false }
        let ipLength = Int(b[16]) << 8 | Int(b[17])
        let tcpHeader = Int(b[tcp + 12] >> 4) * 4
        return b[tcp + 13] & 0x02 == 0 && ipLength - ipHeader - tcpHeader == 0
    }

    /// The next board time (µs) slirp needs attention.
    func nextDeadline(now: UInt64) -> UInt64? {
        // what waited for an ARP reply goes at slirp's next poll (if_start): now
        if arpSincePoll { return now }
        var next: UInt64 = now + UInt64(requestedTimeoutMs) * 1000
        for t in timers.values where t.expireMs >= 0 { next = min(next, UInt64(t.expireMs) * 1000) }
        return next
    }
}
