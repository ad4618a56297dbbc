import BoardCore
import BoardNet
import BoardUI
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
/// It also carries the lab's soft-AP cells: a board's `WiFi.softAP` opens a cell
/// (its own `LockstepSwitch` segment: the soft-AP board's AP interface and the
/// stations that joined it, off the LAN), the boards are told the open cells
/// (their scans list them), and a station's JOIN moves it from the LAN into a cell.
///
/// The boards are processes (lwIP is process-global); the channel is a
/// `SOCK_SEQPACKET` socket pair per board (`LockstepMessage`). A board's serial
/// lines are printed at the end of each window, boards in file order, so the
/// lab's whole output is the same on every run, not only each board's.
///
/// With the lab's page (`page`), the page's time controls (`LabPace`) decide when
/// the next window is granted, never what is in it: paused, no board gets a new
/// window; a step runs the next windows or a stretch of board time; a speed paces
/// the grants against the host's clock. A board's command from the page (serial
/// input, reset, a control) goes to the board with the next window, to be carried
/// out at that window's start.
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
        /// The end of the board's latest grant.
        var granted: UInt64 = 0
        /// What the board sent in this window (frames of its station and of its
        /// soft-AP, its cell opening or closing, its station joining a cell), handled
        /// when the window ends (boards in file order, so the switches learn in the
        /// same order every run).
        var sent: [Sent] = []
        /// The version of the lab's cells this board was last sent, and its station count.
        var cellsSent = 0, stationsSent = 0
        var partial: [Int32: [UInt8]] = [:]
        var lines: [(toStderr: Bool, text: String)] = []
        var status: Int32?
    }

    /// The latency of the ideal wire (µs), and so the window: the smallest
    /// latency of any link (a link shaper's must stay at or above it).
    static let wireLatencyMicros: UInt64 = 50

    enum Sent {
        case frame(sentAt: UInt64, frame: [UInt8])
        case accessPoint(sentAt: UInt64, frame: [UInt8])
        case cell(LabCell?)
        case join(Int?)
    }

    /// A soft-AP cell: its board's `WiFi.softAP` and the stations of other boards
    /// that joined it, on their own segment (frames of the cell never reach the LAN).
    struct Cell {
        var cell: LabCell
        var segment: LockstepSwitch
    }

    /// Open cells by the board whose soft-AP they are.
    private var cells: [Int: Cell] = [:]
    /// Which cell each station joined (station board → soft-AP board).
    private var joined: [Int: Int] = [:]
    /// Stations whose cell closed: on no segment (off the LAN too) until they
    /// join again or leave (their station looks for its access point meanwhile).
    private var orphans: Set<Int> = []
    /// Bumped when a cell opens or closes (boards are sent the list again).
    private var cellsVersion = 0

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

    /// The lab's page (`lab --ui`): its boards' feeds and its requests.
    var page: LabPage?
    /// The page's time controls.
    private(set) var pace = LabPace()
    /// The end of the latest grant to any board: where the lab stands.
    private(set) var frontier: UInt64 = 0
    /// The page's commands for boards, waiting for the next window (board index, JSON).
    private var pending: [(board: Int, text: String)] = []
    /// What the page was last told (`LabPage.status`), and when (host µs).
    private var told: (time: UInt64, holding: Bool, speed: Double?, waiting: Int)?
    private var toldAt: UInt64 = 0
    private var stopping = false

    init(nodes: [Node], gateway: LockstepGateway, window: UInt64 = LabConductor.wireLatencyMicros) {
        self.nodes = nodes
        self.gateway = gateway
        lan = LockstepSwitch(nodes: nodes.count + 1, window: window)
        width = nodes.map(\.name.count).max() ?? 0
    }

    /// Runs the lab to its end (every board's process ended; their wait statuses
    /// are in `nodes`); `interrupted` is polled (Ctrl-C: every board is sent SIGTERM).
    func run(interrupted: @escaping () -> Bool) {
        let checkInterrupt = { [self] in
            if interrupted() && !stopping {
                stopping = true
                for n in nodes where n.alive { kill(n.pid, SIGTERM) }
            }
        }
        while nodes.contains(where: \.alive) {
            // every board granted time runs until it reports DONE (or ends)
            while nodes.contains(where: { $0.alive && $0.running }) {
                checkInterrupt()
                pollOnce(timeoutMicros: 100_000)
            }
            for i in nodes.indices {
                for s in nodes[i].sent { handle(s, from: i) }
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
            for (i, n) in nodes.enumerated() where n.alive { start = min(start, n.next, earliest(for: i) ?? .max) }
            start = min(start, lan.earliest(for: nodes.count) ?? .max)
            if page != nil || pace.speed != nil {
                checkInterrupt()
                if !stopping {
                    let host = HostClock.now()
                    let decision = pace.decide(start: start, frontier: frontier, host: host)
                    tellPage(host: host)
                    switch decision {
                    case .run: break
                    case .tick(let t):
                        if !tick(until: t) { pollOnce(timeoutMicros: pace.holding ? 100_000 : 20_000) }
                        continue
                    case .wait(let us):
                        pollOnce(timeoutMicros: us)
                        continue
                    }
                }
            }
            let until = start + window
            windows += 1
            lastWindow = start
            runGateway(until: until)
            // the page's commands go with this window, to be carried out at its start
            var commands: [Int: [String]] = [:]
            for c in pending { commands[c.board, default: []].append(c.text) }
            pending.removeAll()
            for i in nodes.indices where nodes[i].alive {
                // a board whose view of the cells changed runs now (its station may have lost its cell)
                guard
                    nodes[i].next < until || (earliest(for: i) ?? .max) < until || nodes[i].cellsSent != cellsVersion
                        || commands[i] != nil
                else { continue }
                var ok = true
                for (kind, q) in take(for: i) where ok {
                    ok = q.frame.withUnsafeBytes { LockstepMessage.send(nodes[i].socket, LockstepMessage.encode(kind, q.at, frame: $0)) }
                }
                for text in commands[i] ?? [] where ok {
                    ok = Array(text.utf8).withUnsafeBytes {
                        LockstepMessage.send(nodes[i].socket, LockstepMessage.encode(LockstepMessage.command, start, frame: $0))
                    }
                }
                if ok && nodes[i].cellsSent != cellsVersion {
                    // the cells of the other boards, as the board's scans will see them
                    let list = cells.keys.sorted().filter { $0 != i }.flatMap { cells[$0]!.cell.encode(withOwner: true) }
                    ok = list.withUnsafeBytes { LockstepMessage.send(nodes[i].socket, LockstepMessage.encode(LockstepMessage.cells, 0, frame: $0)) }
                    nodes[i].cellsSent = cellsVersion
                }
                let stations = joined.values.filter { $0 == i }.count
                if ok && nodes[i].stationsSent != stations {
                    ok = LockstepMessage.send(nodes[i].socket, LockstepMessage.encode(LockstepMessage.stations, UInt64(stations)))
                    nodes[i].stationsSent = stations
                }
                if ok && LockstepMessage.send(nodes[i].socket, LockstepMessage.encode(LockstepMessage.grant, until)) {
                    nodes[i].running = true
                    nodes[i].granted = until
                    grants += 1
                } else {
                    ended(i)
                }
            }
            frontier = max(frontier, until)
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

    /// Obeys a time control before the lab starts (`lab --speed`, `--paused`).
    func perform(_ command: UILab.TimeCommand) { pace.perform(command, frontier: frontier, host: HostClock.now()) }

    /// Waits at most `timeoutMicros` for the running boards' sockets, every board's
    /// output and the page (its boards' feeds, its requests), and reads what is ready.
    private func pollOnce(timeoutMicros: UInt64) {
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
        let own = fds.count
        page?.addDescriptors(to: &fds)
        let ms = Int32(min((timeoutMicros + 999) / 1000, 1000))
        _ = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), ms) }
        for (r, (i, fd)) in zip(fds, owners) where r.revents != 0 {
            if fd == nodes[i].socket { receive(i) } else { readOutput(i, fd) }
        }
        guard let page else { return }
        page.handle(Array(fds[own...]))
        if fds.last!.revents != 0 { takeRequests(page) }
    }

    /// The page's requests: time controls are obeyed at once (between windows),
    /// boards' commands wait for the next window.
    private func takeRequests(_ page: LabPage) {
        for r in page.mailbox.take() {
            switch r {
            case .time(let command): pace.perform(command, frontier: frontier, host: HostClock.now())
            case .board(let i, let text): pending.append((i, text))
            }
        }
        tellPage(host: HostClock.now())
    }

    /// Grants every board that stands before `t` time up to it, when the lab has no
    /// event before `t`: nothing runs, their clocks move (a step's end, the host's
    /// pace, a pause). False if no board stood before it.
    private func tick(until t: UInt64) -> Bool {
        var any = false
        for i in nodes.indices where nodes[i].alive && !nodes[i].running && nodes[i].granted < t {
            if LockstepMessage.send(nodes[i].socket, LockstepMessage.encode(LockstepMessage.grant, t)) {
                nodes[i].running = true
                nodes[i].granted = t
                grants += 1
                any = true
            } else {
                ended(i)
            }
        }
        frontier = max(frontier, t)
        return any
    }

    /// Tells the page where the lab stands when that changed (its time at most
    /// five times a second).
    private func tellPage(host: UInt64) {
        guard let page else { return }
        let now = (time: frontier, holding: pace.holding, speed: pace.speed, waiting: pending.count)
        if let told, told.holding == now.holding, told.speed == now.speed, told.waiting == now.waiting,
            told.time == now.time || host &- toldAt < 200_000
        {
            return
        }
        told = now
        toldAt = host
        page.ui.status(time: now.time, paused: now.holding, speed: now.speed ?? 0, waiting: now.waiting)
    }

    /// What board `i` sent, at the end of its window: frames to the LAN or to the
    /// cell its station joined, its soft-AP's frames to its cell, cells and joins.
    private func handle(_ s: Sent, from i: Int) {
        switch s {
        case .frame(let at, let frame):
            if let owner = joined[i] { cells[owner]?.segment.route(frame, from: i, sentAt: at) } else { lan.route(frame, from: i, sentAt: at) }
        case .accessPoint(let at, let frame):
            cells[i]?.segment.route(frame, from: i, sentAt: at)
        case .cell(let c):
            closeCell(i)
            if var c {
                c.owner = i
                var segment = LockstepSwitch(nodes: nodes.count, window: window)
                segment.members = [i]
                cells[i] = Cell(cell: c, segment: segment)
            }
            cellsVersion += 1
        case .join(let owner):
            if let old = joined.removeValue(forKey: i) { cells[old]?.segment.members?.remove(i) }
            orphans.remove(i)
            if let owner, cells[owner] != nil {
                joined[i] = owner
                cells[owner]!.segment.members?.insert(i)
            }
            updateLAN()
        }
    }

    /// The LAN is every node but the stations in a cell (or whose cell closed).
    private func updateLAN() {
        lan.members = Set(0...nodes.count).subtracting(joined.keys).subtracting(orphans)
    }

    /// Board `i`'s cell closes: its stations are left on no segment until they
    /// join again or leave, and its station count is 0.
    private func closeCell(_ i: Int) {
        guard cells.removeValue(forKey: i) != nil else { return }
        for (station, owner) in joined where owner == i {
            joined[station] = nil
            orphans.insert(station)
        }
        cellsVersion += 1
    }

    /// The earliest delivery waiting for board `i` on the LAN or in a cell.
    private func earliest(for i: Int) -> UInt64? {
        var t = lan.earliest(for: i)
        for c in cells.values { if let e = c.segment.earliest(for: i) { t = min(t ?? e, e) } }
        return t
    }

    /// Everything waiting for board `i`, with its message kind: FRAME for its
    /// station (from the LAN, or from the cell it joined), AP for its soft-AP.
    private func take(for i: Int) -> [(UInt8, LockstepSwitch.Delivery)] {
        var all = lan.take(for: i).map { (LockstepMessage.frame, $0) }
        for owner in cells.keys.sorted() {
            let kind = owner == i ? LockstepMessage.apFrame : LockstepMessage.frame
            all += cells[owner]!.segment.take(for: i).map { (kind, $0) }
        }
        return all
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
                nodes[i].sent.append(.frame(sentAt: t, frame: Array(buffer[9..<n])))
            } else if kind == LockstepMessage.apFrame {
                nodes[i].sent.append(.accessPoint(sentAt: t, frame: Array(buffer[9..<n])))
            } else if kind == LockstepMessage.cell {
                nodes[i].sent.append(.cell(LabCell.decode(buffer[9..<n], withOwner: false, owner: i).first))
            } else if kind == LockstepMessage.join, n >= 10 {
                nodes[i].sent.append(.join(buffer[9] == 255 ? nil : Int(buffer[9])))
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
        closeCell(i)
        if let owner = joined.removeValue(forKey: i) { cells[owner]?.segment.members?.remove(i) }
        orphans.remove(i)
        for k in cells.keys { cells[k]!.segment.remove(i) }
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
