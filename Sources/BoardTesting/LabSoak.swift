import Foundation
import Glibc

/// A lab left running in real time with visitors: `esplua lab` with `boards`
/// boards each running `sketch` (an HTTP server on port 80, as hello_server.lua),
/// a forward per board, and visitors arriving at random intervals (exponential,
/// `meanGapMillis` apart, seeded) that each pick a board, GET / through its
/// forward and read the answer to the end — as a classroom's browsers do.
///
/// It checks what a teacher needs of a long lesson: no board crashes (no
/// exception or watchdog dump on any board's Serial, every board's process still
/// there at the end), and measures what the lab costs the host: CPU of the lab
/// and its boards (% of one core, over the visited stretch) and the proportional
/// set size (PSS) of each board process.
public enum LabSoak {
    public struct Report: Sendable {
        public var boards = 0
        public var seconds = 0.0
        public var visits = 0
        /// Visits that failed for a reason not known (each told with the board's pcbs and frames).
        public var failedVisits: [String] = []
        /// Visits that failed as a board does for a known reason (`LabSoak.expectedReason`): not a problem.
        public var expectedFailures: [String] = []
        /// Crash dumps and ended boards, as the lab's output names them.
        public var crashes: [String] = []
        /// Boards still running at the end.
        public var boardsAlive = 0
        /// CPU time of the lab, its switch and its boards over the visited stretch, in % of one core.
        public var cpuPercent = 0.0
        /// PSS of each board process at the end (KiB), and the lab's own (gateway, switch).
        public var boardPSSKiB: [Int] = []
        public var labPSSKiB = 0
        /// Problems that make the run a failure.
        public var problems: [String] {
            var p = crashes
            if boardsAlive != boards { p.append("\(boards - boardsAlive) of \(boards) boards gone") }
            if visits == 0 { p.append("no visit was made") }
            if !failedVisits.isEmpty { p.append("\(failedVisits.count) of \(visits) visits failed for no known reason") }
            return p
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The first of the forwards' host ports (`basePort`+1 … +`boards`) for this process:
    /// below Linux's ephemeral range (32768 and up by default, where any outgoing
    /// connection of the machine may hold a port, and the lab's forward then fails),
    /// in steps of 100 chosen by the process id, so two soaks at once rarely meet.
    public static func basePort(boards: Int, pid: pid_t = getpid()) -> Int {
        let slots = max(1, (32_768 - 20_000 - boards - 1) / 100)
        return 20_000 + Int(pid) % slots * 100
    }

    /// Runs the lab for `seconds` of visits (after every board is up) and ends it.
    /// `basePort`: the host ports basePort+1 … basePort+boards forward to the boards.
    /// `idle`: one visit to each board through the gateway, then `seconds` with none
    /// (the CPU of a lab at rest, as a class leaves it between exercises).
    public static func run(
        esplua: String, sketch: String, boards: Int, seconds: Double, basePort: Int,
        meanGapMillis: Double = 100, seed: UInt64 = 0x8266, idle: Bool = false, progress: (String) -> Void = { _ in }
    ) throws -> Report {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("esplua-labsoak-\(getpid())-\(basePort)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let names = (1...boards).map { "board-\($0)" }
        let labFile: [String: Any] = [
            "boards": names.map { ["name": $0, "sketch": sketch] },
            "forwards": names.enumerated().map { "\(basePort + $0.offset + 1):\($0.element):80" },
        ]
        let labPath = dir.appendingPathComponent("lab.json").path
        try JSONSerialization.data(withJSONObject: labFile).write(to: URL(fileURLWithPath: labPath))
        let outPath = dir.appendingPathComponent("lab.out").path
        FileManager.default.createFile(atPath: outPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        // each board's frames (read back for a failed visit) and its connection table on SIGUSR1
        let pcapDir = dir.appendingPathComponent("pcap").path
        try FileManager.default.createDirectory(atPath: pcapDir, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: esplua)
        process.arguments = ["lab", labPath, "--netstat", "--pcap", pcapDir]
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let lab = process.processIdentifier
        /// The lab is there and not a zombie (Foundation has been seen not to reap
        /// a lab that ended at once, a forward's port taken: isRunning stayed true).
        func running() -> Bool { process.isRunning && statFields(lab).first.map { $0 != "Z" } ?? false }
        /// Waits at most 10 s for the lab to end after SIGTERM.
        func waitForExit() {
            let end = now() + 10
            while running() && now() < end { usleep(50_000) }
        }
        func output() -> String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        defer {
            if process.isRunning {
                kill(lab, SIGTERM)
                waitForExit()
            }
        }

        // every board up (its server listening)
        let bootDeadline = now() + 30 + Double(boards)
        while output().components(separatedBy: "HTTP server on port 80").count - 1 < boards {
            guard running() else { throw Failure(description: "the lab ended before its boards were up:\n\(output())") }
            guard now() < bootDeadline else { throw Failure(description: "the boards were not up in time:\n\(output())") }
            usleep(100_000)
        }
        progress("lab-soak: \(boards) boards up; visiting for \(Int(seconds)) s")

        var report = Report()
        report.boards = boards
        let start = now()
        /// One visit to `board`; a failure is told with what the board saw and holds.
        func visitBoard(_ board: Int) {
            report.visits += 1
            let v = visit(port: basePort + board + 1)
            guard let why = v.failure else { return }
            let (text, expected) = explain(
                "\(names[board]): \(why) (visit \(report.visits) at \(String(format: "%.1f", v.started - start)) s, "
                    + "\(String(format: "%.2f", v.seconds)) s long, from host port \(v.localPort))",
                board: names[board], hostPort: v.localPort, lab: lab, pcapDir: pcapDir, output: output)
            if expected { report.expectedFailures.append(text) } else { report.failedVisits.append(text) }
            progress("lab-soak: \(expected ? "failed visit, as a board does" : "failed visit"): \(text)")
        }
        if idle {
            for board in 0..<boards { visitBoard(board) }
        }
        let cpu0 = cpuTicks(tree: lab), t0 = now()
        var rng = seed
        func random() -> Double {
            rng &+= 0x9E37_79B9_7F4A_7C15
            var z = rng
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
        var nextReport = t0 + 60
        while idle && now() - t0 < seconds { usleep(200_000) }
        while !idle && now() - t0 < seconds {
            let gap = -log(1 - random()) * meanGapMillis / 1000
            usleep(UInt32(min(gap, 5) * 1_000_000))
            visitBoard(Int(random() * Double(boards)) % boards)
            if now() >= nextReport {
                nextReport += 60
                progress(
                    "lab-soak: \(Int(now() - t0)) s, \(report.visits) visits, \(report.failedVisits.count) failed, "
                        + "\(report.expectedFailures.count) failed as a board does")
            }
        }
        let wall = now() - t0
        let cpu1 = cpuTicks(tree: lab)
        report.seconds = wall
        report.cpuPercent = Double(cpu1 - cpu0) / Double(sysconf(Int32(_SC_CLK_TCK))) / wall * 100
        let children = childPIDs(of: lab)
        let boardPIDs = children.filter { commandLine($0).contains("run") }
        report.boardsAlive = boardPIDs.count
        report.boardPSSKiB = boardPIDs.map(pssKiB)
        report.labPSSKiB = pssKiB(lab) + children.filter { !boardPIDs.contains($0) }.map(pssKiB).reduce(0, +)

        kill(lab, SIGTERM)
        waitForExit()
        try? out.close()
        let text = output()
        for line in text.split(separator: "\n")
        where line.contains("Exception (") || line.contains("WDT reset") || line.contains("ended with an error")
            || line.contains(">>>stack>>>")
        {
            report.crashes.append(String(line))
        }
        return report
    }

    /// A visit: what went wrong (nil when the page came), when it began, how long it
    /// took, and the visitor's port (slirp keeps it: the board sees 10.0.2.2 and this port).
    struct Visit {
        var failure: String?
        var started = 0.0, seconds = 0.0
        var localPort = 0
    }

    static func visit(port: Int) -> Visit {
        var v = Visit(started: now())
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        v.failure = visit(fd: fd, port: port, localPort: &v.localPort)
        v.seconds = now() - v.started
        if fd >= 0 { close(fd) }
        return v
    }

    /// One visitor: GET / through the forward, the answer read to its end; nil when it was a 200.
    static func visit(fd: Int32, port: Int, localPort: inout Int) -> String? {
        guard fd >= 0 else { return "socket: \(String(cString: strerror(errno)))" }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard loopback(fd, port: port) == 0 else { return "connect: \(String(cString: strerror(errno)))" }
        var local = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        localPort = Int(UInt16(bigEndian: local.sin_port))
        let request = Array("GET / HTTP/1.0\r\nHost: lab\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return "send failed" }
        var answer: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 2048)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { break }
            if n < 0 { return "recv: \(String(cString: strerror(errno))) after \(answer.count) bytes" }
            answer += buf[0..<n]
        }
        let text = String(decoding: answer, as: UTF8.self)
        return text.hasPrefix("HTTP/1.1 200 OK") && text.hasSuffix("Hello from esplua!\n") ? nil : "answer: \(text.prefix(60))"
    }

    /// A failed visit told in full: the board's lines while it answers SIGUSR1 (its
    /// `--netstat`: board time, heap, every pcb), each frame of the visit's connection
    /// the board sent or received (its pcap, stamped in board time), and the reason
    /// when the board's frames show one a real board has (`expectedReason`).
    static func explain(
        _ headline: String, board: String, hostPort: Int, lab: pid_t, pcapDir: String, output: () -> String
    ) -> (text: String, expected: Bool) {
        var text = headline
        let segments = PcapSummary.tcp(path: "\(pcapDir)/\(board).pcap", port: hostPort)
        let reason = expectedReason(segments, board: board, hostPort: hostPort)
        if let reason { text += "\n    expected: " + reason }
        if let pid = childPIDs(of: lab).first(where: { commandLine($0).contains("/\(board).pcap") }) {
            let before = output().utf8.count
            kill(pid, SIGUSR1)
            usleep(500_000)
            let lines = String(decoding: Array(output().utf8.dropFirst(before)), as: UTF8.self).split(separator: "\n")
                .filter { $0.split(separator: "|", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces) == board }
            text += "\n    " + board + " now:" + (lines.isEmpty ? " (nothing printed)" : "")
            for l in lines { text += "\n      " + l }
        } else {
            text += "\n    \(board): its process is gone"
        }
        text += "\n    \(board)'s frames of port \(hostPort) (board time):" + (segments.isEmpty ? " none" : "")
        for s in segments { text += "\n      \(s)" }
        return (text, reason != nil)
    }

    /// Why a board could not take a visit, when its frames show a reason a real
    /// board has; nil otherwise (a failure to explain).
    ///
    /// The one known: the host reused its port for a new visit while the board
    /// still held the port's previous connection in TIME_WAIT (the board closed it
    /// first, `stop()`; the visitor, closing second, keeps none, so its kernel may
    /// pick the port again). lwIP 2.1.3 answers a SYN into TIME_WAIT that is not in
    /// the window with an ACK and ignores the RST that answers it (tcp_in.c:739-774,
    /// `tcp_timewait_input`, RFC 1337), where Linux and BSD would take the SYN as a
    /// new connection (RFC 1122 4.2.2.13): the visit gets no SYN-ACK until that pcb
    /// ends (2 MSL, or 5 newer TIME_WAITs: the core's cap).
    static func expectedReason(_ segments: [PcapSummary.Segment], board: String, hostPort: Int) -> String? {
        for (i, s) in segments.enumerated() where s.toBoard && s.flags & 0x12 == 0x02 {
            let boardClosedBefore = segments[..<i].contains { !$0.toBoard && $0.flags & 0x01 != 0 }
            guard boardClosedBefore, let answer = segments[(i + 1)...].first(where: { !$0.toBoard }),
                answer.flags & 0x16 == 0x10
            else { continue }
            return "the host reused port \(hostPort) while \(board) still held its earlier connection in TIME_WAIT "
                + "(the board closed that one first): lwIP answers the new SYN with an ACK of the old connection and "
                + "ignores the RST, as a board does (tcp_in.c tcp_timewait_input, RFC 1337), until that pcb ends"
        }
        return nil
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Processes whose parent is `pid` (/proc/PID/stat's 4th field).
    static func childPIDs(of pid: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0) }.filter { statFields($0).count > 2 && statFields($0)[1] == "\(pid)" }
    }

    /// /proc/PID/stat's fields after the command name (state is the first).
    static func statFields(_ pid: pid_t) -> [Substring] {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = s.lastIndex(of: ")") else {
            return []
        }
        return s[s.index(after: close)...].split(separator: " ")
    }

    /// User + system CPU ticks of `pid` and its children (the boards, the switch).
    static func cpuTicks(tree pid: pid_t) -> Int {
        ([pid] + childPIDs(of: pid)).reduce(0) { sum, p in
            let f = statFields(p)  // utime, stime are fields 14, 15 of stat: 12, 13 here
            return f.count > 13 ? sum + (Int(f[11]) ?? 0) + (Int(f[12]) ?? 0) : sum
        }
    }

    static func commandLine(_ pid: pid_t) -> String {
        guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
        return String(decoding: d.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }

    /// Proportional set size (KiB): /proc/PID/smaps_rollup's Pss.
    static func pssKiB(_ pid: pid_t) -> Int {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("Pss:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}

/// Reads a board's pcap (classic format, Ethernet, as `esplua --pcap` writes it)
/// back as the TCP segments of a port: what a failed visit left on the wire.
enum PcapSummary {
    struct Segment: CustomStringConvertible {
        var micros: UInt64
        /// From the visitor (the port is the segment's source), or the board's.
        var toBoard: Bool
        var flags: UInt8
        var seq: UInt32, ack: UInt32
        var window: Int, length: Int

        var description: String {
            let names = [(0x02, "SYN"), (0x10, "ACK"), (0x08, "PSH"), (0x01, "FIN"), (0x04, "RST")].filter { Int(flags) & $0.0 != 0 }
            return String(format: "%llu.%06llu ", micros / 1_000_000, micros % 1_000_000) + (toBoard ? "-> board" : "board ->") + " "
                + names.map(\.1).joined(separator: "|") + " seq \(seq) ack \(ack) win \(window) len \(length)"
        }
    }

    static func tcp(path: String, port: Int) -> [Segment] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return tcp(pcap: [UInt8](data), port: port)
    }

    static func tcp(pcap b: [UInt8], port: Int) -> [Segment] {
        func le32(_ i: Int) -> UInt64 { UInt64(b[i]) | UInt64(b[i + 1]) << 8 | UInt64(b[i + 2]) << 16 | UInt64(b[i + 3]) << 24 }
        func be16(_ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
        func be32(_ i: Int) -> UInt32 { UInt32(be16(i)) << 16 | UInt32(be16(i + 2)) }
        var out: [Segment] = []
        var i = 24
        while i + 16 <= b.count {
            let micros = le32(i) * 1_000_000 + le32(i + 4), length = Int(le32(i + 8))
            let f = i + 16
            i = f + length
            guard i <= b.count, length >= 54, be16(f + 12) == 0x0800, b[f + 23] == 6 else { continue }
            let ip = f + 14, tcp = ip + Int(b[ip] & 0x0F) * 4
            guard tcp + 20 <= f + length else { continue }
            let sport = be16(tcp), dport = be16(tcp + 2)
            guard sport == port || dport == port else { continue }
            out.append(
                Segment(
                    micros: micros, toBoard: sport == port, flags: b[tcp + 13], seq: be32(tcp + 4), ack: be32(tcp + 8),
                    window: be16(tcp + 14), length: be16(ip + 2) - (tcp - ip) - Int(b[tcp + 12] >> 4) * 4))
        }
        return out
    }
}
