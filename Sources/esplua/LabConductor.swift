import BoardCore
import BoardNet
import Glibc

/// The lockstep conductor of a lab run in virtual time (DESIGN.md 14): it grants
/// every board time in windows no longer than the smallest link latency, and it
/// is the LAN's switch (`LockstepSwitch`) — each frame a board sends carries its
/// board time, and the conductor hands it to its destination with its delivery
/// time. Conservative lockstep: a frame sent in the window
/// `[start, start + window)` is delivered at `start + window` or later, so it
/// reaches its board in a later window and no board ever receives a frame from
/// its past. Idle stretches are jumped for all boards at once: every board
/// reports its next deadline when it stops, and the next window starts at the
/// earliest deadline of any board, the gateway or a frame in flight.
///
/// The boards are processes (lwIP is process-global); the channel is a
/// `SOCK_SEQPACKET` socket pair per board (`LockstepMessage`). A board's serial
/// lines are printed at the end of each window, boards in file order, so the
/// lab's whole output is the same on every run, not only each board's.
final class LabConductor {
    struct Node {
        var name: String
        var pid: pid_t
        var socket: Int32
        var out: Int32, err: Int32
        /// Running a grant (its DONE not yet received).
        var running = true
        var alive = true
        var next: UInt64 = 0
        /// Frames the board sent in this window, routed when the window ends
        /// (boards in file order, so the switch learns in the same order every run).
        var sent: [(sentAt: UInt64, frame: [UInt8])] = []
        var partial: [Int32: [UInt8]] = [:]
        var lines: [(toStderr: Bool, text: String)] = []
        var status: Int32?
    }

    /// The latency of the ideal wire (µs), and so the window: the smallest
    /// latency of any link (a link shaper's must stay at or above it).
    static let wireLatencyMicros: UInt64 = 50

    var nodes: [Node]
    let gateway: LockstepGateway
    /// The LAN: boards are nodes 0..<nodes.count, the gateway is `nodes.count`.
    /// Its `schedule` is where a frame's delivery time is computed (the link shaper's place).
    var lan: LockstepSwitch
    /// The longest window (µs): the smallest latency of any link.
    var window: UInt64 { lan.window }
    private let width: Int
    /// Windows run, and grants sent to boards (`--netstat` prints them).
    private(set) var windows = 0, grants = 0
    /// The start of the last window (board time, µs).
    private(set) var lastWindow: UInt64 = 0
    private var buffer = [UInt8](repeating: 0, count: LockstepMessage.maxSize)

    init(nodes: [Node], gateway: LockstepGateway, window: UInt64 = LabConductor.wireLatencyMicros) {
        self.nodes = nodes
        self.gateway = gateway
        lan = LockstepSwitch(nodes: nodes.count + 1, window: window)
        width = nodes.map(\.name.count).max() ?? 0
    }

    /// Runs the lab to its end (every board's process ended; their wait statuses
    /// are in `nodes`); `interrupted` is polled (Ctrl-C: every board is sent SIGTERM).
    func run(interrupted: () -> Bool) {
        var stopping = false
        while nodes.contains(where: \.alive) {
            // every board granted time runs until it reports DONE (or ends)
            while nodes.contains(where: { $0.alive && $0.running }) {
                if interrupted() && !stopping {
                    stopping = true
                    for n in nodes where n.alive { kill(n.pid, SIGTERM) }
                }
                var fds: [pollfd] = []
                var owners: [(Int, Int32)] = []
                for (i, n) in nodes.enumerated() {
                    if n.alive && n.running {
                        fds.append(pollfd(fd: n.socket, events: Int16(POLLIN), revents: 0))
                        owners.append((i, n.socket))
                    }
                    for fd in [n.out, n.err] where fd >= 0 {
                        fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
                        owners.append((i, fd))
                    }
                }
                _ = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 100) }
                for (r, (i, fd)) in zip(fds, owners) where r.revents != 0 {
                    if fd == nodes[i].socket { receive(i) } else { readOutput(i, fd) }
                }
            }
            for i in nodes.indices {
                for f in nodes[i].sent { lan.route(f.frame, from: i, sentAt: f.sentAt) }
                nodes[i].sent.removeAll()
            }
            // what each board wrote before it reported is in its pipes now
            for i in nodes.indices {
                for fd in [nodes[i].out, nodes[i].err] where fd >= 0 { readOutput(i, fd, drain: true) }
            }
            emitLines()
            guard nodes.contains(where: \.alive) else { break }
            // the next window starts at the earliest event of the lab
            var start = gateway.nextDeadline()
            for (i, n) in nodes.enumerated() where n.alive { start = min(start, n.next, lan.earliest(for: i) ?? .max) }
            start = min(start, lan.earliest(for: nodes.count) ?? .max)
            let until = start + window
            windows += 1
            lastWindow = start
            runGateway(until: until)
            for i in nodes.indices where nodes[i].alive {
                guard nodes[i].next < until || (lan.earliest(for: i) ?? .max) < until else { continue }
                var ok = true
                for q in lan.take(for: i) where ok {
                    ok = q.frame.withUnsafeBytes { LockstepMessage.send(nodes[i].socket, LockstepMessage.encode(LockstepMessage.frame, q.at, frame: $0)) }
                }
                if ok && LockstepMessage.send(nodes[i].socket, LockstepMessage.encode(LockstepMessage.grant, until)) {
                    nodes[i].running = true
                    grants += 1
                } else {
                    ended(i)
                }
            }
        }
        // the boards' last words (--netstat, errors), then their exit statuses
        for i in nodes.indices {
            for fd in [nodes[i].out, nodes[i].err] where fd >= 0 {
                while nodes[i].out == fd || nodes[i].err == fd { readOutput(i, fd) }
            }
            var st: Int32 = 0
            waitpid(nodes[i].pid, &st, 0)
            nodes[i].status = st
        }
        emitLines()
    }

    /// The gateway's events before `until`: frames reaching it, slirp's timers.
    private func runGateway(until: UInt64) {
        var frames = lan.take(for: nodes.count, before: until)[...]
        var out: [(sentAt: UInt64, frame: [UInt8])] = []
        while true {
            let timer = gateway.nextDeadline()
            if let f = frames.first, f.at <= timer {
                frames.removeFirst()
                out += gateway.receive(f.frame, at: f.at)
            } else if timer < until {
                out += gateway.run(until: timer)
            } else {
                break
            }
        }
        for o in out { lan.route(o.frame, from: nodes.count, sentAt: o.sentAt) }
    }

    /// Reads what board `i` sent on its socket: frames, then DONE.
    private func receive(_ i: Int) {
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(nodes[i].socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
            guard n >= 9 else {
                ended(i)
                return
            }
            let (kind, t) = buffer.withUnsafeBytes { ($0[0], LockstepMessage.time($0, at: 1)) }
            if kind == LockstepMessage.frame {
                nodes[i].sent.append((t, Array(buffer[9..<n])))
            } else if kind == LockstepMessage.done, n >= 17 {
                nodes[i].next = max(buffer.withUnsafeBytes { LockstepMessage.time($0, at: 9) }, t)
                nodes[i].running = false
                return
            }
        }
    }

    /// Board `i` ended (its run is over, it crashed, or it was stopped).
    private func ended(_ i: Int) {
        nodes[i].alive = false
        nodes[i].running = false
        lan.remove(i)
        close(nodes[i].socket)
        nodes[i].socket = -1
    }

    /// Reads a board's output pipe (once, or until it is empty with `drain`);
    /// complete lines wait in `lines` for the end of the window.
    private func readOutput(_ i: Int, _ fd: Int32, drain: Bool = false) {
        let toStderr = fd == nodes[i].err
        repeat {
            var buf = [UInt8](repeating: 0, count: 4096)
            if drain {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 0) > 0 else { return }
            }
            let n = read(fd, &buf, buf.count)
            if n <= 0 {
                close(fd)
                if toStderr { nodes[i].err = -1 } else { nodes[i].out = -1 }
                if let rest = nodes[i].partial[fd], !rest.isEmpty {
                    nodes[i].lines.append((toStderr, String(decoding: rest, as: UTF8.self)))
                }
                nodes[i].partial[fd] = nil
                return
            }
            var pending = nodes[i].partial[fd, default: []] + buf[0..<n]
            while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(pending[..<nl])
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                nodes[i].lines.append((toStderr, String(decoding: line, as: UTF8.self)))
                pending.removeSubrange(...nl)
            }
            nodes[i].partial[fd] = pending
        } while drain
    }

    private func emitLines() {
        for i in nodes.indices where !nodes[i].lines.isEmpty {
            let name = nodes[i].name + String(repeating: " ", count: width - nodes[i].name.count)
            for l in nodes[i].lines { emitLine(l.toStderr, "\(name) | \(l.text)\n") }
            nodes[i].lines.removeAll()
        }
    }
}

/// Writes a lab's line to stdout or stderr, whole.
func emitLine(_ toStderr: Bool, _ text: String) {
    var text = text
    _ = text.withUTF8 { writeAll(toStderr ? 2 : 1, UnsafeRawBufferPointer($0)) }
}
