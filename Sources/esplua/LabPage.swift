import BoardCore
import BoardNet
import BoardUI
import FoundationEssentials
import Glibc
import Synchronization

/// The lab's side of its page (`esplua lab --ui`): the page's server (`UILab`),
/// the pipes the boards' feeds write (read here, one message a line), each board's
/// pcap (the file the board writes, served whole records only), and in virtual time
/// the page's commands for the conductor (`mailbox`). The lab's thread, but for the
/// mailbox's `post` (the server's).
final class LabPage {
    /// What the page asked of the conductor (virtual time), in order.
    enum Request: Sendable {
        case time(UILab.TimeCommand)
        /// A board's command (its index and the page's JSON).
        case board(Int, String)
    }

    /// The page's requests, posted on the server's thread, taken on the lab's; `wake`
    /// (a pipe's read end) is readable while some wait.
    final class Mailbox: Sendable {
        private let items = Mutex<[Request]>([])
        let wake: Int32
        private let signal: Int32

        init() {
            var fds: [Int32] = [-1, -1]
            pipe(&fds)
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
            wake = fds[0]
            signal = fds[1]
        }

        deinit {
            close(wake)
            close(signal)
        }

        func post(_ r: Request) {
            items.withLock { $0.append(r) }
            var one: UInt8 = 1
            _ = write(signal, &one, 1)
        }

        func take() -> [Request] {
            var buf = [UInt8](repeating: 0, count: 256)
            while read(wake, &buf, buf.count) > 0 {}
            return items.withLock { all in
                defer { all.removeAll() }
                return all
            }
        }
    }

    let ui: UILab
    let mailbox = Mailbox()
    private var names: [String]
    /// The read end of each board's feed pipe (-1 once it closed), and what came of a line.
    private var feeds: [Int32]
    private var partial: [[UInt8]]

    /// Serves the page for `boards` (their feed pipes' read ends in `feeds`); in
    /// virtual time their commands and the time controls go to the mailbox. Each
    /// board's pcap is `pcapFolder/NAME.pcap`. Exits with a sentence when the port
    /// cannot be had.
    init(
        spec: String, lab: String, virtualTime: Bool, boards: [UILab.Board], feeds: [Int32], pcapFolder: String
    ) {
        names = boards.map(\.name)
        self.feeds = feeds
        partial = Array(repeating: [], count: boards.count)
        let endpoint = UIEndpoint(parsing: spec)!  // validated
        let mailbox = self.mailbox
        let indices = Dictionary(uniqueKeysWithValues: boards.enumerated().map { ($1.name, $0) })
        let captures: UICaptures = { [names] board in
            guard let board, names.contains(board) else { return nil }
            return (Self.wholeRecords(Path.join(pcapFolder, board + ".pcap")), board + ".pcap")
        }
        var boardCommand: (@Sendable (String, String) -> String?)?
        var timeCommand: (@Sendable (UILab.TimeCommand) -> String?)?
        if virtualTime {
            boardCommand = { name, text in
                guard let i = indices[name] else { return "no board '\(name)' in this lab" }
                // one lockstep message carries it (a frame's room)
                guard text.utf8.count <= 4000 else {
                    return "a command of \(text.utf8.count) bytes for \(name): in virtual time a command carries at most 4000 (send a long text in parts)"
                }
                mailbox.post(.board(i, text))
                return nil
            }
            timeCommand = { command in
                mailbox.post(.time(command))
                return nil
            }
        }
        do {
            ui = try UILab(
                address: endpoint.address, port: endpoint.port, lab: lab, virtualTime: virtualTime, gateway: "10.0.2.2", boards: boards,
                boardCommand: boardCommand, timeCommand: timeCommand, captures: captures, log: { writeStandardError($0 + "\n") })
        } catch { fail("esplua: lab: \(error)") }
        writeStandardError("esplua: lab: the lab's page: \(ui.server.url)\n")
        if !endpoint.isLoopback {
            writeStandardError(
                "esplua: warning: the page is served on \(endpoint.address), not only to this machine; anyone with the URL can type into the boards\n")
        }
    }

    /// The descriptors to poll for the page: every open feed, and the mailbox.
    func addDescriptors(to fds: inout [pollfd]) {
        for fd in feeds where fd >= 0 { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
        fds.append(pollfd(fd: mailbox.wake, events: Int16(POLLIN), revents: 0))
    }

    /// Reads the feeds among `results` that are ready (the mailbox is the owner's to take).
    func handle(_ results: [pollfd]) {
        for r in results where r.revents != 0 {
            if let i = feeds.firstIndex(of: r.fd) { readFeed(i) }
        }
    }

    /// A board's feed (one message a line) to the page; at its end the pipe closes.
    private func readFeed(_ i: Int) {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = read(feeds[i], &buf, buf.count)
        if n <= 0 {
            if n < 0 && (errno == EINTR || errno == EAGAIN) { return }
            close(feeds[i])
            feeds[i] = -1
            return
        }
        partial[i] += buf[0..<n]
        var start = 0
        while let nl = partial[i][start...].firstIndex(of: UInt8(ascii: "\n")) {
            ui.received(board: names[i], line: String(decoding: partial[i][start..<nl], as: UTF8.self))
            start = nl + 1
        }
        partial[i].removeFirst(start)
    }

    /// Hands the page what the boards' feeds still hold (their last messages, sent as
    /// they ended), then closes the page.
    func stop() {
        for i in feeds.indices {
            while feeds[i] >= 0 {
                var p = pollfd(fd: feeds[i], events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 0) > 0 else { break }
                readFeed(i)
            }
            if feeds[i] >= 0 { close(feeds[i]) }
        }
        ui.stop()
    }

    /// The pcap file at `path` up to its last whole record (the board may be writing
    /// the next one now): a file tshark and Wireshark read to the end.
    static func wholeRecords(_ path: String) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { return Pcap.header }
        let bytes = [UInt8](data)
        guard bytes.count >= 24 else { return Pcap.header }
        var end = 24
        while end + 16 <= bytes.count {
            let length = Int(bytes[end + 8]) | Int(bytes[end + 9]) << 8 | Int(bytes[end + 10]) << 16 | Int(bytes[end + 11]) << 24
            guard end + 16 + length <= bytes.count else { break }
            end += 16 + length
        }
        return Array(bytes[..<end])
    }
}

/// The page's time controls in a lab run in virtual time, as the conductor obeys
/// them between windows: pause (no board is granted a new window), a step (the
/// next N windows, or N µs of board time for every board) and a speed (grants paced
/// against the host's clock). They decide only when the windows run, never what is
/// in them, so a lab paused, stepped and run again does what it does unpaused.
struct LabPace {
    private(set) var paused = false
    /// Windows left in a step of windows.
    private(set) var stepWindows = 0
    /// Board time a step of time ends at.
    private(set) var stepUntil: UInt64?
    /// Board µs per host µs; nil: as fast as possible.
    private(set) var speed: Double?
    /// Board time and host time (µs) the pacing counts from.
    private var anchor: (lab: UInt64, host: UInt64) = (0, 0)
    private var lastTick: UInt64 = 0

    /// Whether the lab holds (paused, no step running).
    var holding: Bool { paused && stepWindows == 0 && stepUntil == nil }

    /// What the conductor does before its next window.
    enum Decision: Equatable {
        /// Run the window.
        case run
        /// Grant every board that stands before it time up to `t` (the lab has no
        /// event before it), so the page's clocks stand where the lab is.
        case tick(UInt64)
        /// Wait this long (host µs) for the page or the host's clock, then decide again.
        case wait(UInt64)
    }

    /// Obeys a time control when the lab stands at `frontier` (the end of the last grant).
    mutating func perform(_ command: UILab.TimeCommand, frontier: UInt64, host: UInt64) {
        switch command {
        case .pause:
            paused = true
            stepWindows = 0
            stepUntil = nil
        case .resume:
            paused = false
            stepWindows = 0
            stepUntil = nil
        case .stepWindows(let n):
            paused = false
            stepWindows = n
            stepUntil = nil
        case .stepMicros(let us):
            paused = false
            stepWindows = 0
            stepUntil = frontier &+ us
        case .speed(let k):
            speed = k
        }
        anchor = (frontier, host)
    }

    /// Whether the next window, starting at `start`, may run now (`host`: the host's µs).
    mutating func decide(start: UInt64, frontier: UInt64, host: UInt64) -> Decision {
        if let target = stepUntil, start >= target {
            // the lab's next event lies at or past the step's end: every board stops on it
            stepUntil = nil
            paused = true
            return .tick(target)
        }
        if holding { return frontier > 0 ? .tick(frontier) : .wait(100_000) }
        if let k = speed {
            let allowed = anchor.lab &+ UInt64(Double(host &- anchor.host) * k)
            if start > allowed {
                // ahead of the host's clock: wait; an idle stretch moves the boards' clocks meanwhile
                if allowed > frontier && host &- lastTick >= 50_000 {
                    lastTick = host
                    return .tick(allowed)
                }
                return .wait(min(UInt64(Double(start - allowed) / k), 50_000))
            }
            // far behind (the host could not keep up): pace from here, do not race
            if allowed - start > 100_000 { anchor = (start, host) }
        }
        if stepWindows > 0 {
            stepWindows -= 1
            if stepWindows == 0 { paused = true }
        }
        return .run
    }
}
