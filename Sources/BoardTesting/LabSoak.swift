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
        public var failedVisits: [String] = []
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
            if failedVisits.count * 100 > max(visits, 1) { p.append("\(failedVisits.count) of \(visits) visits failed") }
            return p
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: esplua)
        process.arguments = ["lab", labPath]
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let lab = process.processIdentifier
        func output() -> String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        defer {
            if process.isRunning {
                kill(lab, SIGTERM)
                process.waitUntilExit()
            }
        }

        // every board up (its server listening)
        let bootDeadline = now() + 30 + Double(boards)
        while output().components(separatedBy: "HTTP server on port 80").count - 1 < boards {
            guard process.isRunning else { throw Failure(description: "the lab ended before its boards were up:\n\(output())") }
            guard now() < bootDeadline else { throw Failure(description: "the boards were not up in time:\n\(output())") }
            usleep(100_000)
        }
        progress("lab-soak: \(boards) boards up; visiting for \(Int(seconds)) s")

        var report = Report()
        report.boards = boards
        if idle {
            for board in 0..<boards {
                report.visits += 1
                if let why = visit(port: basePort + board + 1) { report.failedVisits.append("\(names[board]): \(why)") }
            }
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
            let board = Int(random() * Double(boards)) % boards
            report.visits += 1
            if let why = visit(port: basePort + board + 1) { report.failedVisits.append("\(names[board]): \(why)") }
            if now() >= nextReport {
                nextReport += 60
                progress("lab-soak: \(Int(now() - t0)) s, \(report.visits) visits, \(report.failedVisits.count) failed")
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
        process.waitUntilExit()
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

    /// One visitor: GET / through the forward, the answer read to its end; nil when it was a 200.
    static func visit(port: Int) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "socket: \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let c = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard c == 0 else { return "connect: \(String(cString: strerror(errno)))" }
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
