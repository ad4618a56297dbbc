import BoardCore
import FoundationEssentials
import Glibc

/// The world's actors that live on the host, in this process: **visitors**
/// (clients of the device, arriving through port forwards on ephemeral
/// 127.0.0.1 ports, like a browser would) and **services** (servers the device
/// connects to, reached through slirp's guest forwards to Unix sockets).
///
/// They use real, non-blocking host sockets serviced from the board's loop and
/// act in board time, so a lesson's traffic is the same on every run: loopback
/// and Unix sockets deliver within the sending call, and in virtual time the
/// loop settles host input before the clock jumps (`BoardLoop.waitForEvent`).
final class WorldPeers {
    private let world: World
    private unowned(unsafe) let clock: BoardClock
    /// Called with a line for each finished visit.
    var report: ((VisitReport) -> Void)?
    private(set) var reports: [VisitReport] = []

    private var plans: [(visitor: World.Visitor, index: Int, hostPort: UInt16, started: Int)] = []
    private var visits: [Visit] = []
    private var listeners: [(fd: Int32, service: World.Service, path: String)] = []
    /// TLS services' certificates and keys, by listener socket.
    private var identities: [Int32: TLSIdentity] = [:]
    /// Visitors' source ports (as slirp passes them on to the device) to which the
    /// device sent an RST: slirp turns the device's RST into a plain close of the
    /// host socket, so the visitor learns it here.
    private var resetPorts: Set<UInt16> = []
    /// In virtual time, the source port the next visitor binds (deterministic, so
    /// pcaps are byte-identical run to run); the kernel picks one in real time.
    private var serviceConnections: [ServiceConnection] = []
    private var directory: String?

    init(world: World, clock: BoardClock) {
        self.world = world
        self.clock = clock
    }

    // MARK: set-up

    /// Forwards needed for the visitors (ephemeral host ports), and the services' Unix sockets.
    func prepare(slirp: SlirpBackend, deviceAddress: String) throws(NetworkError) {
        // one forward per device port: slirp answers a UDP datagram through the
        // first forward of the device's port, so visitors of one port share it
        var forwards: [String: UInt16] = [:]
        for (i, v) in world.visitors.enumerated() {
            let key = "\(v.udp ? "udp" : "tcp"):\(v.port)"
            if forwards[key] == nil {
                guard let port = freeLoopbackPort(udp: v.udp) else { throw .worldFailed("no free loopback port for visitor \(i + 1)") }
                try slirp.addForward(Forward(udp: v.udp, hostPort: port, devicePort: v.port), deviceAddress: deviceAddress)
                forwards[key] = port
            }
            plans.append((v, i, forwards[key]!, 0))
        }
        guard !world.services.isEmpty else { return }
        let dir = Path.join(FileManager.default.temporaryDirectory.path, "esplua-world-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard mkdir(dir, 0o700) == 0 else { throw .worldFailed("cannot create \(dir)") }
        directory = dir
        for (i, s) in world.services.enumerated() {
            let path = "\(dir)/service-\(i).sock"
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw .worldFailed("cannot create a socket for service \(i + 1)") }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                let bytes = Array(path.utf8.prefix(raw.count - 1))
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            let ok =
                withUnsafePointer(to: &addr) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                } == 0 && listen(fd, 16) == 0
            guard ok else { Glibc.close(fd); throw .worldFailed("cannot listen on \(path)") }
            setNonBlocking(fd)
            listeners.append((fd, s, path))
            if let tls = s.tls {
                do { identities[fd] = try TLSIdentity(tls: tls, name: s.name ?? s.address, directory: dir) } catch {
                    Glibc.close(fd)
                    throw error
                }
            }
            try slirp.addUnixService(path: path, address: s.address, port: s.port)
        }
    }

    func close() {
        for v in visits where v.fd >= 0 { Glibc.close(v.fd) }
        visits.removeAll()
        for c in serviceConnections { Glibc.close(c.fd) }
        serviceConnections.removeAll()
        for l in listeners { Glibc.close(l.fd); unlink(l.path) }
        listeners.removeAll()
        identities.removeAll()
        if let d = directory {
            // generated certificates
            for s in world.services where s.tls != nil && s.tls!.cert == nil {
                let name = s.name ?? s.address
                unlink("\(d)/\(name).cert.pem")
                unlink("\(d)/\(name).key.pem")
            }
            rmdir(d)
        }
        directory = nil
        plans.removeAll()
    }

    deinit { close() }

    // MARK: the loop

    var isEmpty: Bool { plans.isEmpty && listeners.isEmpty }

    func nextDeadline(now: UInt64) -> UInt64? {
        var next: UInt64?
        for p in plans where p.started < p.visitor.count {
            let t = p.visitor.at + UInt64(p.started) * p.visitor.every
            next = min(next ?? t, t)
        }
        for v in visits where v.fd >= 0 && v.deadline != .max { next = min(next ?? v.deadline, v.deadline) }
        return next
    }

    /// Who a watched socket belongs to.
    private enum Owner {
        case visit(Visit)
        case listener(Int32, World.Service)
        case service(ServiceConnection)
    }

    /// The sockets to watch, and their owners (same order).
    private var watchedFDs: [pollfd] = []
    private var watchedOwners: [Owner] = []

    /// Fills `watchedFDs`/`watchedOwners` with the sockets to watch now.
    private func collectWatched() {
        watchedFDs.removeAll(keepingCapacity: true)
        watchedOwners.removeAll(keepingCapacity: true)
        for v in visits where v.fd >= 0 && !v.parked {
            var ev = Int16(POLLIN)
            if v.connecting || v.sentCount < v.toSend.count { ev |= Int16(POLLOUT) }
            watchedFDs.append(pollfd(fd: v.fd, events: ev, revents: 0))
            watchedOwners.append(.visit(v))
        }
        for l in listeners {
            watchedFDs.append(pollfd(fd: l.fd, events: Int16(POLLIN), revents: 0))
            watchedOwners.append(.listener(l.fd, l.service))
        }
        for c in serviceConnections where c.fd >= 0 {
            var ev = Int16(POLLIN)
            if !c.pending.isEmpty { ev |= Int16(POLLOUT) }
            watchedFDs.append(pollfd(fd: c.fd, events: ev, revents: 0))
            watchedOwners.append(.service(c))
        }
    }

    /// Appends the sockets to watch while the loop sleeps (they only wake it: the
    /// next `service` does their I/O).
    func addDescriptors(to fds: inout [pollfd]) {
        collectWatched()
        fds.append(contentsOf: watchedFDs)
    }

    /// Board time of the next visit to start (`.max` when none is left).
    private var nextStart: UInt64 = 0
    private var nextTimeout: UInt64 = 0

    /// Set when slirp may have written to a peer's socket (it only talks to them
    /// from inside slirp's calls): the peers' sockets are polled only then.
    private var dirty = true
    func kick() { dirty = true }

    /// The device sent `frame` (Ethernet): remembers an RST to a visitor's port.
    func deviceSent(_ frame: UnsafeRawBufferPointer) {
        guard !plans.isEmpty, frame.count >= 54, frame[12] == 0x08, frame[13] == 0x00, frame[23] == 6 else { return }
        // to the host, 10.0.2.2, where the visitors are
        guard frame[30] == 10, frame[31] == 0, frame[32] == 2, frame[33] == 2 else { return }
        let tcp = 14 + Int(frame[14] & 0x0f) * 4
        guard frame.count >= tcp + 14, frame[tcp + 13] & 0x04 != 0 else { return }
        resetPorts.insert(UInt16(frame[tcp + 2]) << 8 | UInt16(frame[tcp + 3]))
    }

    func service(now: UInt64) {
        if !dirty && now < nextStart && now < nextTimeout { return }
        dirty = false
        nextStart = .max
        for i in plans.indices {
            while plans[i].started < plans[i].visitor.count,
                plans[i].visitor.at + UInt64(plans[i].started) * plans[i].visitor.every <= now
            {
                plans[i].started += 1
                start(plans[i].visitor, index: plans[i].index, number: plans[i].started, hostPort: plans[i].hostPort, now: now)
            }
            if plans[i].started < plans[i].visitor.count {
                nextStart = min(nextStart, plans[i].visitor.at + UInt64(plans[i].started) * plans[i].visitor.every)
            }
        }
        for v in visits where v.fd >= 0 && now >= v.deadline {
            if v.visitor.stay != nil && !v.connecting {
                readAll(v, now: now)  // what arrived until now, then the visitor closes
                if v.fd >= 0 { finish(v, .visitorClosed, now: now) }
                continue
            }
            finish(v, v.connecting ? .refused : (v.visitor.udp ? .noReply : .timedOut), now: now)
        }
        nextTimeout = visits.lazy.filter { $0.fd >= 0 }.map(\.deadline).min() ?? .max
        // a few rounds: a reply may make the next step possible at once
        for _ in 0..<4 where step() {}
        visits.removeAll { $0.fd < 0 }
        serviceConnections.removeAll { $0.fd < 0 }
    }

    /// One round of non-blocking I/O; true if anything was ready.
    private func step() -> Bool {
        collectWatched()
        guard !watchedFDs.isEmpty else { return false }
        let ready = watchedFDs.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), 0) }
        guard ready > 0 else { return false }
        let fds = watchedFDs, owners = watchedOwners
        let now = clock.micros
        for i in fds.indices where fds[i].revents != 0 {
            switch owners[i] {
            case .visit(let v): visitIO(v, fds[i].revents, now: now)
            case .listener(let fd, let service): acceptService(fd, service)
            case .service(let c): serviceIO(c, fds[i].revents)
            }
        }
        return true
    }

    // MARK: visitors

    private final class Visit {
        let visitor: World.Visitor
        let index: Int
        let number: Int
        let startedAt: UInt64
        var fd: Int32
        var connecting: Bool
        var toSend: [UInt8]
        var sentCount = 0
        var received: [UInt8] = []
        var deadline: UInt64
        /// The socket's own port (the source port the device sees).
        var localPort: UInt16 = 0
        /// A hoarder whose connection the device closed: kept open, no longer watched.
        var parked = false

        init(visitor: World.Visitor, index: Int, number: Int, fd: Int32, now: UInt64) {
            self.visitor = visitor
            self.index = index
            self.number = number
            self.fd = fd
            startedAt = now
            connecting = !visitor.udp
            toSend = visitor.send
            if let stay = visitor.stay {
                deadline = now + stay
            } else {
                deadline = visitor.close == .never ? .max : now + visitor.timeout
            }
        }
    }

    private func start(_ v: World.Visitor, index: Int, number: Int, hostPort: UInt16, now: UInt64) {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = hostPort.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var fd: Int32 = -1, r: Int32 = -1
        // in virtual time from a fixed sequence of source ports (skipping any in use)
        for _ in 0..<64 {
            fd = socket(AF_INET, Int32(v.udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return }
            setNonBlocking(fd)
            if clock.mode == .virtual && !PeerPorts.bind(fd) { Glibc.close(fd); fd = -1; continue }
            r = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if r != 0 && (errno == EADDRNOTAVAIL || errno == EADDRINUSE) && clock.mode == .virtual { Glibc.close(fd); fd = -1; continue }
            break
        }
        guard fd >= 0 else { return }
        let visit = Visit(visitor: v, index: index, number: number, fd: fd, now: now)
        var local = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        visit.localPort = UInt16(bigEndian: local.sin_port)
        resetPorts.remove(visit.localPort)
        if r != 0 && errno != EINPROGRESS {
            finish(visit, .refused, now: now)
            return
        }
        if r == 0 { visit.connecting = false }
        visits.append(visit)
        if !visit.connecting { flushOutput(visit, now: now) }
    }

    private func visitIO(_ v: Visit, _ revents: Int16, now: UInt64) {
        guard v.fd >= 0 else { return }
        if v.connecting {
            guard revents & Int16(POLLOUT | POLLERR | POLLHUP) != 0 else { return }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(v.fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err != 0 { finish(v, .refused, now: now); return }
            v.connecting = false
        }
        flushOutput(v, now: now)
        guard v.fd >= 0 else { return }
        if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { readAll(v, now: now) }
    }

    private func flushOutput(_ v: Visit, now: UInt64) {
        while v.sentCount < v.toSend.count {
            let n = v.toSend.withUnsafeBytes { send(v.fd, $0.baseAddress! + v.sentCount, v.toSend.count - v.sentCount, Int32(MSG_NOSIGNAL)) }
            if n > 0 { v.sentCount += n; if v.visitor.udp { break } } else { break }
        }
    }

    private func readAll(_ v: Visit, now: UInt64) {
        var buf = [UInt8](repeating: 0, count: 4096)
        while v.fd >= 0 {
            let n = buf.withUnsafeMutableBytes { recv(v.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                v.received.append(contentsOf: buf[0..<n])
                if v.visitor.udp { finish(v, .replied, now: now); return }
                continue
            }
            if n == 0 { finish(v, resetPorts.contains(v.localPort) ? .deviceReset : .deviceClosed, now: now); return }
            if errno == ECONNRESET { finish(v, .deviceReset, now: now); return }
            break  // EAGAIN: nothing more now
        }
        guard v.fd >= 0, !v.received.isEmpty, v.visitor.stay == nil else { return }
        switch v.visitor.close {
        case .afterReply: finish(v, .visitorClosed, now: now)
        case .reset: finish(v, .visitorReset, now: now, reset: true)
        case .afterDevice, .never: break
        }
    }

    private func finish(_ v: Visit, _ ending: VisitReport.Ending, now: UInt64, reset: Bool = false) {
        if v.fd >= 0 {
            if ending == .deviceClosed && v.visitor.close == .never {
                // a hoarder keeps even a closed connection open (the device sees no FIN)
                v.parked = true
                return
            }
            if reset {
                var l = linger(l_onoff: 1, l_linger: 0)
                setsockopt(v.fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
            }
            Glibc.close(v.fd)
            v.fd = -1
        }
        let r = VisitReport(
            visitor: v.index, number: v.number, udp: v.visitor.udp, port: v.visitor.port,
            startedAt: v.startedAt, endedAt: now, sent: v.sentCount, received: v.received, ending: ending)
        reports.append(r)
        report?(r)
    }

    // MARK: services

    private final class ServiceConnection {
        let service: World.Service
        var fd: Int32
        var pending: [UInt8] = []
        var replied = false
        var closeWhenFlushed = false
        /// A TLS service's engine for this connection.
        var tls: TLSSession?
        /// The service is done (its FIN sent): input is read and dropped until the device closes.
        var draining = false
        init(service: World.Service, fd: Int32) { self.service = service; self.fd = fd }

        /// What the service answers to text from the device: an echo, or its reply once.
        func answer(_ bytes: [UInt8]) -> [UInt8] {
            if service.reply == "echo" { return bytes }
            guard !replied else { return [] }
            replied = true
            closeWhenFlushed = service.closeAfterReply
            return Array(service.reply.utf8)
        }
    }

    private func acceptService(_ listener: Int32, _ s: World.Service) {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            setNonBlocking(fd)
            let c = ServiceConnection(service: s, fd: fd)
            if let identity = identities[listener] {
                guard let session = TLSSession(identity: identity) else { Glibc.close(fd); continue }
                c.tls = session
            }
            serviceConnections.append(c)
        }
    }

    private func serviceIO(_ c: ServiceConnection, _ revents: Int16) {
        guard c.fd >= 0 else { return }
        if let tls = c.tls {
            if !tls.pump(fd: c.fd, pending: &c.pending, close: { c.closeWhenFlushed }, answer: c.answer) {
                // the TLS session is over: FIN to the device, and what it still sends (an
                // alert, a record) is read and dropped until it closes, so that slirp never
                // writes to a closed socket (SIGPIPE)
                shutdown(c.fd, Int32(SHUT_WR))
                c.tls = nil
                c.draining = true
            }
            return
        }
        if c.draining {
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buf.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n > 0 { continue }
                if n == 0 || errno != EAGAIN { Glibc.close(c.fd); c.fd = -1 }
                return
            }
        }
        if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            var buf = [UInt8](repeating: 0, count: 4096)
            while c.fd >= 0 {
                let n = buf.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n > 0 {
                    c.pending.append(contentsOf: c.answer(Array(buf[0..<n])))
                    continue
                }
                if n == 0 || errno != EAGAIN { Glibc.close(c.fd); c.fd = -1; return }
                break
            }
        }
        while !c.pending.isEmpty {
            let n = c.pending.withUnsafeBytes { send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }
            c.pending.removeFirst(n)
        }
        if c.pending.isEmpty && c.closeWhenFlushed { Glibc.close(c.fd); c.fd = -1 }
    }
}

// MARK: socket helpers

func setNonBlocking(_ fd: Int32) {
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
}

/// Local ports for the peers that live in this process (world visitors, a
/// spec's clients): bound in sequence rather than left to the kernel, so the
/// board sees the same source ports — and writes the same pcap — on every run.
public enum PeerPorts {
    /// Below Linux's ephemeral range (32768-60999), so the kernel's own picks never collide.
    public static let first: UInt16 = 24000
    public static let last: UInt16 = 31999
    nonisolated(unsafe) private static var next = first

    /// Binds `fd` to 127.0.0.1 and the next free port of the sequence; false if
    /// none of a few is free (the kernel then picks one at connect).
    @discardableResult
    public static func bind(_ fd: Int32) -> Bool {
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        for _ in 0..<16 {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            addr.sin_port = next.bigEndian
            next = next == last ? first : next + 1
            let ok = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if ok == 0 { return true }
        }
        return false
    }
}

/// A port on 127.0.0.1 nothing listens on now (bound, read back, released).
public func freeLoopbackPort(udp: Bool = false) -> UInt16? {
    let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { Glibc.close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    return ok ? UInt16(bigEndian: addr.sin_port) : nil
}

/// One visit, as the visitor saw it.
public struct VisitReport: Sendable, Equatable, CustomStringConvertible {
    public enum Ending: String, Sendable {
        case deviceClosed = "the device closed", deviceReset = "the device reset the connection",
            visitorClosed = "the visitor closed", visitorReset = "the visitor reset",
            replied = "got a reply", refused = "refused", timedOut = "timed out", noReply = "no reply"
    }
    public let visitor: Int
    public let number: Int
    public let udp: Bool
    public let port: UInt16
    public let startedAt: UInt64
    public let endedAt: UInt64
    public let sent: Int
    public let received: [UInt8]
    public let ending: Ending

    public var description: String {
        let ms = { (t: UInt64) in Format.fixed(Double(t) / 1_000_000, decimals: 3) }
        return
            "visitor \(visitor + 1) visit \(number) (\(udp ? "udp" : "tcp") :\(port)) at \(ms(startedAt)) s: sent \(sent) B, received \(received.count) B, \(ending.rawValue) at \(ms(endedAt)) s"
            + (received.isEmpty ? "" : "; received \(VisitReport.quoted(received))")
    }

    /// What a visitor received, as a quoted string with escapes, cut after 200 bytes.
    static func quoted(_ bytes: [UInt8]) -> String {
        var out = "\""
        for b in bytes.prefix(200) {
            switch b {
            case 0x0d: out += "\\r"
            case 0x0a: out += "\\n"
            case 0x09: out += "\\t"
            case 0x22: out += "\\\""
            case 0x5c: out += "\\\\"
            case 0x20..<0x7f: out.unicodeScalars.append(Unicode.Scalar(b))
            default: out += "\\x" + Format.hex(UInt32(b), digits: 2)
            }
        }
        return out + "\"" + (bytes.count > 200 ? " …" : "")
    }
}
