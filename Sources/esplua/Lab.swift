import ArgumentParser
import BoardCore
import BoardNet
import BoardUI
import FoundationEssentials
import Glibc

/// `esplua lab LAB.json`: a class network on this machine. A VDE switch
/// (vdeplug4's `vde_plug null:// switch://`), the gateway (slirp with the
/// PC-like filter, DNS answering every board's name, forwards by board name) in
/// this process, and every board as its own `esplua run --net` process; each
/// board's lines prefixed with its name; Ctrl-C ends all. Each board gets the
/// lab's link (`--link`, `--seed` plus its index, its `--fault`s), its MAC
/// (`"mac"` or derived) and DHCP from the gateway (`LANDHCP`: its place in the
/// file reserves its lease) or its static `"ip"`. `--switch PATH` names the
/// switch so another lab can join it (`dpipe vde_plug = vde_plug`); that lab
/// runs with `"gateway": false`, one gateway per LAN.
///
/// ```json
/// { "boards": [ { "name": "server", "sketch": "server.lua", "ip": "10.0.2.40" }, { "name": "client", "sketch": "client.lua", "mac": "5C:CF:7F:12:34:56" } ],
///   "forwards": [ "8080:server:80" ], "link": "wifi", "seed": 1,
///   "faults": [ { "at": "10s", "board": "client", "ap": "down", "for": "5s" } ] }
/// ```
struct Lab: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a lab: boards on one LAN (a VDE switch) with a gateway to this host, each board its own process.")

    @Argument(
        help:
            "The lab file (JSON): boards (name, sketch, optional wiring, world, flash, ip, mac), forwards (HOST:BOARD:PORT), link (ideal, wifi or its fields), seed, faults and gateway (false: a lab joined to another's LAN)."
    )
    var lab: String

    @Option(name: .customLong("for"), help: ArgumentHelp("End every board after this much board time (e.g. 30s).", valueName: "DURATION"))
    var duration: String?

    @Option(name: .customLong("pcap"), help: ArgumentHelp("Write each board's frames to DIR/NAME.pcap.", valueName: "DIR"))
    var pcapDirectory: String?

    @Flag(name: .customLong("netstat"), help: "Each board prints its connection table when it ends (as run --netstat).")
    var netstat = false

    @Option(name: .customLong("seed"), help: "Seed of the links' generators (overrides the lab file's seed).")
    var seed: UInt64?

    @Option(
        name: .customLong("switch"),
        help: ArgumentHelp(
            "The lab's VDE switch at PATH (default: a temporary folder), named on stderr: another lab joins it with dpipe vde_plug vde://PATH = vde_plug vde://OTHER.",
            valueName: "PATH"))
    var switchPath: String?

    @Option(
        name: .customLong("time"),
        help:
            "real (board time is wall time; the host's programs are peers) or virtual (the lockstep conductor: deterministic, idle stretches jumped, no host peers)."
    )
    var time: String = "real"

    @Option(
        name: .customLong("ui"),
        help: ArgumentHelp(
            "Serve one page for the whole lab (every board's console, connections, heap, packets and pcap; who talks to whom; in virtual time pause, step and speed) on PORT or ADDR:PORT (127.0.0.1 by default); its URL goes to stderr.",
            valueName: "[ADDR:]PORT"))
    var ui: String?

    @Option(
        name: .customLong("speed"),
        help: ArgumentHelp(
            "With --time virtual: the lab's board time runs at most K times the host's (1: a board's pace, to watch); the page (--ui) can change it, pause and step.",
            valueName: "K"))
    var speed: Double?

    @Flag(
        name: .customLong("paused"),
        help: "With --time virtual and --ui: the lab starts paused, every board at board time 0, until the page's Run or Step.")
    var paused = false

    struct Board {
        var name: String
        var sketch: String
        var address: String
        /// How it gets the address, and its MAC (for the start-up lines).
        var addressing: String
        var extra: [String]
        var pid: pid_t = 0
        var out: Int32 = -1, err: Int32 = -1
        var partial: [Int32: [UInt8]] = [:]
        var status: Int32?
        /// With --ui: the pipe the board's feed writes (read here), the pipe of the page's commands (written here).
        var feed: Int32 = -1, commands: Int32 = -1
    }

    func validate() throws {
        guard TimeMode(rawValue: time) != nil else { throw ValidationError("--time must be 'real' or 'virtual', not '\(time)'") }
        if let d = duration, parseDurationMicros(d) == nil {
            throw ValidationError("bad --for '\(d)': expected a duration like 10s, 500ms, 2m or 1h")
        }
        if let ui, UIEndpoint(parsing: ui) == nil { throw ValidationError("bad --ui '\(ui)': expected a port like 8266 or ADDR:PORT like 0.0.0.0:8266") }
        if let speed {
            guard time == "virtual" else { throw ValidationError("--speed needs --time virtual (in real time board time is the host's clock)") }
            guard speed > 0, speed.isFinite else { throw ValidationError("bad --speed '\(speed)': expected a number above 0, like 1 or 10") }
        }
        if paused && (time != "virtual" || ui == nil) {
            throw ValidationError("--paused needs --time virtual and --ui (the page's Run and Step are what start the lab)")
        }
    }

    nonisolated(unsafe) static var interrupted: sig_atomic_t = 0

    func run() throws {
        guard let data = FileManager.default.contents(atPath: lab) else { fail("esplua: cannot read the lab file '\(lab)'") }
        let base = lab.contains("/") ? String(lab[..<lab.lastIndex(of: "/")!]) : "."
        var file: LabFile
        do {
            file = try LabFile.parse(Array(data), folder: base) { FileManager.default.isReadableFile(atPath: $0) }
        } catch { fail("esplua: \(lab): \(error)") }
        if let seed { file.seed = seed }
        var boards = file.boards.map {
            Board(
                name: $0.name, sketch: $0.sketch, address: $0.isStatic || file.gateway ? $0.address : "on a lease from the joined lab's gateway",
                addressing: ($0.isStatic ? "static, MAC " : "its DHCP lease, MAC ") + LANDHCP.macText($0.mac),
                extra: LabFile.addressOptions($0) + $0.options + file.linkOptions(for: $0.name))
        }
        let hosts = file.hosts
        let forwards = file.forwards.map { ($0.forward, $0.address) }
        if time == "virtual" {
            guard forwards.isEmpty else {
                fail(
                    "esplua: \(lab): forwards need --time real: in virtual time the lab's clock does not follow the host's, so a host program's connection would meet boards that jumped past its timeouts"
                )
            }
            guard file.gateway, switchPath == nil else {
                fail(
                    "esplua: \(lab): a lab joined to another (\(switchPath != nil ? "--switch" : "\"gateway\": false")) needs --time real: the other lab's boards do not follow this lab's clock"
                )
            }
            try runLockstep(boards, hosts: hosts, dhcp: LANDHCP(reservations: file.reservations))
            return
        }
        if !file.gateway {
            let derived = file.boards.filter { $0.mac == [0x5C, 0xCF, 0x7F, 0, 2, LANDHCP.host(of: $0.address)] }.map(\.name)
            if !derived.isEmpty {
                writeStandardError(
                    "esplua: lab: warning: \(derived.joined(separator: ", ")) \(derived.count == 1 ? "has a MAC" : "have MACs") derived from the lab file's order, as the joined lab's boards do: give each a \"mac\" of its own\n"
                )
            }
        }
        if !file.gateway && !forwards.isEmpty { fail("esplua: \(lab): forwards need the lab's gateway (\"gateway\": false has none)") }

        // the switch
        if let switchPath, access(switchPath, F_OK) == 0 { fail("esplua: lab: --switch \(switchPath) exists already (another lab's switch?)") }
        let dir = Path.join(FileManager.default.temporaryDirectory.path, "esplua-lab-\(getpid())")
        guard mkdir(dir, 0o700) == 0 else { fail("esplua: lab: cannot create \(dir)") }
        let sw = switchPath ?? dir + "/switch"
        guard let vdePlug = (["/usr/bin/vde_plug", "/usr/local/bin/vde_plug"] as [String]).first(where: { access($0, X_OK) == 0 }) else {
            fail("esplua: lab: vde_plug is missing (Debian package vdeplug; make setup installs it)")
        }
        let switchPid = spawn([vdePlug, "null://", "switch://" + sw], stdout: nil, stderr: nil)
        let removeSwitch = {
            kill(switchPid, SIGTERM)
            var st: Int32 = 0
            waitpid(switchPid, &st, 0)
            _ = try? FileManager.default.removeItem(atPath: dir)
            if switchPath != nil { _ = try? FileManager.default.removeItem(atPath: sw) }
        }
        undoOnFailure.append(removeSwitch)
        defer { removeSwitch() }
        // up once its control socket accepts: the file exists from bind(), before listen(),
        // and a gateway or board that came between them was refused (seen on a loaded host)
        var up = false
        for _ in 0..<250 {
            if acceptsConnections(unixSocket: sw + "/ctl") {
                up = true
                break
            }
            usleep(20_000)
        }
        if !up { fail("esplua: lab: the switch (\(vdePlug) switch://\(sw)) did not come up within 5 s") }
        writeStandardError(
            "esplua: lab: the switch is vde://\(sw)\(file.gateway ? ", the gateway 10.0.2.2 serves DHCP and DNS" : ", no gateway (\"gateway\": false): DHCP and DNS come from a joined lab's")\n"
        )

        var gateway: Gateway?
        if file.gateway {
            let dhcp = LANDHCP(reservations: file.reservations)
            do { gateway = try Gateway(url: "vde://" + sw, hosts: hosts, forwards: forwards, dhcp: dhcp) } catch { fail("esplua: lab: \(error)") }
        }
        defer { gateway?.close() }

        // the boards
        signal(SIGPIPE, SIG_IGN)
        signal(SIGINT) { _ in Lab.interrupted = 1 }
        signal(SIGTERM) { _ in Lab.interrupted = 1 }
        let me = selfExecutable()
        // the page: each board's feed comes up a pipe (the board's fd 3), its commands go down another (fd 4)
        var childEnds: [[(Int32, Int32)]] = Array(repeating: [], count: boards.count)
        if ui != nil {
            for i in boards.indices {
                var feed: [Int32] = [0, 0], commands: [Int32] = [0, 0]
                pipe(&feed)
                pipe(&commands)
                // above the fds the child gets (3, 4), and not inherited by the other boards
                let high = [feed[0], feed[1], commands[0], commands[1]].map { fd -> Int32 in
                    let h = fcntl(fd, F_DUPFD_CLOEXEC, 10)
                    close(fd)
                    return h
                }
                boards[i].feed = high[0]
                boards[i].commands = high[3]
                childEnds[i] = [(high[1], 3), (high[2], 4)]
            }
        }
        // the page's pcap of a board is the file the board writes
        let captureFolder = pcapDirectory ?? dir
        let page = ui.map { spec in
            LabPage(
                spec: spec, lab: String(lab.split(separator: "/").last ?? ""), virtualTime: false,
                boards: boards.map { UILab.Board(name: $0.name, address: $0.address, sketch: $0.sketch, commands: $0.commands) },
                feeds: boards.map(\.feed), pcapFolder: captureFolder)
        }
        defer { page?.stop() }
        for i in boards.indices {
            var args = [me, "run", boards[i].sketch, "--net", "vde://" + sw] + boards[i].extra
            if let duration { args += ["--for", duration] }
            if pcapDirectory != nil || ui != nil { args += ["--pcap", Path.join(captureFolder, boards[i].name + ".pcap")] }
            if netstat { args.append("--netstat") }
            if ui != nil { args += ["--ui-link", "3:4"] }
            var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
            pipe(&out)
            pipe(&err)
            boards[i].pid = spawn(args, stdout: out[1], stderr: err[1], extra: childEnds[i])
            close(out[1])
            close(err[1])
            for (fd, _) in childEnds[i] { close(fd) }
            boards[i].out = out[0]
            boards[i].err = err[0]
            writeStandardError(
                "esplua: lab: \(boards[i].name) is \(boards[i].address), running \(boards[i].sketch), link \(file.link) (\(boards[i].addressing))\n")
        }
        let width = boards.map(\.name.count).max() ?? 0
        var stopping = false
        while boards.contains(where: { $0.status == nil }) {
            if Lab.interrupted != 0 && !stopping {
                stopping = true
                for b in boards where b.status == nil { kill(b.pid, SIGTERM) }
            }
            var extra: [pollfd] = []
            var owners: [(Int, Int32)] = []
            for (i, b) in boards.enumerated() {
                for fd in [b.out, b.err] where fd >= 0 {
                    extra.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
                    owners.append((i, fd))
                }
            }
            let own = extra.count
            page?.addDescriptors(to: &extra)
            let results: [pollfd]
            if let gateway {
                results = gateway.step(extra: extra, maxWaitMicros: 100_000)
            } else {
                _ = extra.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 100) }
                results = extra
            }
            page?.handle(Array(results[own...]))
            for (r, (i, fd)) in zip(results, owners) where r.revents != 0 {
                var buf = [UInt8](repeating: 0, count: 4096)
                let n = read(fd, &buf, buf.count)
                let name = boards[i].name + String(repeating: " ", count: width - boards[i].name.count)
                if n <= 0 {
                    close(fd)
                    if fd == boards[i].out { boards[i].out = -1 } else { boards[i].err = -1 }
                    if let rest = boards[i].partial[fd], !rest.isEmpty {
                        emit(fd == boards[i].err, "\(name) | \(String(decoding: rest, as: UTF8.self))\n")
                    }
                    continue
                }
                var pending = boards[i].partial[fd, default: []] + buf[0..<n]
                while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    var line = Array(pending[..<nl])
                    if line.last == UInt8(ascii: "\r") { line.removeLast() }
                    emit(fd == boards[i].err, "\(name) | \(String(decoding: line, as: UTF8.self))\n")
                    pending.removeSubrange(...nl)
                }
                boards[i].partial[fd] = pending
            }
            for i in boards.indices where boards[i].status == nil && boards[i].out < 0 && boards[i].err < 0 {
                var st: Int32 = 0
                waitpid(boards[i].pid, &st, 0)
                boards[i].status = st
            }
        }
        try Lab.reportCrashes(boards.map { ($0.name, $0.status ?? 0) }, interrupted: stopping)
    }

    private func emit(_ toStderr: Bool, _ text: String) {
        if toStderr {
            writeStandardError(text)
        } else {
            let bytes = Array(text.utf8)
            var off = 0
            while off < bytes.count {
                let n = bytes[off...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                off += n
            }
        }
    }
}

extension Lab {
    /// `--time virtual`: the lockstep conductor (`LabConductor`) is the switch and
    /// the time authority; the gateway runs on its clock; each board is
    /// `esplua run --net lockstep:3 --time virtual`, its end of a socket pair on
    /// descriptor 3.
    func runLockstep(_ boards: [Board], hosts: [String: String], dhcp: LANDHCP) throws {
        let gateway: LockstepGateway
        do { gateway = try LockstepGateway(hosts: hosts, dhcp: dhcp) } catch { fail("esplua: lab: \(error)") }
        defer { gateway.close() }
        gateway.onRefused = { writeStandardError("esplua: lab: \($0)\n") }
        signal(SIGPIPE, SIG_IGN)
        signal(SIGINT) { _ in Lab.interrupted = 1 }
        signal(SIGTERM) { _ in Lab.interrupted = 1 }
        let me = selfExecutable()
        // the page: each board's feed comes up a pipe (the board's fd 4); its commands
        // and the time controls go to the conductor
        var captureFolder = pcapDirectory ?? ""
        var feeds: [Int32] = []
        var page: LabPage?
        if let ui {
            if pcapDirectory == nil {
                captureFolder = Path.join(FileManager.default.temporaryDirectory.path, "esplua-lab-\(getpid())")
                guard mkdir(captureFolder, 0o700) == 0 else { fail("esplua: lab: cannot create \(captureFolder)") }
            }
            var childEnds: [Int32] = []
            for _ in boards {
                var feed: [Int32] = [0, 0]
                pipe(&feed)
                for fd in feed { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                feeds.append(feed[0])
                childEnds.append(feed[1])
            }
            page = LabPage(
                spec: ui, lab: String(lab.split(separator: "/").last ?? ""), virtualTime: true,
                boards: boards.map { UILab.Board(name: $0.name, address: $0.address, sketch: $0.sketch, commands: -1) }, feeds: feeds,
                pcapFolder: captureFolder)
            feeds = childEnds
        }
        defer {
            page?.stop()
            if ui != nil && pcapDirectory == nil { _ = try? FileManager.default.removeItem(atPath: captureFolder) }
        }
        var nodes: [LabConductor.Node] = []
        for (index, b) in boards.enumerated() {
            var pair: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
                fail("esplua: lab: cannot make a socket pair for \(b.name): \(String(cString: strerror(errno)))")
            }
            var args = [me, "run", b.sketch, "--net", "lockstep:3", "--time", "virtual"] + b.extra
            if let duration { args += ["--for", duration] }
            if pcapDirectory != nil || ui != nil { args += ["--pcap", Path.join(captureFolder, b.name + ".pcap")] }
            if netstat { args.append("--netstat") }
            var extra = [(pair[1], Int32(3))]
            if ui != nil {
                args += ["--ui-link", "4"]
                extra.append((feeds[index], 4))
            }
            var out: [Int32] = [0, 0], err: [Int32] = [0, 0]
            pipe(&out)
            pipe(&err)
            // one board's pipes and socket are not inherited by the next board
            for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            let pid = spawn(args, stdout: out[1], stderr: err[1], extra: extra)
            close(out[1])
            close(err[1])
            close(pair[1])
            if ui != nil { close(feeds[index]) }
            nodes.append(LabConductor.Node(name: b.name, pid: pid, socket: pair[0], out: out[0], err: err[0]))
            writeStandardError("esplua: lab: \(b.name) is \(b.address), running \(b.sketch) in virtual time (\(b.addressing))\n")
        }
        let conductor = LabConductor(nodes: nodes, gateway: gateway)
        conductor.page = page
        if let speed { conductor.perform(.speed(speed)) }
        if paused { conductor.perform(.pause) }
        let started = HostClock.now()
        conductor.run { Lab.interrupted != 0 }
        if netstat {
            let board = Format.fixed(Double(conductor.lastWindow) / 1_000_000, decimals: 3)
            let host = Format.fixed(Double(HostClock.now() - started) / 1_000_000, decimals: 3)
            writeStandardError(
                "esplua: lab: \(conductor.windows) windows, \(conductor.grants) grants to boards; \(board) s of board time in \(host) s of host time\n")
        }
        try Lab.reportCrashes(conductor.nodes.map { ($0.name, $0.status ?? 0) }, interrupted: Lab.interrupted != 0)
    }

    /// Names on stderr the boards that ended with an error (a non-zero exit, a
    /// signal other than the Ctrl-C that ended the lab) and exits 1 if any did.
    static func reportCrashes(_ boards: [(name: String, status: Int32)], interrupted: Bool) throws {
        var crashed: [String] = []
        for (name, st) in boards {
            let exited = st & 0x7f == 0
            if exited && (st >> 8) & 0xff == 0 { continue }
            if !exited && interrupted { continue }  // ended by Ctrl-C
            crashed.append(exited ? "\(name) (exit status \((st >> 8) & 0xff))" : "\(name) (signal \(st & 0x7f))")
        }
        if !crashed.isEmpty {
            writeStandardError("esplua: lab: \(crashed.joined(separator: ", ")) ended with an error\n")
            throw ExitCode(1)
        }
    }
}

/// The host's monotonic clock (µs), for the lab's figures.
enum HostClock {
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }
}

/// Whether a Unix stream socket at `path` accepts a connection now (closed at once).
func acceptsConnections(unixSocket path: String) -> Bool {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let fits = withUnsafeMutableBytes(of: &addr.sun_path) { raw -> Bool in
        let bytes = Array(path.utf8)
        guard bytes.count < raw.count else { return false }
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
        return true
    }
    guard fits else { return false }
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    } == 0
}

/// This executable's path (/proc/self/exe).
func selfExecutable() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    return n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
}

/// Starts `args` with stdout/stderr on the given descriptors (nil: /dev/null) and
/// each `extra` (fd, as) as the child's descriptor `as` (a lab's lockstep socket on 3,
/// the page's pipes); stdin is /dev/null. The child gets its own process group: a
/// terminal's Ctrl-C reaches the lab alone, which ends the boards, then the switch.
func spawn(_ args: [String], stdout: Int32?, stderr: Int32?, extra: [(Int32, Int32)] = []) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    if let stdout { posix_spawn_file_actions_adddup2(&actions, stdout, 1) } else { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
    if let stderr { posix_spawn_file_actions_adddup2(&actions, stderr, 2) } else { posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) }
    // dup2 onto itself would keep close-on-exec, and one's source may be another's
    // target: every source moves out of the way first
    let moved = extra.map { (fcntl($0.0, F_DUPFD_CLOEXEC, 10), $0.1) }
    defer { for (fd, _) in moved { close(fd) } }
    for (fd, target) in moved { posix_spawn_file_actions_adddup2(&actions, fd, target) }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attributes, 0)
    var pid: pid_t = 0
    let cargs = args.map { strdup($0) } + [nil]
    defer { for a in cargs { free(a) } }
    let r = posix_spawn(&pid, args[0], &actions, &attributes, cargs, environ)
    if r != 0 { fail("esplua: lab: cannot start \(args[0]): \(String(cString: strerror(r)))") }
    return pid
}
