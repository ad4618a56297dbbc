import ArduinoLua
import BoardCore
import BoardTesting
import Foundation
import LuaRuntime

// `make bench`: esplua against its limits, each figure beside a baseline measured
// in the same run, and their ratio. Nothing here passes or fails: it prints a table.

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

struct Row { let figure: String; let value: String; let baseline: String; let ratio: String }
nonisolated(unsafe) var rows: [Row] = []
nonisolated(unsafe) var notes: [String] = []

func fmt(_ v: Double, _ unit: String) -> String {
    let s = v >= 100 ? String(format: "%.0f", v) : v >= 10 ? String(format: "%.1f", v) : String(format: "%.2f", v)
    return "\(s) \(unit)"
}
func ratio(_ a: Double, _ b: Double) -> String { b == 0 ? "-" : String(format: "%.2fx", a / b) }
func report(_ figure: String, _ v: Double, _ unit: String, baseline: Double, _ bunit: String? = nil) {
    rows.append(Row(figure: figure, value: fmt(v, unit), baseline: fmt(baseline, bunit ?? unit), ratio: ratio(v, baseline)))
    FileHandle.standardError.write(Data("bench: \(figure): \(fmt(v, unit)) vs \(fmt(baseline, bunit ?? unit))\n".utf8))
}

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
// $ESPLUA (e.g. a debug build for a quick look), else the esplua built beside this
// binary (make bench: .build/release), else the package's release build
let exe =
    ProcessInfo.processInfo.environment["ESPLUA"]
    ?? [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("esplua").path,
        root.appendingPathComponent(".build/release/esplua").path,
    ].first { FileManager.default.isExecutableFile(atPath: $0) }!
let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("esplua-bench-\(getpid())")
try? FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
func sketch(_ name: String, _ text: String, world: String? = nil) -> String {
    let p = tmp.appendingPathComponent(name).path
    try? text.write(toFile: p, atomically: true, encoding: .utf8)
    if let world { try? world.write(toFile: String(p.dropLast(4)) + ".world.json", atomically: true, encoding: .utf8) }
    return p
}

// MARK: 0. `make soak` (Benchmarks soak N): a check, not a figure; exits 1 when something is left behind

if CommandLine.arguments.count >= 2 && CommandLine.arguments[1] == "soak" {
    let n = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 100_000 : 100_000
    let path = sketch("soak.lua", SoakPeer.sketch)
    let t0 = now()
    let r = try SoakPeer.soak(connections: n, sketchPath: path)
    let wall = now() - t0
    let byEnding = SoakPeer.Ending.allCases.map { "\($0): \(r.finished[$0] ?? 0)" }.joined(separator: ", ")
    print("soak: \(n) connections in \(String(format: "%.1f", wall)) s (\(String(format: "%.0f", r.boardSeconds)) s of board time): \(byEnding)")
    print(
        "soak: free heap \(r.heapBefore) B before, \(r.heapAfter) B after; lwIP holds \(r.lwipBefore) B before, \(r.lwipAfter) B after; \(r.pcbsLeft) pcbs left"
    )
    print("soak: host RSS \(r.rssEarly / 1024) MB after \(n / 10) connections, \(r.rssEnd / 1024) MB at the end")
    var failed: [String] = r.problems
    if r.outcome != .finished { failed.append("the run ended with \(r.outcome)") }
    if r.heapAfter != r.heapBefore { failed.append("heap not back to the baseline") }
    if r.lwipAfter != r.lwipBefore { failed.append("lwIP's allocations not back to the baseline") }
    if r.pcbsLeft != 0 { failed.append("pcbs left") }
    if r.rssEnd - r.rssEarly > 1024 { failed.append("host RSS grew by \(r.rssEnd - r.rssEarly) KiB (more than 1 MB)") }
    for f in failed { print("soak: FAILED: \(f)") }
    exit(failed.isEmpty ? 0 : 1)
}

// MARK: 0b. `Benchmarks links`: only the link rows (defined below), as a table

if CommandLine.arguments.count >= 2 && CommandLine.arguments[1] == "links" {
    runLinkRows()
    for r in rows { print("| \(r.figure) | \(r.value) | \(r.baseline) | \(r.ratio) |") }
    for n in notes { print("- \(n)") }
    try? FileManager.default.removeItem(at: tmp)
    exit(0)
}

// `Benchmarks page`: only the page row
if CommandLine.arguments.count >= 2 && CommandLine.arguments[1] == "page" {
    pageRow()
    printTable()
    exit(0)
}

// `Benchmarks lab`: only the 30-board lab row (defined below)
if CommandLine.arguments.count >= 2 && CommandLine.arguments[1] == "lab" {
    labRow()
    printTable()
    exit(0)
}

// MARK: 0b. `make soak-lab` (Benchmarks soak-lab BOARDS SECONDS [GAP_MS [SEED]]): a lab of
// hello_server boards with visitors at random intervals (GAP_MS apart on average, 100 by
// default); exits 1 when a board crashed or visits failed

if CommandLine.arguments.count >= 2 && CommandLine.arguments[1] == "soak-lab" {
    let arguments = CommandLine.arguments
    let boards = arguments.count > 2 ? Int(arguments[2]) ?? 30 : 30
    let seconds = arguments.count > 3 ? Double(arguments[3]) ?? 600 : 600
    let gap = arguments.count > 4 ? Double(arguments[4]) ?? 100 : 100
    let seed = arguments.count > 5 ? UInt64(arguments[5]) ?? 0x8266 : 0x8266
    // forwards on ports no one else is likely to hold (two soaks at once differ by pid)
    let basePort = LabSoak.basePort(boards: boards)
    let r = try LabSoak.run(
        esplua: exe, sketch: root.appendingPathComponent("sketches/hello_server.lua").path, boards: boards, seconds: seconds,
        basePort: basePort, meanGapMillis: gap, seed: seed,
        progress: {
            print($0)
            fflush(nil)  // each failure as it happens, into a file too
        })
    let pss = r.boardPSSKiB
    print(
        "lab-soak: \(r.boards) boards for \(String(format: "%.0f", r.seconds)) s: \(r.visits) visits, \(r.failedVisits.count) failed, "
            + "\(r.expectedFailures.count) failed as a board does (the host reused a port the board held in TIME_WAIT); "
            + "\(r.boardsAlive) boards running at the end, \(r.crashes.count) crash lines")
    print(
        "lab-soak: CPU \(String(format: "%.1f", r.cpuPercent)) % of one core (lab, switch and boards; \(String(format: "%.2f", r.cpuPercent / Double(max(boards, 1)))) % per board)"
    )
    if !pss.isEmpty {
        print(
            "lab-soak: PSS per board \(pss.reduce(0, +) / pss.count) KiB on average (\(pss.min()!)–\(pss.max()!) KiB); "
                + "the lab's own (gateway, switch) \(r.labPSSKiB) KiB")
    }
    for f in r.expectedFailures.prefix(10) { print("lab-soak: failed visit, as a board does: \(f.prefix { $0 != "\n" })") }
    for f in r.failedVisits.prefix(10) { print("lab-soak: failed visit: \(f.prefix { $0 != "\n" })") }
    for p in r.problems { print("lab-soak: FAILED: \(p)") }
    exit(r.problems.isEmpty ? 0 : 1)
}

// MARK: 1. binding overhead

final class Marks: @unchecked Sendable { var times: [Double] = [] }
/// CPU time of the calling thread (s): another process on the core is not counted.
func threadCPUTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

do {
    let n = 1_000_000, rounds = 7
    let marks = Marks()
    let path = sketch(
        "bindings.lua",
        """
        function setup()
          ESP.wdtDisable()
          WiFi.begin("classroom", "esp8266rocks")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          local c = WiFiClient(); c:connect("echo.world", 7)
          -- every function through a local alias, the bare one too: a global lookup
          -- would be timed as well (digitalWrite's name sits on a hash collision chain in _G)
          local bare, dw, ms, av = __bare, digitalWrite, millis, c.available
          local N = \(n)
          for round = 1, \(rounds) do
            __mark(); for i = 1, N do end
            __mark(); for i = 1, N do bare(2, i & 1) end
            __mark(); for i = 1, N do dw(2, i & 1) end
            __mark(); for i = 1, N do ms() end
            __mark(); for i = 1, N do av(c) end
            __mark()
          end
        end
        function loop() delay(1000) end
        """, world: #"{ "services": [ { "name": "echo.world", "port": 7 } ] }"#)
    var options = DeviceOptions(sketchPath: path)
    options.board.timeMode = .virtual
    options.runFor = 120_000_000
    // the cost of the calls themselves: available() with nothing to read yields every
    // 100 µs of board time (optimistic_yield), as on a board, instead of waiting idly
    options.paceLoop = true
    options.prepareLua = { state in
        state.registerBareCFunction("__bare")
        state.setGlobal("__mark") { _ in
            marks.times.append(threadCPUTime()); return 0
        }
    }
    let device = try Device(options: options) { _ in }
    _ = device.run()
    device.shutdown()
    if marks.times.count == 6 * rounds {
        // each segment's best round (the least disturbed), the empty loop subtracted
        var best = [Double](repeating: .infinity, count: 5)
        for r in 0..<rounds {
            let m = marks.times[(r * 6)..<(r * 6 + 6)]
            for k in 0..<5 { best[k] = min(best[k], m[m.startIndex + k + 1] - m[m.startIndex + k]) }
        }
        let per = best.map { max(1e-9, $0 - best[0]) }
        let bare = Double(n) / per[1]
        report("digitalWrite(pin, v) calls/s (vs a bare C function)", Double(n) / per[2] / 1e6, "M/s", baseline: bare / 1e6)
        report("millis() calls/s (vs a bare C function)", Double(n) / per[3] / 1e6, "M/s", baseline: bare / 1e6)
        report("client:available() calls/s (vs a bare C function)", Double(n) / per[4] / 1e6, "M/s", baseline: bare / 1e6)
        notes.append("binding rows: the best of \(rounds) rounds of \(n) calls each, in the thread's CPU time, in virtual time, all through local aliases")
    } else {
        notes.append("binding benchmark did not complete (\(marks.times.count) marks)")
    }
}

// MARK: helpers for the host side

func freePort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var a = sockaddr_in(); a.sin_family = sa_family_t(AF_INET); a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return UInt16(bigEndian: a.sin_port)
}

func connectTo(_ port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var tv = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var a = sockaddr_in(); a.sin_family = sa_family_t(AF_INET); a.sin_port = port.bigEndian; a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    if r != 0 { close(fd); return -1 }
    return fd
}

func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { return }
        off += n
    }
}

/// Reads one HTTP response (headers + Content-Length body, or until close).
func readResponse(_ fd: Int32) -> Bool {
    var buf = [UInt8](repeating: 0, count: 4096), got: [UInt8] = []
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { return !got.isEmpty }
        got += buf[0..<n]
        let text = String(decoding: got, as: UTF8.self)
        if let r = text.range(of: "\r\n\r\n") {
            let headers = text[..<r.lowerBound]
            if let cl = headers.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
                let len = Int(cl.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
            {
                if got.count - text.utf8.distance(from: text.startIndex, to: r.upperBound) >= len { return true }
            }
        }
    }
}

/// A native HTTP server on loopback answering the sketch's bytes (the host's TCP limit).
func nativeServer(port: UInt16, response: [UInt8], keepAlive: Bool) -> Thread {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var one: Int32 = 1
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var a = sockaddr_in(); a.sin_family = sa_family_t(AF_INET); a.sin_port = port.bigEndian; a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    listen(listener, 64)
    let t = Thread {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let c = accept(listener, nil, nil)
            if c < 0 { return }
            while true {
                let n = recv(c, &buf, buf.count, 0)
                if n <= 0 { break }
                sendAll(c, response)
                if !keepAlive { break }
            }
            close(c)
        }
    }
    t.start()
    return t
}

func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * p))]
}

/// Runs `requests` sequential requests; returns (requests/s, p50 ms, p99 ms).
/// The best (highest rate) of `tries` runs of `load`: the machine is shared, and a
/// cross-core wake-up of either side costs more than a request.
func bestLoad(port: UInt16, requests: Int, keepAlive: Bool, tries: Int = 5) -> (Double, Double, Double) {
    (0..<tries).map { _ in load(port: port, requests: requests, keepAlive: keepAlive) }.max { $0.0 < $1.0 }!
}

func load(port: UInt16, requests: Int, keepAlive: Bool) -> (Double, Double, Double) {
    let request = Array("GET / HTTP/1.1\r\nHost: esp\r\n\r\n".utf8)
    var latencies: [Double] = []
    let start = now()
    var fd: Int32 = -1
    for _ in 0..<requests {
        let t0 = now()
        if fd < 0 || !keepAlive { if fd >= 0 { close(fd) }; fd = connectTo(port) }
        guard fd >= 0 else { continue }
        sendAll(fd, request)
        if readResponse(fd) { latencies.append((now() - t0) * 1000) } else { close(fd); fd = -1 }
        if !keepAlive { close(fd); fd = -1 }
    }
    if fd >= 0 { close(fd) }
    let elapsed = now() - start
    return (Double(latencies.count) / elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99))
}

/// Starts esplua on `sketch` and waits for `ready` on its stdout.
func startEsplua(_ args: [String], ready: String, binary: String = exe) -> Process? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.standardInput = FileHandle.nullDevice  // no serial input
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return nil }
    var text = ""
    let deadline = now() + 20
    while !text.contains(ready) && now() < deadline {
        text += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
    }
    // keep reading its Serial output: a full pipe would block the board's writes
    let reader = out.fileHandleForReading
    Thread { while !reader.availableData.isEmpty {} }.start()
    return text.contains(ready) ? p : nil
}

// MARK: 2. HTTP through the forward

let body = "Hello from esplua!\n"
let closeResponse = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
let keepResponse = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: keep-alive\r\n\r\n\(body)".utf8)
do {
    let keepSketch = sketch(
        "keepalive.lua",
        """
        local server = WiFiServer(80)
        local clients = {}
        function setup()
          WiFi.begin("classroom", "esp8266rocks")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          server:begin()
          print("ready")
        end
        function loop()
          local c = server:accept()
          if c then c:setNoDelay(true); clients[#clients + 1] = c end
          for i = #clients, 1, -1 do
            local k = clients[i]
            if k:available() > 0 then
              repeat local line = k:readStringUntil("\\n") until line == "\\r" or line == ""
              k:print("HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: \(body.utf8.count)\\r\\nConnection: keep-alive\\r\\n\\r\\nHello from esplua!\\n")
            elseif not k:connected() then
              k:stop(); table.remove(clients, i)
            end
          end
        end
        """)
    let requests = 300
    let port = freePort()
    if let p = startEsplua(
        ["run", root.appendingPathComponent("sketches/hello_server.lua").path, "--forward", "\(port):80", "--for", "120s"], ready: "HTTP server on port 80")
    {
        let emu = bestLoad(port: port, requests: requests, keepAlive: false)
        p.terminate(); p.waitUntilExit()
        let nport = freePort()
        _ = nativeServer(port: nport, response: closeResponse, keepAlive: false)
        let native = bestLoad(port: nport, requests: requests, keepAlive: false)
        notes.append("HTTP rows: the best of 5 runs of \(requests) sequential requests, for esplua and for the native server alike")
        report("HTTP, a connection per request: requests/s (vs native loopback server)", emu.0, "req/s", baseline: native.0)
        report("HTTP, a connection per request: p50 latency", emu.1, "ms", baseline: native.1)
        report("HTTP, a connection per request: p99 latency", emu.2, "ms", baseline: native.2)
    } else {
        notes.append("hello_server did not start")
    }
    let kport = freePort()
    if let p = startEsplua(["run", keepSketch, "--forward", "\(kport):80", "--for", "120s"], ready: "ready") {
        let emu = bestLoad(port: kport, requests: requests, keepAlive: true)
        p.terminate(); p.waitUntilExit()
        let nport = freePort()
        _ = nativeServer(port: nport, response: keepResponse, keepAlive: true)
        let native = bestLoad(port: nport, requests: requests, keepAlive: true)
        report("HTTP keep-alive: requests/s (vs native loopback server)", emu.0, "req/s", baseline: native.0)
        report("HTTP keep-alive: p50 latency", emu.1, "ms", baseline: native.1)
    } else {
        notes.append("the keep-alive sketch did not start")
    }
    notes.append(
        "real ESP8266 for comparison: sequential requests to ESP8266WebServer finish in under 40 ms each, i.e. about 25 req/s (esp8266/Arduino#3467, WeMos D1 mini, core 2.3.0)"
    )
}

// MARK: 2b. HTTP with the web page open

/// Starts `esplua ARGS --ui 127.0.0.1:0`; waits for `ready` on its stdout and returns
/// the process and the page's URL (from its stderr).
func startWithPage(_ args: [String], ready: String) -> (Process, String)? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.standardInput = FileHandle.nullDevice
    p.arguments = args + ["--ui", "127.0.0.1:0"]
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    do { try p.run() } catch { return nil }
    var text = "", errText = ""
    let deadline = now() + 20
    while !(text.contains(ready) && errText.contains("?token=")) && now() < deadline {
        text += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        if !errText.contains("?token=") { errText += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self) }
    }
    for reader in [out.fileHandleForReading, err.fileHandleForReading] { Thread { while !reader.availableData.isEmpty {} }.start() }
    guard text.contains(ready), let line = errText.split(separator: "\n").first(where: { $0.contains("?token=") }) else {
        p.terminate()
        return nil
    }
    return (p, String(line.split(separator: " ").last!))
}

/// A WebSocket client of the page that reads every message as a browser's network
/// layer does (and draws nothing): counts messages and bytes until the server closes.
final class PageWatcher: @unchecked Sendable {
    private(set) var messages = 0
    private(set) var bytes = 0
    private let fd: Int32

    init?(url: String) {
        let hostPort = url.split(separator: "/")[1]
        let token = String(url.split(separator: "=").last!)
        guard let port = UInt16(hostPort.split(separator: ":")[1]) else { return nil }
        fd = connectTo(port)
        guard fd >= 0 else { return nil }
        sendAll(
            fd,
            Array(
                ("GET /ws?token=\(token) HTTP/1.1\r\nHost: \(hostPort)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://\(hostPort)\r\n\r\n").utf8))
        Thread { [self] in read() }.start()
    }

    private func read() {
        var got: [UInt8] = [], upgraded = false
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            got += buf[0..<n]
            if !upgraded {
                guard let i = (0..<max(0, got.count - 3)).first(where: { got[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) }) else { continue }
                got.removeFirst(i + 4)
                upgraded = true
            }
            var at = 0
            while got.count - at >= 2 {
                var length = Int(got[at + 1] & 0x7F), offset = 2
                if length == 126 {
                    guard got.count - at >= 4 else { break }
                    length = Int(got[at + 2]) << 8 | Int(got[at + 3])
                    offset = 4
                } else if length == 127 {
                    guard got.count - at >= 10 else { break }
                    length = got[(at + 2)..<(at + 10)].reduce(0) { $0 << 8 | Int($1) }
                    offset = 10
                }
                guard got.count - at >= offset + length else { break }
                messages += 1
                bytes += length
                at += offset + length
            }
            got.removeFirst(at)
        }
    }
}

/// The page row: the same sketch, two boards: one without a page, one with its page
/// served and a WebSocket client reading every message; rounds alternate between them.
func pageRow() {
    // short rounds: slirp keeps every connection the client closed first in TIME_WAIT
    // for 10 s and walks them all on each state change, so a board's rate falls with
    // its requests of the last 10 s; in rounds of 50 both boards have nearly the same
    // history at every moment (and meet the same load on the machine)
    let requests = 50, rounds = 200
    let plainPort = freePort(), pagePort = freePort()
    let sketchPath = root.appendingPathComponent("sketches/hello_server.lua").path
    if let plain = startEsplua(["run", sketchPath, "--forward", "\(plainPort):80", "--for", "300s"], ready: "HTTP server on port 80"),
        let (paged, url) = startWithPage(["run", sketchPath, "--forward", "\(pagePort):80", "--for", "300s"], ready: "HTTP server on port 80")
            .map({ ($0.0, $0.1) }),
        let watcher = PageWatcher(url: url)
    {
        usleep(300_000)  // the watcher has the hello and the past
        var without: [Double] = [], with: [Double] = []
        let before = watcher.messages
        let cpu0 = (cpuSeconds(plain.processIdentifier) ?? 0, cpuSeconds(paged.processIdentifier) ?? 0)
        let threads0 = (ThreadCounters(plain.processIdentifier), ThreadCounters(paged.processIdentifier))
        let t0 = now()
        // ABBA: neither board always runs right after the other
        for round in 0..<rounds {
            if round % 2 == 0 {
                without.append(load(port: plainPort, requests: requests, keepAlive: false).0)
                with.append(load(port: pagePort, requests: requests, keepAlive: false).0)
            } else {
                with.append(load(port: pagePort, requests: requests, keepAlive: false).0)
                without.append(load(port: plainPort, requests: requests, keepAlive: false).0)
            }
        }
        let seconds = now() - t0
        let cpu1 = (cpuSeconds(plain.processIdentifier) ?? 0, cpuSeconds(paged.processIdentifier) ?? 0)
        let threads = (ThreadCounters(plain.processIdentifier) - threads0.0, ThreadCounters(paged.processIdentifier) - threads0.1)
        let received = watcher.messages - before
        plain.terminate(); plain.waitUntilExit()
        paged.terminate(); paged.waitUntilExit()
        // the rate over all rounds (the machine's load changes from round to round; the
        // rounds alternate, so both boards meet the same load)
        func overall(_ rates: [Double]) -> Double { Double(rates.count * requests) / rates.reduce(0) { $0 + Double(requests) / $1 } }
        let a = overall(without), b = overall(with)
        let paired = zip(with, without).map { $0 / $1 }.sorted()
        report("HTTP with the page open and a WebSocket client reading it: requests/s (vs the same board without)", b, "req/s", baseline: a)
        // CPU per request does not depend on who else holds the cores
        let total = Double(rounds * requests)
        report(
            "HTTP with the page open: esplua's CPU per request (vs the same board without)", (cpu1.1 - cpu0.1) / total * 1000, "ms",
            baseline: (cpu1.0 - cpu0.0) / total * 1000)
        notes.append(
            "page row: hello_server.lua twice, one with --ui and a WebSocket client that reads every message (as a browser's network layer, drawing nothing: chromium's drawing on the same cores is the browser's cost, not esplua's); \(rounds) alternating rounds of \(requests) sequential requests to each board (in ABBA order), the rate over all of a board's rounds; the client got \(received) messages (\(watcher.bytes / 1024) KB in all) in \(fmt(seconds, "s")); the median of the rounds' ratios \(String(format: "%.2f", paired[paired.count / 2]))x; the rounds' rates (quartiles): without \(quartiles(without)), with \(quartiles(with)) req/s; CPU: utime + stime of each board process over all rounds, divided by the requests (the page's server thread included); per request, without: \(threads.0.perRequest(total)); with: \(threads.1.perRequest(total))"
        )
    } else {
        notes.append("the page row: a board or its page did not start")
    }
}

/// "q1 / median / q3" of `values`.
func quartiles(_ values: [Double]) -> String {
    let v = values.sorted()
    guard !v.isEmpty else { return "-" }
    return [v.count / 4, v.count / 2, v.count * 3 / 4].map { String(format: "%.0f", v[$0]) }.joined(separator: " / ")
}

/// The table so far, then the notes.
func printTable() {
    let w0 = max(6, rows.map(\.figure.count).max() ?? 0), w1 = max(6, rows.map(\.value.count).max() ?? 0)
    let w2 = max(8, rows.map(\.baseline.count).max() ?? 0)
    func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
    print("| \(pad("figure", w0)) | \(pad("esplua", w1)) | \(pad("baseline", w2)) | ratio |")
    print("|\(String(repeating: "-", count: w0 + 2))|\(String(repeating: "-", count: w1 + 2))|\(String(repeating: "-", count: w2 + 2))|-------|")
    for r in rows { print("| \(pad(r.figure, w0)) | \(pad(r.value, w1)) | \(pad(r.baseline, w2)) | \(r.ratio) |") }
    for n in notes { print("- \(n)") }
}

pageRow()

// MARK: 3. bulk transfer

/// 1 MiB board -> host and host -> board through forwards, with the esplua at `binary`; MB/s each way.
func bulkTransfer(_ binary: String, extra: [String] = [], mib: Int = 1 << 20) -> (down: Double, up: Double)? {
    let bulk = sketch(
        "bulk.lua",
        """
        local tx, rx = WiFiServer(90), WiFiServer(91)
        function setup()
          WiFi.begin("classroom", "esp8266rocks")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          tx:begin(); rx:begin()
          print("ready")
        end
        local chunk = string.rep("x", 1024)
        function loop()
          local c = tx:accept()
          if c then
            for i = 1, \(mib / 1024) do c:write(chunk) end
            c:stop()
          end
          local r = rx:accept()
          if r then
            local got = 0
            while got < \(mib) do
              local n = r:available()
              if n > 0 then got = got + #r:read(n) elseif not r:connected() then break else yield() end
            end
            r:print("done " .. got .. "\\n")
            r:stop()
          end
        end
        """)
    let p1 = freePort(), p2 = freePort()
    guard let p = startEsplua(["run", bulk, "--forward", "\(p1):90", "--forward", "\(p2):91", "--for", "300s"] + extra, ready: "ready", binary: binary) else {
        return nil
    }
    defer { p.terminate(); p.waitUntilExit() }
    var t0 = now()
    var fd = connectTo(p1)
    var total = 0
    var buf = [UInt8](repeating: 0, count: 65536)
    while true { let n = recv(fd, &buf, buf.count, 0); if n <= 0 { break }; total += n }
    close(fd)
    let down = Double(total) / (now() - t0) / 1e6
    t0 = now()
    fd = connectTo(p2)
    sendAll(fd, [UInt8](repeating: 0x41, count: mib))
    var reply = ""
    while !reply.contains("\n") { let n = recv(fd, &buf, buf.count, 0); if n <= 0 { break }; reply += String(decoding: buf[0..<n], as: UTF8.self) }
    close(fd)
    let up = Double(mib) / (now() - t0) / 1e6
    if total != mib || !reply.hasPrefix("done \(mib)") { notes.append("bulk transfer incomplete: \(total) B down, reply '\(reply)'") }
    return (down, up)
}

/// The same MiB over loopback TCP between two host sockets.
func nativeBulk() -> Double {
    let mib = 1 << 20
    let lport = freePort()
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var a = sockaddr_in(); a.sin_family = sa_family_t(AF_INET); a.sin_port = lport.bigEndian; a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    listen(listener, 4)
    let sender = Thread {
        let c = accept(listener, nil, nil); sendAll(c, [UInt8](repeating: 0x42, count: mib)); close(c)
    }
    sender.start()
    let t0 = now()
    let fd = connectTo(lport)
    var total = 0
    var buf = [UInt8](repeating: 0, count: 65536)
    while true { let n = recv(fd, &buf, buf.count, 0); if n <= 0 { break }; total += n }
    close(fd); close(listener)
    return Double(total) / (now() - t0) / 1e6
}

do {
    let native = nativeBulk()
    let variant = root.appendingPathComponent(".build-1460/release/esplua").path
    for (mss, binary) in [(536, exe), (1460, variant)] {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            notes.append("MSS \(mss): no build at \(binary) (make bench builds it)")
            continue
        }
        guard let r = bulkTransfer(binary) else { notes.append("the bulk sketch did not start (MSS \(mss))"); continue }
        report("bulk 1 MiB board -> host, MSS \(mss) (vs native loopback)", r.down, "MB/s", baseline: native)
        report("bulk 1 MiB host -> board, MSS \(mss) (vs native loopback)", r.up, "MB/s", baseline: native)
    }
    notes.append(
        "a real board is window-limited: TCP_WND 2144 B (MSS 536) or 5840 B (1460) per round trip; a field figure is ~0.19 MB/s (an 89 KB file in 0.46 s from an ESP8266 web server, Moddable-OpenSource/moddable#209)"
    )
}

// MARK: 3b. links: round trip and bulk TCP on `ideal` and `wifi`, beside the field

/// Median TCP round trip (ms of board time, virtual time) of one byte echoed by a
/// world service, and the median connect time (DNS already cached), on `link`.
func linkRoundTrip(_ link: String) -> (echo: Double, connect: Double)? {
    let s = sketch(
        "rtt.lua",
        """
        function setup()
          WiFi.begin("classroom", "esp8266rocks")
          while WiFi.status() ~= WL_CONNECTED do delay(10) end
          WiFi.hostByName("echo.world")
          for i = 1, 21 do
            local c = WiFiClient()
            local t = micros()
            c:connect("echo.world", 7)
            local t1 = micros()
            c:setNoDelay(true)
            c:write("x")
            while c:available() == 0 do yield() end
            c:read()
            print(string.format("rtt %d %d", t1 - t, micros() - t1))
            c:stop()
            delay(50)
          end
        end
        function loop() delay(1000) end
        """, world: #"{ "services": [ { "name": "echo.world", "port": 7, "reply": "echo" } ] }"#)
    let r = timeRun(["run", s, "--time", "virtual", "--for", "10s", "--link", link], keepOutput: true)
    let rows = r.output.split(separator: "\n").filter { $0.hasPrefix("rtt ") }.map { $0.split(separator: " ").compactMap { Double($0) } }
    guard rows.count == 21 else { return nil }
    return (percentile(rows.map { $0[1] / 1000 }, 0.5), percentile(rows.map { $0[0] / 1000 }, 0.5))
}

func runLinkRows() {
    for link in ["ideal", "wifi"] {
        guard let rtt = linkRoundTrip(link) else { notes.append("the round-trip sketch did not finish on \(link)"); continue }
        report("link \(link): TCP echo round trip, board time (vs ESP8266 ping on a home AP)", rtt.echo, "ms", baseline: 2.1)
        report("link \(link): TCP connect, board time (vs the same ping)", rtt.connect, "ms", baseline: 2.1)
    }
    for link in ["ideal", "wifi"] {
        guard let r = bulkTransfer(exe, extra: ["--link", link], mib: 1 << 19) else { notes.append("the bulk sketch did not start on \(link)"); continue }
        report("link \(link): bulk 512 KiB board -> host, real time (vs field 0.19 MB/s)", r.down, "MB/s", baseline: 0.19)
        report("link \(link): bulk 512 KiB host -> board, real time (vs field 0.19 MB/s)", r.up, "MB/s", baseline: 0.19)
    }
    notes.append(
        "link rows: ping round trips from a PC to an ESP8266 (NONOS SDK 3.0.3) on a home AP were 1.3–6.3 ms, median about 2.1 ms (espressif/ESP8266_NONOS_SDK#371); the field's bulk figure is an ESP8266 web server sending an 89 KB file in 0.46 s (Moddable-OpenSource/moddable#209). A board's TCP is window-limited: it sends at most TCP_SND_BUF = 2 × 536 B and receives at most TCP_WND = 4 × 536 B per round trip"
    )
}

runLinkRows()

// MARK: 4. virtual time

/// Starts esplua with its stdout on a pipe (returned, for the caller to read and
/// close) and its stderr on /dev/null. The pipe's ends are close-on-exec, so
/// children started later do not inherit them.
func spawnEsplua(_ args: [String]) -> (pid: pid_t, stdout: Int32)? {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { return nil }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)  // no serial input
    let argv: [UnsafeMutablePointer<CChar>?] = ([exe] + args).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let r = posix_spawn(&pid, exe, &actions, nil, argv, environ)
    close(fds[1])
    guard r == 0 else { close(fds[0]); return nil }
    return (pid, fds[0])
}

/// Runs esplua to the end: wall time, its peak RSS (VmHWM, sampled every 2 ms
/// while it runs: a spawned child's ru_maxrss starts from the parent's), the
/// time to its first byte of output, its exit status (-1 if it did not start or
/// exit normally) and, with `keepOutput`, its stdout.
func timeRun(_ args: [String], keepOutput: Bool = false) -> (wall: Double, rssKB: Int, firstLine: Double, status: Int32, output: String) {
    let t0 = now()
    guard let (pid, out) = spawnEsplua(args) else { return (0, 0, 0, -1, "") }
    final class Peak: @unchecked Sendable { var kb = 0; var done = false }
    let peak = Peak()
    let child = pid
    let sampler = Thread {
        while !peak.done {
            if let text = try? String(contentsOfFile: "/proc/\(child)/status", encoding: .utf8),
                let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let kb = Int(line.split(separator: " ").dropFirst().first ?? "")
            {
                peak.kb = max(peak.kb, kb)
            }
            usleep(2000)
        }
    }
    sampler.start()
    var first = 0.0
    var buf = [UInt8](repeating: 0, count: 65536), output: [UInt8] = []
    while true {
        let n = read(out, &buf, buf.count)
        if n <= 0 { break }
        if first == 0 { first = now() - t0 }
        if keepOutput { output += buf[0..<n] }
    }
    close(out)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    peak.done = true
    let exited = status & 0x7F == 0 ? (status >> 8) & 0xFF : -1  // WIFEXITED, WEXITSTATUS
    return (now() - t0, peak.kb, first, exited, String(decoding: output, as: UTF8.self))
}

do {
    let blink = root.appendingPathComponent("sketches/blink.lua").path
    let r = timeRun(["run", blink, "--time", "virtual", "--for", "600s"])
    report("virtual time, blink.lua: board seconds per wall second (vs real time)", 600 / r.wall, "x", baseline: 1)
    let churn = sketch(
        "churn.lua",
        """
        local server = WiFiServer(80)
        function setup()
          WiFi.begin("classroom", "esp8266rocks")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          server:begin()
        end
        function loop()
          local c = server:accept()
          if c then
            repeat local line = c:readStringUntil("\\n") until line == "\\r" or line == ""
            c:print("HTTP/1.0 200 OK\\r\\n\\r\\nok\\r\\n")
            c:stop()
          end
          delay(1)
        end
        """, world: #"{ "visitors": [ { "port": 80, "at": "3s", "every": "100ms", "count": 1000, "send": "GET / HTTP/1.0\r\n\r\n" } ] }"#)
    let c = timeRun(["run", churn, "--time", "virtual", "--for", "240s"])
    report("virtual time, 1000 connections opened and stop()ped, TIME_WAIT expiring: board s per wall s", 240 / c.wall, "x", baseline: 1)
    // the lesson as its header runs it: visitors from timewait_heap.world.json, the last report after 2*MSL
    let lesson = root.appendingPathComponent("sketches/timewait_heap.lua").path
    let tw = timeRun(["run", lesson, "--time", "virtual", "--for", "170s"], keepOutput: true)
    report("virtual time, timewait_heap.lua lesson: board s per wall s", 170 / tw.wall, "x", baseline: 1)
    if tw.status != 0 || !tw.output.contains("2*MSL after the last stop()") {
        notes.append("timewait_heap.lua did not run to its last report (exit status \(tw.status))")
    }
}

// MARK: 5. start-up and footprint

var helpPeakKB = 0  // the peak RSS of `esplua --help`, also a baseline in section 6
do {
    let blink = root.appendingPathComponent("sketches/blink.lua").path
    var firsts: [Double] = [], rss: [Int] = []
    for _ in 0..<5 {
        // virtual time: the 60 ms the board takes to boot cost nothing, so this is esplua's own start-up
        firsts.append(timeRun(["run", blink, "--time", "virtual", "--for", "1s"]).firstLine * 1000)
        rss.append(timeRun(["run", blink, "--time", "real", "--for", "0.3s"]).rssKB)
    }
    // baseline: the same process start with nothing to do (esplua's --help)
    var helps: [Double] = [], helpRSS: [Int] = []
    for _ in 0..<5 { let r = timeRun(["--help"]); helps.append(r.wall * 1000); helpRSS.append(r.rssKB) }
    report("start-up to the first line of blink.lua (vs `esplua --help`)", percentile(firsts, 0.5), "ms", baseline: percentile(helps, 0.5))
    report("peak RSS, blink.lua (vs `esplua --help`)", Double(rss.max() ?? 0) / 1024, "MB", baseline: Double(helpRSS.max() ?? 0) / 1024)
    let hs = timeRun(["run", root.appendingPathComponent("sketches/hello_server.lua").path, "--time", "real", "--for", "3s"])
    report("peak RSS, hello_server.lua (vs `esplua --help`)", Double(hs.rssKB) / 1024, "MB", baseline: Double(helpRSS.max() ?? 0) / 1024)
    helpPeakKB = helpRSS.max() ?? 0
}

// MARK: 6. idle boards in real time

/// CPU time (user + system, all threads) of process `pid` so far, in seconds:
/// fields 14 and 15 of /proc/PID/stat, in clock ticks.
func cpuSeconds(_ pid: pid_t) -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let paren = text.lastIndex(of: ")")
    else { return nil }
    let fields = text[text.index(after: paren)...].split(separator: " ")  // field 3 (state) onwards
    guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
    return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// A process's counters per thread kind, from /proc/PID/task/*: CPU seconds (utime +
/// stime) of its main thread (a board's loop) and of its other threads (the page's
/// server), and the context switches of all its threads (voluntary: it waited;
/// involuntary: the scheduler took the core).
struct ThreadCounters {
    var mainCPU = 0.0, otherCPU = 0.0
    var voluntary = 0, involuntary = 0

    init() {}

    init(_ pid: pid_t) {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for tid in tasks {
            if let seconds = cpuSeconds(pid, task: tid) {
                if tid == "\(pid)" { mainCPU += seconds } else { otherCPU += seconds }
            }
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8)) ?? ""
            for line in status.split(separator: "\n") {
                let parts = line.split(separator: ":")
                guard parts.count == 2, let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else { continue }
                if parts[0] == "voluntary_ctxt_switches" { voluntary += n }
                if parts[0] == "nonvoluntary_ctxt_switches" { involuntary += n }
            }
        }
    }

    static func - (a: ThreadCounters, b: ThreadCounters) -> ThreadCounters {
        var d = ThreadCounters()
        d.mainCPU = a.mainCPU - b.mainCPU
        d.otherCPU = a.otherCPU - b.otherCPU
        d.voluntary = a.voluntary - b.voluntary
        d.involuntary = a.involuntary - b.involuntary
        return d
    }

    /// "board thread 310 µs, others 2 µs, switches 0.02 + 0.9" per request.
    func perRequest(_ n: Double) -> String {
        String(
            format: "board thread %.0f µs, other threads %.1f µs, context switches %.2f voluntary + %.2f involuntary",
            mainCPU / n * 1e6, otherCPU / n * 1e6, Double(voluntary) / n, Double(involuntary) / n)
    }
}

/// utime + stime of one thread of `pid`, in seconds.
func cpuSeconds(_ pid: pid_t, task: String) -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
        let paren = text.lastIndex(of: ")")
    else { return nil }
    let fields = text[text.index(after: paren)...].split(separator: " ")
    guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
    return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// The 1-minute load average (other work on the machine competes for the cores).
func loadAverage() -> String {
    String((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first ?? "?")
}

/// The total CPU of `pids` over `seconds` of wall time, in percent of one core.
func cpuPercent(_ pids: [pid_t], over seconds: Double) -> Double {
    let t0 = now()
    let before = pids.map(cpuSeconds)
    usleep(UInt32(seconds * 1e6))
    let after = pids.map(cpuSeconds)
    let wall = now() - t0
    let used = zip(before, after).reduce(0.0) { sum, pair in
        guard let b = pair.0, let a = pair.1 else { return sum }
        return sum + a - b
    }
    return used / wall * 100
}

/// Proportional set size of process `pid` in kB: the Pss: line of /proc/PID/smaps_rollup.
func pssKB(_ pid: pid_t) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Pss:") })
    else { return nil }
    return Int(line.split(separator: " ").dropFirst().first ?? "")
}

/// One GET / through a forward, read until the board closes: did a 200 come back?
func getOK(_ port: UInt16) -> Bool {
    let fd = connectTo(port)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    sendAll(fd, Array("GET / HTTP/1.1\r\nHost: esp\r\n\r\n".utf8))
    var buf = [UInt8](repeating: 0, count: 4096), got: [UInt8] = []
    while true { let n = recv(fd, &buf, buf.count, 0); if n <= 0 { break }; got += buf[0..<n] }
    return String(decoding: got, as: UTF8.self).hasPrefix("HTTP/1.1 200 OK")
}

struct BoardProcess { let pid: pid_t; let port: UInt16; let stdout: Int32 }

/// Starts `count` hello_server.lua boards at once, each with its own free forward
/// port and `--for`, then reads their stdout until each has printed its ready line
/// (or `timeout` s pass). Returns the boards started, how many became ready and
/// the seconds that took.
func startHelloServers(_ count: Int, runFor: String, timeout: Double) -> (boards: [BoardProcess], ready: Int, seconds: Double) {
    let t0 = now()
    let hello = root.appendingPathComponent("sketches/hello_server.lua").path
    var ports = Set<UInt16>()
    while ports.count < count { ports.insert(freePort()) }
    let boards = ports.compactMap { port in
        spawnEsplua(["run", hello, "--forward", "\(port):80", "--for", runFor]).map { BoardProcess(pid: $0.pid, port: port, stdout: $0.stdout) }
    }
    let ready = "HTTP server on port 80"
    var texts = [String](repeating: "", count: boards.count)
    var waiting = Set(boards.indices)
    var buf = [UInt8](repeating: 0, count: 4096)
    let deadline = now() + timeout
    while !waiting.isEmpty && now() < deadline {
        let order = Array(waiting)
        var fds = order.map { pollfd(fd: boards[$0].stdout, events: Int16(POLLIN), revents: 0) }
        if poll(&fds, nfds_t(fds.count), 100) < 0 && errno != EINTR { break }
        for (k, i) in order.enumerated() where fds[k].revents != 0 {
            let n = read(boards[i].stdout, &buf, buf.count)
            if n <= 0 { waiting.remove(i); continue }  // it exited before it was ready
            texts[i] += String(decoding: buf[0..<n], as: UTF8.self)
            if texts[i].contains(ready) { waiting.remove(i) }
        }
    }
    return (boards, texts.filter { $0.contains(ready) }.count, now() - t0)
}

/// SIGTERM to every board, SIGKILL to any still there after 2 s; reaps them all.
func stopBoards(_ boards: [BoardProcess]) {
    for b in boards { kill(b.pid, SIGTERM) }
    var left = Set(boards.map(\.pid))
    let deadline = now() + 2
    while !left.isEmpty {
        for pid in left {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) != 0 { left.remove(pid) }
        }
        if left.isEmpty { break }
        if now() > deadline {
            for pid in left { kill(pid, SIGKILL); var status: Int32 = 0; waitpid(pid, &status, 0) }
            break
        }
        usleep(10_000)
    }
    for b in boards { close(b.stdout) }
}

func reportCount(_ figure: String, _ n: Int, of total: Int) {
    rows.append(Row(figure: figure, value: "\(n) of \(total)", baseline: "\(total)", ratio: ratio(Double(n), Double(total))))
    FileHandle.standardError.write(Data("bench: \(figure): \(n) of \(total)\n".utf8))
}

do {
    let interval = 5.0
    // one board: the CPU an idle server costs, and it still answers
    let load = loadAverage()
    let one = startHelloServers(1, runFor: "60s", timeout: 30)
    defer { stopBoards(one.boards) }
    if one.ready == 1, let board = one.boards.first {
        report("idle hello_server.lua, real time: CPU over \(Int(interval)) s (vs one core)", cpuPercent([board.pid], over: interval), "%", baseline: 100)
        if !getOK(board.port) { notes.append("idle hello_server.lua: the HTTP request after the idle period failed") }
    } else {
        notes.append("idle hello_server.lua did not start")
    }
    notes.append(
        "CPU figures are utime + stime from /proc/PID/stat in 1/\(sysconf(Int32(_SC_CLK_TCK))) s ticks: over \(Int(interval)) s one tick is \(fmt(100 / Double(sysconf(Int32(_SC_CLK_TCK))) / interval, "%")) of a core; load average \(load) before the single board started (a busy machine holds a spinning board under 100 %)"
    )
}

do {
    // 30 boards at once, as a classroom would run them
    let count = 30, interval = 5.0
    let load = loadAverage()
    let many = startHelloServers(count, runFor: "120s", timeout: 60)
    defer { stopBoards(many.boards) }
    notes.append(
        "\(count) boards: \(many.ready) of \(count) printed their ready line, \(fmt(many.seconds, "s")) after they were started; \(sysconf(Int32(_SC_NPROCESSORS_ONLN))) cores, load average \(load) just before; the boards share the cores with everything else running (with autogroup scheduling, as one group against other sessions)"
    )
    if many.ready > 0 {
        let pids = many.boards.map(\.pid)
        let cpu = cpuPercent(pids, over: interval)
        let pss = pids.compactMap(pssKB).reduce(0, +)
        let answered = many.boards.filter { getOK($0.port) }.count
        report("\(count) idle hello_server.lua boards at once: total CPU over \(Int(interval)) s (vs one core)", cpu, "%", baseline: 100)
        report(
            "\(count) idle hello_server.lua boards: total PSS (vs \(count) x peak RSS of `esplua --help`)", Double(pss) / 1024, "MB",
            baseline: Double(count * helpPeakKB) / 1024)
        reportCount("\(count) idle hello_server.lua boards: one GET each answered 200 OK", answered, of: count)
        notes.append(
            "\(count) boards, PSS baseline: \(count) `esplua --help` processes sharing no page; PSS divides each shared page (libraries, the binary) among all processes that map it, this benchmark's included, so the sum is a little under what the \(count) alone would cost"
        )
    }
}

func labRow() {
    // a class's lab (issue: the class network): 30 boards on one VDE switch behind the
    // gateway, each leased by its DHCP, one GET each through a forward, then at rest
    let count = 30, seconds = 20.0
    let load = loadAverage()
    let basePort = LabSoak.basePort(boards: count)
    do {
        let r = try LabSoak.run(
            esplua: exe, sketch: root.appendingPathComponent("sketches/hello_server.lua").path, boards: count, seconds: seconds,
            basePort: basePort, idle: true)
        reportCount(
            "lab of \(count) hello_server.lua boards: one GET each through the gateway answered 200 OK",
            r.visits - r.failedVisits.count - r.expectedFailures.count, of: count)
        report("lab of \(count) idle boards: CPU of the lab, its switch and boards over \(Int(seconds)) s (vs one core)", r.cpuPercent, "%", baseline: 100)
        if !r.boardPSSKiB.isEmpty {
            let avg = Double(r.boardPSSKiB.reduce(0, +)) / Double(r.boardPSSKiB.count) / 1024
            report("lab of \(count) idle boards: PSS per board (vs the goal, 15 MB)", avg, "MB", baseline: 15)
        }
        notes.append(
            "lab of \(count): \(r.boardsAlive) boards running at the end, \(r.crashes.count) crash lines; the lab's own PSS (gateway, switch) \(fmt(Double(r.labPSSKiB) / 1024, "MB")); load average \(load) before it started"
        )
    } catch {
        notes.append("lab of \(count) boards: \(error)")
    }
}

labRow()

// MARK: the table

printTable()
try? FileManager.default.removeItem(at: tmp)
