import Foundation
import XCTest

/// The page in a real browser: Debian's chromium driven by Playwright (PyPI, in
/// the project's .venv; `.ci/setup.sh` installs both) against `esplua run … --ui`.
/// The checks are in `browser_check.py`; each test leaves a screenshot in /tmp.
final class BrowserTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let screenshot = "/tmp/esplua-ui.png"
    private var board: Process?

    override func tearDown() {
        if let board, board.isRunning {
            board.interrupt()
            board.waitUntilExit()
        }
    }

    /// `hello_server.lua` with a curl through the forward: the serial text, the TIME_WAIT
    /// row with its countdown, the SYN in the ladder, the heap chart; then Reset.
    func testPageShowsSerialTimeWaitAndSYNOfACurl() throws {
        let forwardPort = try freePort()
        let url = try startBoard(["sketches/hello_server.lua", "--forward", "\(forwardPort):80"])
        let report = try browserCheck(["server", url, String(forwardPort), Self.screenshot])
        let checks = [
            "serial line", "curl", "TIME_WAIT row with a countdown", "SYN in the ladder", "heap chart has points", "heap charged per pcb",
            "Lua memory on the chart", "no time controls in real time", "pcap download", "reset button reboots the board",
        ]
        for name in checks { XCTAssertTrue(report.contains("ok \(name)\n"), "\(name): \(report)") }
    }

    /// A line typed on the page reaches `Serial.readStringUntil`, and the LED drawn follows GPIO2.
    func testTypedLineReachesTheSketchAndTheLEDFollows() throws {
        let sketch = FileManager.default.temporaryDirectory.appendingPathComponent("ui-serial-\(getpid()).lua")
        try """
        function setup()
          Serial.begin(115200)
          pinMode(LED_BUILTIN, OUTPUT)
          digitalWrite(LED_BUILTIN, HIGH)  -- active low: dark
          print("ready")
        end
        function loop()
          if Serial.available() > 0 then
            local line = Serial.readStringUntil("\\n")
            print("got " .. line)
            digitalWrite(LED_BUILTIN, line == "on" and LOW or HIGH)
          end
          delay(10)
        end
        """.write(to: sketch, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: sketch) }
        let url = try startBoard([sketch.path])
        let report = try browserCheck(["serial", url, "/tmp/esplua-ui-led.png"])
        for name in ["sketch ready", "LED dark", "typed line reaches the sketch", "LED lit"] {
            XCTAssertTrue(report.contains("ok \(name)\n"), "\(name): \(report)")
        }
    }

    /// In virtual time (at 1×) the page pauses the board (its clock stands still), steps
    /// it by exactly 250 ms, sets 10× and runs it on.
    func testVirtualTimePausesStepsAndSpeedsUp() throws {
        let sketch = FileManager.default.temporaryDirectory.appendingPathComponent("ui-virtual-\(getpid()).lua")
        try """
        function setup() Serial.begin(115200) end
        function loop() print("t=" .. millis()); delay(500) end
        """.write(to: sketch, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: sketch) }
        let url = try startBoard([sketch.path, "--time", "virtual", "--speed", "1"])
        let report = try browserCheck(["virtual", url, "/tmp/esplua-ui-virtual.png"])
        for name in ["time controls shown", "board time runs at 1x", "pause", "paused board time stands still", "step 250 ms", "speed 10x", "runs again"] {
            XCTAssertTrue(report.contains("ok \(name)\n"), "\(name): \(report)")
        }
    }

    /// `esplua lab --ui`: a server and a client board (which fetches from the server
    /// every 300 ms) on one page: both consoles, the server's table, and the connection
    /// between them in "who talks to whom".
    func testLabPageShowsEveryBoardAndWhoTalksToWhom() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/vde_plug") else { throw XCTSkip("no vde_plug (make setup installs vdeplug)") }
        let lab = try writeLab("ui-lab")
        defer { try? FileManager.default.removeItem(at: lab.deletingLastPathComponent()) }
        let url = try startBoard(["lab", lab.path], command: nil, marker: "the lab's page: ")
        let report = try browserCheck(["lab", url, "/tmp/esplua-ui-lab.png"])
        for name in ["both boards on the page", "each board's console", "each board's connection table", "who talks to whom"] {
            XCTAssertTrue(report.contains("ok \(name)\n"), "\(name): \(report)")
        }
    }

    /// The same lab in virtual time, started paused: the page's controls act on the
    /// whole lab through the conductor. A step of 250 ms brings every board's clock
    /// to the lab's; paused, they stand still; at 10× and run again the lab goes on;
    /// each board's packet ladder fills and its pcap downloads.
    func testLabPageInVirtualTimePausesStepsAndRunsTheWholeLab() throws {
        let lab = try writeLab("ui-labvt")
        defer { try? FileManager.default.removeItem(at: lab.deletingLastPathComponent()) }
        let url = try startBoard(["lab", lab.path, "--time", "virtual", "--paused"], command: nil, marker: "the lab's page: ")
        let report = try browserCheck(["labvirtual", url, "/tmp/esplua-ui-labvt.png"])
        for name in [
            "lab time controls shown", "lab starts paused at 0 s", "step 250 ms for every board", "paused boards' time stands still",
            "speed 10x", "runs again", "each board's ladder", "a board's pcap download",
        ] {
            XCTAssertTrue(report.contains("ok \(name)\n"), "\(name): \(report)")
        }
    }

    /// A lab of a server (`hello_server.lua`) and a client that fetches from it every
    /// 300 ms, in a folder of its own; the lab file's URL.
    private func writeLab(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: dir.appendingPathComponent("server.lua"))
        try FileManager.default.copyItem(
            atPath: Self.root.appendingPathComponent("sketches/hello_server.lua").path, toPath: dir.appendingPathComponent("server.lua").path)
        try """
        function setup()
          Serial.begin(115200)
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
        end
        function loop()
          local c = WiFiClient()
          if c:connect("server.lab", 80) then
            c:print("GET /from-client HTTP/1.0\\r\\n\\r\\n")
            local page = ""
            while c:connected() or c:available() > 0 do
              local n = c:available()
              if n > 0 then page = page .. c:read(n) else delay(1) end
            end
            print("fetched " .. #page)
          end
          delay(300)
        end
        """.write(to: dir.appendingPathComponent("client.lua"), atomically: true, encoding: .utf8)
        try #"{ "boards": [ { "name": "server", "sketch": "server.lua" }, { "name": "client", "sketch": "client.lua" } ] }"#
            .write(to: dir.appendingPathComponent("lab.json"), atomically: true, encoding: .utf8)
        return dir.appendingPathComponent("lab.json")
    }

    /// A part's control set on the page (the BMP280's temperature) changes what the sketch
    /// reads: typed into its field, then moved on its slider (over the range the Wire
    /// plugin gives, -40 to 85 °C).
    func testControlFieldAndSliderSetTheSensorTheSketchReads() throws {
        let url = try startBoard(["sketches/i2c_bmp280.lua"])
        let report = try browserCheck(["bmp280", url, "/tmp/esplua-ui-bmp280.png"])
        for name in [
            "first reading", "temperature field", "the sketch reads the new temperature", "temperature slider over the sensor's range",
            "the slider sets what the sketch reads", "the field follows the slider",
        ] {
            XCTAssertTrue(report.contains("ok \(name)\n"), "\(name): \(report)")
        }
    }

    /// `sweep_hold.lua`: the servo's arm drawn turns as the sketch sweeps it; holding the
    /// page's button (mouse down) reaches the sketch, which stops the arm (drawn where the
    /// sketch's `servo:read()` says) and sounds the buzzer (drawn at 440 Hz); letting go
    /// (mouse up) reaches it too. In virtual time at 1×: the pulses' widths are then
    /// exact (in real time they are as late as the host's timers, a busy machine's arm jitters).
    func testServoArmFollowsTheSweepAndThePagesButtonHoldsIt() throws {
        let url = try startBoard(["sketches/sweep_hold.lua", "--time", "virtual", "--speed", "1"])
        let report = try browserCheck(["sweep", url, "/tmp/esplua-ui-parts.png"])
        for name in [
            "sketch sweeping", "each part drawn with its pins", "the arm drawn at the servo's angle", "the arm turns with the sweep",
            "the arm keeps turning", "the press reaches the sketch", "the button drawn pressed", "the buzzer sounds the sketch's tone(440)",
            "the arm stands where the sketch held it", "the release reaches the sketch", "the buzzer falls silent", "the arm turns again",
        ] {
            XCTAssertTrue(report.contains("ok \(name)\n"), "\(name): \(report)")
        }
    }

    // MARK: helpers

    /// Starts `esplua run ARGS --ui 127.0.0.1:PORT` (skips without chromium or the
    /// .venv) and returns the URL it printed on stderr, token included.
    private func startBoard(_ args: [String], command: String? = "run", marker: String = "the board's page: ") throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else { throw XCTSkip("no /usr/bin/chromium (make setup installs it)") }
        guard FileManager.default.isExecutableFile(atPath: Self.root.appendingPathComponent(".venv/bin/python").path) else {
            throw XCTSkip("no .venv (make setup makes it)")
        }
        let uiPort = try freePort()
        let p = Process()
        p.executableURL = Self.root.appendingPathComponent(".build/debug/esplua")
        p.arguments = (command.map { [$0] } ?? []) + args + ["--ui", "127.0.0.1:\(uiPort)", "--for", "120s"]
        p.currentDirectoryURL = Self.root
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        board = p
        var stderr = ""
        let deadline = Date().addingTimeInterval(15)
        while !(stderr.contains("?token=") && stderr.hasSuffix("\n")), Date() < deadline, p.isRunning {
            stderr += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
        }
        // keep reading its stderr (a full pipe would stall it), into a file beside the screenshots
        let reader = err.fileHandleForReading, log = "/tmp/esplua-ui-stderr-\(uiPort).txt"
        FileManager.default.createFile(atPath: log, contents: Data(stderr.utf8))
        let sink = FileHandle(forWritingAtPath: log)
        sink?.seekToEndOfFile()
        Thread {
            while case let data = reader.availableData, !data.isEmpty { sink?.write(data) }
            try? sink?.close()
        }.start()
        let line = try XCTUnwrap(stderr.split(separator: "\n").first { $0.contains(marker) }, stderr)
        let url = String(line.split(separator: " ").last!)
        XCTAssertTrue(url.hasPrefix("http://127.0.0.1:\(uiPort)/?token="), url)
        return url
    }

    /// Runs browser_check.py; its report, or a skip when chromium cannot start.
    private func browserCheck(_ args: [String]) throws -> String {
        let check = Process()
        check.executableURL = Self.root.appendingPathComponent(".venv/bin/python")
        check.arguments = [Self.root.appendingPathComponent("Tests/BoardUITests/browser_check.py").path] + args
        let out = Pipe()
        check.standardOutput = out
        check.standardError = out
        try check.run()
        let report = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        if check.terminationStatus == 2 { throw XCTSkip("chromium cannot start here: \(report)") }
        XCTAssertEqual(check.terminationStatus, 0, report)
        return report
    }

    /// A port nobody listens on now.
    private func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        XCTAssertTrue(ok)
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
