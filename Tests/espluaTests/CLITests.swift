import Foundation
import XCTest

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

    func testHelloServerMatchesItsGoldenTranscript() throws {
        try assertGolden("hello_server", for: "5s")
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
        let port = UInt16(30000 + Int(getpid() % 20000))
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

    func testABadWorldFileNamesTheFieldAndExits1() throws {
        let world = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).json")
        try #"{ "accessPoints": [ { "ssid": "x", "channel": 99 } ] }"#.write(to: world, atomically: true, encoding: .utf8)
        let r = try esplua(["run", "sketches/blink.lua", "--world", world.path, "--time", "virtual", "--for", "1s"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "esplua: cannot set up the world: \(world.path): accessPoints[0].channel must be 1 to 14\n")
    }

    func testCurlThroughTheForwardGetsThePage100TimesAndTheHeapComesBack() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else { throw XCTSkip("curl is not installed") }
        let port = 20000 + Int(getpid() % 20000)
        var (p, out, transcript) = try startEsplua(
            ["run", "sketches/hello_server.lua", "--forward", "\(port):80", "--for", "30s"],
            waitingFor: "HTTP server on port 80")
        defer { if p.isRunning { p.terminate() } }
        XCTAssertTrue(transcript.contains("connected, IP 10.0.2.15"), transcript)
        var pages = 0
        for _ in 0..<100 {
            let c = Process()
            c.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            c.arguments = ["-s", "-m", "5", "http://127.0.0.1:\(port)/"]
            let cout = Pipe()
            c.standardOutput = cout
            try c.run()
            let body = String(decoding: cout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            c.waitUntilExit()
            if body == "Hello from esplua!\n" { pages += 1 }
        }
        XCTAssertEqual(pages, 100)
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
}
