import ArduinoLua
import BoardCore
import BoardNet
import FoundationEssentials
import Glibc

/// One board driven by a spec: a `Device` whose serial output, resets and frames
/// are recorded, with peers (TCP and UDP clients of the sketch) that live in this
/// process and act in board time, and the wait the spec's test is suspended in.
///
/// It is one of the board loop's event sources: on every background pass it
/// checks the wait and, once it holds or times out, resumes the test (`resume`),
/// which runs until its next wait. Its peers' sockets are host I/O of the loop,
/// so in virtual time their traffic settles before the clock jumps.
/// Single-threaded (the board's thread, which is the spec's too).
final class SpecBoard: EventSource, HostIO {
    let device: Device
    private(set) var serial: [UInt8] = []
    /// Where the next `waitSerial` starts looking.
    private var serialCursor = 0
    private(set) var resets: [(reason: String, at: UInt64, crash: String?)] = []
    private(set) var segments: [Segment] = []
    private var subscriptions: [BoardEvents.Subscription] = []
    private var pcap: PcapWriter?
    private(set) var peers: [Peer] = []
    private var forwards: [String: UInt16] = [:]
    /// The spec line of the wait in progress (for failures the board ends with).
    var waitWhere = ""
    private(set) var wait: Wait?
    /// The outcome of the last wait: success with a value, or a failure message.
    var waitOutcome: (ok: Bool, value: Value) = (true, .none)
    /// Resumes the suspended test (set by the session).
    var resume: (() -> Void)?
    /// Board time after a wait's deadline by which a board that ran no background pass is given up.
    static let grace: UInt64 = 10_000_000
    var started = false
    /// Boots recorded when the current wait began.
    private(set) var resetsAtWait = 0
    let raw = RawPeer()
    var script: TCPScript?

    enum Value {
        case none
        case bytes([UInt8])
        case bool(Bool)
        case text(String)
    }

    enum Wait {
        case until(UInt64)
        case serial(needle: [UInt8], text: String, timeout: UInt64, deadline: UInt64)
        case receive(peer: Int, what: Receive, timeout: UInt64, deadline: UInt64)
        case closed(peer: Int, timeout: UInt64, deadline: UInt64)
        case script(deadline: UInt64)

        var deadline: UInt64 {
            switch self {
            case .until(let t): return t
            case .serial(_, _, _, let d), .receive(_, _, _, let d), .closed(_, _, let d), .script(let d): return d
            }
        }
    }

    enum Receive {
        case count(Int)
        case text([UInt8])
        case all
        case datagram
    }

    init(options: DeviceOptions, pcapPath: String?) throws {
        final class Sink: @unchecked Sendable { var target: SpecBoard? }
        let sink = Sink()
        device = try Device(options: options) { bytes in sink.target?.serial.append(contentsOf: bytes) }
        sink.target = self
        device.log = { _ in }
        let events = device.board.events
        subscriptions.append(
            events.subscribe([.reset, .crash]) { [unowned self] t, event in
                switch event {
                case .reset(let reason):
                    self.resets.append((reason.description, t, nil))
                    // a board in a reset loop runs no background pass: a wait
                    // whose time is up ends the run at this boot
                    if let w = self.wait, t >= w.deadline { self.device.board.loop.endAt = t }
                case .crash(let what):
                    // the crash comes before the reboot it causes
                    self.pendingCrash = what
                default: break
                }
            })
        subscriptions.append(
            events.subscribe(.frame) { [unowned self] t, event in
                guard case .frame(let outbound, let bytes) = event, let s = Segment(frame: bytes, outbound: outbound, time: t) else { return }
                self.segments.append(s)
            })
        if let pcapPath { pcap = try PcapWriter(path: pcapPath, events: events) }
        device.board.loop.addSource(self)
        device.board.loop.addHostIO(self)
        device.network.linkPeer = { [unowned self] frame in self.raw.take(frame, board: self) }
    }

    private var pendingCrash: String? {
        didSet {
            // attach the crash to the reboot that follows
            if let c = pendingCrash { crashes.append(c) }
        }
    }
    private(set) var crashes: [String] = []

    /// Reboots after the first boot, each with the crash that caused it (if any).
    var reboots: [(reason: String, at: UInt64, crash: String?)] {
        var out: [(String, UInt64, String?)] = []
        var crashIndex = 0
        for r in resets.dropFirst() {
            var crash: String?
            if r.reason != "Software/System restart", crashIndex < crashes.count {
                crash = crashes[crashIndex]
                crashIndex += 1
            }
            out.append((r.reason, r.at, crash))
        }
        return out
    }

    func shutdown() {
        for p in peers { p.close() }
        for s in subscriptions { s.cancel() }
        pcap?.close()
        device.network.linkPeer = nil
        device.board.loop.removeSource(self)
        device.board.loop.removeHostIO(self)
        device.shutdown()
    }

    var now: UInt64 { device.board.clock.micros }

    /// Starts waiting: the test is suspended until `service` resolves it.
    func begin(_ w: Wait, at spec: String) {
        wait = w
        resetsAtWait = resets.count
        waitWhere = spec
        waitOutcome = (true, .none)
        let end = w.deadline > UInt64.max - SpecBoard.grace ? UInt64.max : w.deadline + SpecBoard.grace
        device.board.loop.endAt = end
    }

    // MARK: peers

    /// A forward from a free loopback port to the device's `port`, made once per port.
    private func forward(_ port: UInt16, udp: Bool) throws -> UInt16 {
        let key = "\(udp ? "udp" : "tcp"):\(port)"
        if let p = forwards[key] { return p }
        guard let host = freeLoopbackPort(udp: udp) else { throw SpecError("no free loopback port for a peer") }
        do { try device.network.addForward(Forward(udp: udp, hostPort: host, devicePort: port)) } catch {
            throw SpecError("cannot reach the board's port \(port): \(error)")
        }
        forwards[key] = host
        return host
    }

    /// A TCP (or UDP) peer connected to the board's `port` through slirp; returns its index.
    func connect(port: UInt16, udp: Bool) throws -> Int {
        let host = try forward(port, udp: udp)
        let peer = try Peer(port: port, hostPort: host, udp: udp)
        peers.append(peer)
        return peers.count - 1
    }

    // MARK: the loop

    func service(now: UInt64) {
        guard let w = wait else { return }
        guard let outcome = check(w, now: now) else { return }
        wait = nil
        waitOutcome = outcome
        resume?()
    }

    func nextDeadline(now: UInt64) -> UInt64? {
        guard let w = wait else { return nil }
        if case .script = w, let t = script?.nextInjection { return max(t, now) }
        return max(w.deadline, now)
    }

    /// Peers whose sockets can still say something (an ended one would poll readable forever).
    private var watched: [Peer] = []

    func addDescriptors(to fds: inout [pollfd]) {
        watched = peers.filter { $0.fd >= 0 && ($0.ended == nil || !$0.output.isEmpty) }
        for p in watched {
            var ev = Int16(POLLIN)
            if !p.output.isEmpty { ev |= Int16(POLLOUT) }
            fds.append(pollfd(fd: p.fd, events: ev, revents: 0))
        }
    }

    func handle(_ fds: UnsafeMutableBufferPointer<pollfd>, failed: Bool) -> Bool {
        var ready = false
        for (i, p) in watched.enumerated() where i < fds.count && fds[i].revents != 0 {
            if p.pump() { ready = true }
        }
        return ready
    }

    /// The wait's outcome if it is over: nil while it still holds.
    private func check(_ w: Wait, now: UInt64) -> (ok: Bool, value: Value)? {
        switch w {
        case .until(let t):
            return now >= t ? (true, .none) : nil
        case .serial(let needle, let text, let timeout, let deadline):
            if let r = find(needle, in: serial, from: serialCursor) {
                // the whole line that holds it
                var start = r.lowerBound
                while start > 0 && serial[start - 1] != 0x0A { start -= 1 }
                var end = r.upperBound
                while end < serial.count && serial[end] != 0x0A { end += 1 }
                serialCursor = min(end + 1, serial.count)
                let line = String(decoding: serial[start..<end], as: UTF8.self).replacing("\r", with: "")
                return (true, .text(line))
            }
            guard now >= deadline else { return nil }
            return (
                false,
                .text(
                    "no \(Lua.quote(text)) on Serial within \(Time.text(timeout)) (board time \(Time.text(now)))\(resetNote()); last lines:\n\(lastLines(5))"
                )
            )
        case .receive(let index, let what, let timeout, let deadline):
            let p = peers[index]
            switch what {
            case .datagram:
                if !p.datagrams.isEmpty { return (true, .bytes(p.datagrams.removeFirst())) }
                if now >= deadline { return (true, .none) }  // UDP: nothing came (nil)
                return nil
            case .count(let n):
                if p.input.count >= n { return (true, .bytes(p.take(n))) }
            case .text(let needle):
                if let r = find(needle, in: p.input, from: 0) { return (true, .bytes(p.take(r.upperBound))) }
            case .all:
                if p.ended != nil { return (true, .bytes(p.take(p.input.count))) }
            }
            if p.ended != nil { return (true, .bytes(p.take(p.input.count))) }
            guard now >= deadline else { return nil }
            let wanted: String
            switch what {
            case .count(let n): wanted = "\(n) bytes"
            case .text(let t): wanted = Lua.quote(String(decoding: t, as: UTF8.self))
            case .all, .datagram: wanted = "the board to close the connection"
            }
            let got = String(decoding: p.input.prefix(200), as: UTF8.self)
            return (
                false,
                .text("waited \(Time.text(timeout)) for \(wanted) on port \(p.port), got \(p.input.count) bytes: \(Lua.quote(got))\(resetNote())")
            )
        case .closed(let index, _, let deadline):
            let p = peers[index]
            if let how = p.ended { return (true, .text(how)) }
            return now >= deadline ? (true, .bool(false)) : nil
        case .script(let deadline):
            guard let s = script else { return (true, .none) }
            if let failure = s.step(board: self, now: now) { script = nil; return (false, .text(failure)) }
            if s.done { script = nil; return (true, .none) }
            return now >= deadline ? (false, .text("the script did not finish within its time")) : nil
        }
    }

    /// "; meanwhile the board reset 2 times (the last: Software Watchdog)", or "".
    func resetNote() -> String {
        let n = resets.count - resetsAtWait
        guard n > 0, let last = resets.last else { return "" }
        return "; meanwhile the board reset \(n == 1 ? "once" : "\(n) times") (the last: \(last.reason))"
    }

    func lastLines(_ n: Int) -> String {
        let text = String(decoding: serial, as: UTF8.self).replacing("\r", with: "")
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if lines.isEmpty { return "  (nothing)" }
        return lines.suffix(n).map { "  | " + $0 }.joined(separator: "\n")
    }
}

/// A test's client of the board: a non-blocking host socket to a slirp forward.
final class Peer {
    let port: UInt16
    let udp: Bool
    private(set) var fd: Int32
    var input: [UInt8] = []
    var output: [UInt8] = []
    var datagrams: [[UInt8]] = []
    /// How the board ended the connection: "FIN" or "RST".
    var ended: String?

    init(port: UInt16, hostPort: UInt16, udp: Bool) throws {
        self.port = port
        self.udp = udp
        fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SpecError("cannot create a socket") }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        PeerPorts.bind(fd)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = hostPort.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 && errno != EINPROGRESS {
            Glibc.close(fd)
            fd = -1
            throw SpecError("cannot connect to the board's port \(port)")
        }
    }

    /// Sends `bytes` (queued while the socket is busy).
    func send(_ bytes: [UInt8]) {
        if udp {
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            return
        }
        output.append(contentsOf: bytes)
        flush()
    }

    private func flush() {
        while !output.isEmpty, fd >= 0 {
            let n = output.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            output.removeFirst(n)
        }
    }

    /// Reads what is there; true if anything changed.
    func pump() -> Bool {
        guard fd >= 0 else { return false }
        flush()
        var changed = false
        var buf = [UInt8](repeating: 0, count: 4096)
        while ended == nil {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                if udp { datagrams.append(Array(buf[0..<n])) } else { input.append(contentsOf: buf[0..<n]) }
                changed = true
                continue
            }
            if n == 0 && !udp { ended = "FIN"; changed = true; break }
            if n < 0 && (errno == ECONNRESET || errno == EPIPE) && !udp { ended = "RST"; changed = true; break }
            break
        }
        return changed
    }

    func take(_ n: Int) -> [UInt8] {
        let out = Array(input.prefix(n))
        input.removeFirst(out.count)
        return out
    }

    /// FIN: no more data from the peer (it still reads the board's answer).
    func closeWrite() { if fd >= 0 { shutdown(fd, Int32(SHUT_WR)) } }

    /// RST: close with a zero linger.
    func reset() {
        guard fd >= 0 else { return }
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close()
        if ended == nil { ended = "reset by the test" }
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

/// A failure of the spec's own making (a bad argument, no port), as one sentence.
struct SpecError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Range<Int>? {
    guard !needle.isEmpty else { return from..<from }
    guard hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
    for i in from...(hay.count - needle.count) where hay[i] == needle[0] {
        if hay[i..<(i + needle.count)].elementsEqual(needle) { return i..<(i + needle.count) }
    }
    return nil
}

enum Lua {
    /// A string as Lua's `%q` would show it, shortened.
    static func quote(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars.prefix(200) {
            switch ch {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + (s.unicodeScalars.count > 200 ? "…\"" : "\"")
    }
}

enum Time {
    /// Board time for messages: "10 s", "1.5 s", "250 ms".
    static func text(_ us: UInt64) -> String {
        if us % 1_000_000 == 0 { return "\(us / 1_000_000) s" }
        if us < 1_000_000 && us % 1000 == 0 { return "\(us / 1000) ms" }
        return Format.fixed(Double(us) / 1_000_000, decimals: 3) + " s"
    }
}
