import Foundation
import XCTest

@testable import BoardTesting

/// The `esplua` executable as a user runs it: exit codes, messages, example
/// sketches against golden transcripts (virtual time), and curl through --forward.
class EspluaTestCase: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Result { let status: Int32; let stdout: String; let stderr: String }

    func esplua(_ args: [String], timeout: TimeInterval = 60) throws -> Result {
        let exe = ["debug", "release"].map { Self.root.appendingPathComponent(".build/\($0)/esplua") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        let p = Process()
        p.executableURL = try XCTUnwrap(exe, "build esplua first")
        p.arguments = args
        p.currentDirectoryURL = Self.root
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Runs `sketches/NAME.lua` in virtual time for `duration` and checks stdout against its golden.
    @discardableResult
    func assertGolden(_ name: String, for duration: String, extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let r = try esplua(["run", "sketches/\(name).lua", "--time", "virtual", "--for", duration] + extra, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        XCTAssertEqual(r.stdout, try golden(name), file: file, line: line)
        return r
    }

    /// Starts esplua in the background and waits (15 s at most) for `ready` on its stdout.
    func startEsplua(_ args: [String], waitingFor ready: String) throws -> (process: Process, output: Pipe, transcript: String) {
        let p = Process()
        p.executableURL = Self.root.appendingPathComponent(".build/debug/esplua")
        p.arguments = args
        p.currentDirectoryURL = Self.root
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        var transcript = ""
        let deadline = Date().addingTimeInterval(15)
        while !transcript.contains(ready) && Date() < deadline {
            transcript += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        }
        return (p, out, transcript)
    }

    func golden(_ name: String) throws -> String {
        try String(contentsOf: Self.root.appendingPathComponent("Tests/espluaTests/golden/\(name).txt"), encoding: .utf8)
    }

    func tempSketch(_ source: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString).lua")
        try source.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

}

/// The `esplua` executable as a user runs it.
final class CLITests: EspluaTestCase {
    // MARK: example sketches

    func testBlinkMatchesItsGoldenTranscript() throws {
        try assertGolden("blink", for: "60s")
    }

    // The core's NTP-TZ-DST example (libraries/esp8266/examples/NTP-TZ-DST) in Lua: the
    // hand-set "RTC" time, then the SNTP answer of the world's NTP service starts the
    // time machine, whose DST flags follow TZ_Europe_London (TZ.h:461) as newlib's would
    func testNTPTZDSTMatchesItsGoldenTranscript() throws {
        let r = try assertGolden("ntp_tz_dst", for: "70s")
        XCTAssertTrue(r.stdout.contains("settimeofday(SNTP): future=  0days: DST=false - Sun Mar 31 00:59:32 2024"))
        XCTAssertTrue(r.stdout.contains("localtime: isdst=1 yday=90 wday=0 year=124 mon=2 mday=31 hour=2 min=0 sec=0"))
    }

    // Five boots counted in RTC memory across four deep sleeps (Esp.cpp:119-192)
    func testDeepSleepCounterMatchesItsGoldenTranscript() throws {
        try assertGolden("deep_sleep_counter", for: "60s")
    }

    // The core's WiFiMulti example: the strongest known network of the scan
    // (ESP8266WiFiMulti.cpp:258-352), then run() keeps it
    func testWiFiMultiMatchesItsGoldenTranscript() throws {
        try assertGolden("wifi_multi", for: "12s")
    }

    func testHelloServerMatchesItsGoldenTranscript() throws {
        try assertGolden("hello_server", for: "5s")
    }

    func testWebServerMatchesItsGoldenTranscript() throws {
        try assertGolden("webserver", for: "5s")
    }

    /// TickerBasic: 0.3 s, re-attached at 0.1 s from inside its callback, detached at 120.
    func testTickerBlinkMatchesItsGoldenTranscript() throws {
        try assertGolden("ticker_blink", for: "22s")
    }

    /// BasicHttpClient: each GET with "Connection: close" is stopped by the board first,
    /// so each leaves a TIME_WAIT pcb (192 B) until the core's cap of 5.
    func testHTTPGetMatchesItsGoldenTranscript() throws {
        try assertGolden("http_get", for: "35s")
    }

    /// BearSSL_MaxFragmentLength: a default TLS session takes 27512 B of the heap (the
    /// 6200 B BearSSL stack, the 16709 B and 597 B buffers, the client context, the
    /// connection); with MFLN and setBufferSizes(512, 512) 16000 B less.
    func testHTTPSGetMatchesItsGoldenTranscript() throws {
        try assertGolden("https_get", for: "8s")
    }

    // MARK: failures a user meets

    func testMissingSketchIsOneLineAndExit1() throws {
        let r = try esplua(["run", "sketches/nope.lua"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "esplua: cannot open sketch 'sketches/nope.lua': no such file\n")
    }

    func testSyntaxErrorNamesFileLineAndExits1() throws {
        let path = try tempSketch("function setup()\n  local = 3\nend\nfunction loop() end\n")
        let r = try esplua(["run", path, "--time", "virtual", "--for", "1s"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("esplua: \(path):2:"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "no host stack: \(r.stderr)")
        XCTAssertEqual(r.stdout, "")
    }

    /// Serial RX is stdin: piped (`echo … | esplua run`) or typed.
    func testEchoIntoStdinReachesReadStringUntil() throws {
        let sketch = try tempSketch(
            """
            function setup()
              Serial.begin(115200)
              Serial.setTimeout(5000)
              print("got '" .. Serial.readStringUntil("\\n") .. "' at " .. millis())
              print("then '" .. Serial.readString() .. "'")
            end
            function loop() delay(1000) end
            """)
        for mode in ["virtual", "real"] {
            let p = Process()
            p.executableURL = try XCTUnwrap(
                ["debug", "release"].map { Self.root.appendingPathComponent(".build/\($0)/esplua") }
                    .first { FileManager.default.isExecutableFile(atPath: $0.path) })
            p.arguments = ["run", sketch, "--time", mode, "--for", "8s"]
            let input = Pipe(), out = Pipe()
            p.standardInput = input
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            input.fileHandleForWriting.write(Data("hello\nworld".utf8))
            try input.fileHandleForWriting.close()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, mode)
            XCTAssertTrue(text.hasPrefix("got 'hello' at "), "\(mode): \(text)")
            // readString() reads to the end of input and then waits out its timeout
            XCTAssertTrue(text.contains("then 'world'\n"), "\(mode): \(text)")
        }
    }

    func testBadForwardIsAUsageError() throws {
        let r = try esplua(["run", "sketches/blink.lua", "--forward", "eighty"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("bad --forward 'eighty'"), r.stderr)
    }

    func testPortAlreadyInUseIsAClearError() throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        listen(s, 1)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        let port = UInt16(bigEndian: addr.sin_port)
        let r = try esplua(["run", "sketches/blink.lua", "--forward", "\(port):80", "--time", "virtual", "--for", "1s"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "esplua: cannot forward TCP 127.0.0.1:\(port) to the device's port 80: the port is already in use\n")
    }

    func testCrashUnderNoRebootExits1WithTheDump() throws {
        let path = try tempSketch("function setup() end\nfunction loop() while true do end end\n")
        let r = try esplua(["run", path, "--time", "virtual", "--for", "30s", "--no-reboot"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("Soft WDT reset"))
        XCTAssertTrue(r.stdout.contains(">>>stack>>>"))
    }

    // MARK: the walking skeleton's promise

    /// `--forward udp:H:D`: a host UDP socket reaches the sketch's WiFiUDP and gets its echo.
    func testUdpForwardReachesTheEchoSketch() throws {
        let port = UInt16(freeLocalPort())
        var (p, out, transcript) = try startEsplua(
            [
                "run", "sketches/udp_echo.lua", "--forward", "udp:\(port):1200", "--for", "20s",
                "--world", "sketches/softap.world.json",
            ], waitingFor: "UDP echo on")
        defer { if p.isRunning { p.terminate() } }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var reply = ""
        for _ in 0..<5 where reply.isEmpty {
            _ = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, "hello", 5, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            var buf = [UInt8](repeating: 0, count: 64)
            let n = recv(fd, &buf, buf.count, 0)
            if n > 0 { reply = String(decoding: buf[0..<n], as: UTF8.self) }
        }
        XCTAssertEqual(reply, "hello")
        p.terminate()
        transcript += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(transcript.contains("5 bytes from 10.0.2.2: \"hello\""), transcript)
    }

    /// Corrupt input is one sentence on stderr, exit 1, and the user's file untouched.
    func testCorruptInputsAreOneSentenceAndLeaveTheFileAlone() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("esplua-corrupt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let sketch = dir.appendingPathComponent("s.lua").path
        try "function setup() end\nfunction loop() delay(100) end\n".write(toFile: sketch, atomically: true, encoding: .utf8)
        var rng = SystemRandomNumberGenerator()
        func garbage(_ name: String, _ count: Int) throws -> (path: String, bytes: Data) {
            let bytes = Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
            let path = dir.appendingPathComponent(name).path
            try bytes.write(to: URL(fileURLWithPath: path))
            return (path, bytes)
        }
        let truncated = try garbage("truncated.bin", 1_000_000)
        let whole = try garbage("garbage.bin", 4 * 1024 * 1024)
        let world = dir.appendingPathComponent("bad.world.json").path
        try #"{"visitors": [{"port": "eighty"}]}"#.write(toFile: world, atomically: true, encoding: .utf8)
        let wiring = dir.appendingPathComponent("bad.wiring.json").path
        try #"{"parts": [{"part": 7}]}"#.write(toFile: wiring, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["run", sketch, "--flash", truncated.path, "--for", "1s"], "not the board's 4194304"),
            (["fs", "ls", truncated.path], "neither a 4 MB flash image"),
            (["fs", "ls", whole.path], "holds no LittleFS file system"),
            (["run", sketch, "--world", world, "--for", "1s"], "visitors[0].port"),
            (["run", sketch, "--wiring", wiring, "--for", "1s"], "parts[0].part"),
        ]
        for (args, expected) in cases {
            let r = try esplua(args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "")
        }
        // a board that never touches its flash leaves a garbage image as it found it
        let r = try esplua(["run", sketch, "--flash", whole.path, "--time", "virtual", "--for", "2s"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: whole.path)), whole.bytes)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: truncated.path)), truncated.bytes)
    }

    func testABadWorldFileNamesTheFieldAndExits1() throws {
        let world = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).json")
        try #"{ "accessPoints": [ { "ssid": "x", "channel": 99 } ] }"#.write(to: world, atomically: true, encoding: .utf8)
        let r = try esplua(["run", "sketches/blink.lua", "--world", world.path, "--time", "virtual", "--for", "1s"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "esplua: cannot set up the world: \(world.path): accessPoints[0].channel must be 1 to 14\n")
    }

    func testCurlThroughTheForwardGetsThePage100TimesAndTheHeapComesBack() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else { throw XCTSkip("curl is not installed") }
        let port = freeLocalPort()
        var (p, out, transcript) = try startEsplua(
            ["run", "sketches/hello_server.lua", "--forward", "\(port):80", "--for", "30s"],
            waitingFor: "HTTP server on port 80")
        defer { if p.isRunning { p.terminate() } }
        XCTAssertTrue(transcript.contains("connected, IP 10.0.2.15"), transcript)
        var pages = 0
        var misses: [String] = []
        for i in 0..<100 {
            let c = Process()
            c.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            c.arguments = ["-s", "-S", "-m", "5", "-w", "%{local_port}", "http://127.0.0.1:\(port)/"]
            let cout = Pipe(), cerr = Pipe()
            c.standardOutput = cout
            c.standardError = cerr
            try c.run()
            let out = String(decoding: cout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let err = String(decoding: cerr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            c.waitUntilExit()
            if out.hasPrefix("Hello from esplua!\n") {
                pages += 1
            } else {
                // what curl saw
                misses.append("request \(i): curl exit \(c.terminationStatus), local port and body \(out.debugDescription), \(err)")
            }
        }
        XCTAssertEqual(pages, 100, misses.joined(separator: "\n"))
        // curl exits once it has the Content-Length's bytes, which can be before the
        // board's stop() returns and it prints the request's line: wait for the 100th
        // line (the run ends by itself at 30 s) before ending the run
        while !transcript.contains("#100 "), p.isRunning {
            transcript += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        }
        p.terminate()
        transcript += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let heapAtStart = Int(transcript.components(separatedBy: "free heap ")[1].prefix { $0.isNumber })!
        let lines = transcript.split(separator: "\r\n").filter { $0.hasPrefix("#") }
        XCTAssertEqual(lines.count, 100)
        // nothing accumulates: the board closes first (the PC-like filter delivers
        // slirp's ACK before curl's FIN) and keeps a TIME_WAIT pcb per request, and
        // the core's cap of 5 TIME_WAIT pcbs bounds what it keeps
        let heaps = lines.map { Int($0.split(separator: " ").last!)! }
        let inLoop = heapAtStart - 80  // the ClientContext and pcb of the request being served
        // five TIME_WAIT pcbs, lwIP's TCP timer, a context not yet collected, and the next
        // curl's connection (its pcb and ClientContext), which can be accepted by lwIP
        // before the board prints this line: curl exits once it has the response
        let bound = 5 * 192 + 24 + 56 + (192 + 56)
        for h in heaps { XCTAssertGreaterThanOrEqual(h, inLoop - bound, "\(heaps)") }
    }

    /// ESP8266WebServer as curl sees it: routes, arguments, a form, the sketch's 404,
    /// Basic authentication, a chunked page. curl (HTTP/1.1, Content-Length) closes
    /// first; with nothing unread the core's ClientContext answers its FIN with RST
    /// (ClientContext.h _recv), so no pcb but the listener is left and the heap is
    /// back where it was when the server started.
    func testCurlAgainstTheWebServerSketch() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else { throw XCTSkip("curl is not installed") }
        let port = freeLocalPort()
        let p = Process()
        p.executableURL = Self.root.appendingPathComponent(".build/debug/esplua")
        p.arguments = ["run", "sketches/webserver.lua", "--forward", "\(port):80", "--for", "12s", "--netstat"]
        p.currentDirectoryURL = Self.root
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        func curl(_ args: [String]) throws -> String {
            let c = Process()
            c.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            c.arguments = ["-s", "-m", "5"] + args
            let o = Pipe()
            c.standardOutput = o
            try c.run()
            let body = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            c.waitUntilExit()
            return body
        }
        let base = "http://127.0.0.1:\(port)"
        var root = ""
        for _ in 0..<50 where root.isEmpty {  // until the board has joined and listens
            root = try curl(["\(base)/"])
            if root.isEmpty { usleep(100_000) }
        }
        XCTAssertEqual(root, "hello from esp8266!\r\n")
        XCTAssertTrue(try curl(["\(base)/hello?name=Ada%20L"]).hasSuffix("<p>Hello, Ada L!</p>\n"))
        XCTAssertTrue(try curl(["-d", "name=Bob+B", "\(base)/hello"]).hasSuffix("<p>Hello, Bob B!</p>\n"))
        XCTAssertEqual(
            try curl(["\(base)/nowhere?a=1&b=two"]), "File Not Found\n\nURI: /nowhere\nMethod: GET\nArguments: 2\n a: 1\n b: two\n")
        XCTAssertEqual(try curl(["-o", "/dev/null", "-w", "%{http_code}", "\(base)/secret"]), "401")
        XCTAssertEqual(try curl(["-u", "admin:esp8266", "\(base)/secret"]), "the secret is 42\n")
        XCTAssertEqual(try curl(["\(base)/count"]), "line 1\nline 2\nline 3\nline 4\nline 5\n")
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let started = Int(stdout.components(separatedBy: "free heap ")[1].prefix { $0.isNumber })!
        let atEnd = Int(stderr.components(separatedBy: "heap free ")[1].prefix { $0.isNumber })!
        XCTAssertEqual(atEnd, started, stderr)
        let pcbs = stderr.split(separator: "\n").filter { $0.hasPrefix("tcp ") }
        XCTAssertEqual(pcbs.count, 1, stderr)
        XCTAssertTrue(pcbs.first?.contains("LISTEN") ?? false, stderr)
    }

    /// The core's HelloServer, BasicHttpClient and mDNS_Web_Server, line for line
    /// (TutorialTests checks what they put on the wire).
    func testHelloServerTutorialMatchesItsGoldenTranscript() throws {
        try assertGolden("helloserver", for: "12s")
    }

    func testBasicHttpClientTutorialMatchesItsGoldenTranscript() throws {
        try assertGolden("basic_http_client", for: "26s")
    }

    func testMDNSWebServerMatchesItsGoldenTranscript() throws {
        try assertGolden("mdns_webserver", for: "8s")
    }
}
