import Foundation
import XCTest

/// Links with latency, airtime and loss (`--link`, `--seed`, `--fault`, a lab's
/// `link`), as a user runs them.
final class LinkTests: EspluaTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("links-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: work) }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    /// A sketch that times five echoes of one byte through a world echo service.
    func echoSketch() throws -> String {
        try """
        function setup()
          WiFi.begin("classroom", "esp8266rocks")
          while WiFi.status() ~= WL_CONNECTED do delay(10) end
          local c = WiFiClient()
          c:connect("echo.world", 7)
          c:setNoDelay(true)
          for i = 1, 5 do
            local t = micros()
            c:write("x")
            while c:available() == 0 do yield() end
            c:read()
            print(string.format("echo %d us", micros() - t))
            delay(100)
          end
        end
        function loop() delay(1000) end
        """.write(toFile: path("echo.lua"), atomically: true, encoding: .utf8)
        try #"{ "services": [ { "name": "echo.world", "port": 7, "reply": "echo" } ] }"#
            .write(toFile: path("echo.world.json"), atomically: true, encoding: .utf8)
        return path("echo.lua")
    }

    func echoTimes(_ r: Result) -> [Double] {
        r.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first.flatMap { Double($0) } }.map { $0 / 1000 }
    }

    /// On `wifi` an echo takes a round trip of a few milliseconds, as pings from a PC
    /// to an ESP8266 on a home access point (1.3–6.3 ms, most 1.4–3 ms:
    /// espressif/ESP8266_NONOS_SDK#371); on `ideal` it takes no board time.
    func testWifiRoundTripsAreAFewMilliseconds() throws {
        let sketch = try echoSketch()
        let wifi = try esplua(["run", sketch, "--time", "virtual", "--for", "4s", "--link", "wifi"])
        XCTAssertEqual(wifi.status, 0, wifi.stderr)
        let times = echoTimes(wifi)
        XCTAssertEqual(times.count, 5, wifi.stdout)
        for t in times { XCTAssertTrue((2.0...5.0).contains(t), "\(t) ms") }
        let ideal = echoTimes(try esplua(["run", sketch, "--time", "virtual", "--for", "4s"]))
        XCTAssertEqual(ideal.count, 5)
        for t in ideal { XCTAssertLessThan(t, 0.1) }
    }

    /// The generator is seeded: the same run gives the same transcript and the
    /// same pcap, byte for byte; another seed loses other frames.
    func testTheSameSeedGivesTheSameRunToTheByte() throws {
        let sketch = try echoSketch()
        func run(_ seed: String, _ name: String) throws -> (String, Data) {
            let r = try esplua([
                "run", sketch, "--time", "virtual", "--for", "8s", "--link", #"{"like":"wifi","loss":0.2,"dup":0.05,"reorder":0.05}"#,
                "--seed", seed, "--pcap", path(name),
            ])
            XCTAssertEqual(r.status, 0, r.stderr)
            return (r.stdout, try Data(contentsOf: URL(fileURLWithPath: path(name))))
        }
        let a = try run("5", "a.pcap"), b = try run("5", "b.pcap"), c = try run("6", "c.pcap")
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
        XCTAssertNotEqual(a.1, c.1)
    }

    /// A lab's link is every board's: a frame from one board to another crosses
    /// the air twice (station to access point, access point to station), so a TCP
    /// connect between two boards on `wifi` takes at least 4 × 0.8 ms of latency.
    func testALabGivesEveryBoardItsLink() throws {
        try """
        function setup()
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          local server = WiFiServer(7)
          server:begin()
          print("listening")
        end
        function loop() local c = server and server:accept(); delay(10) end
        """.write(toFile: path("server.lua"), atomically: true, encoding: .utf8)
        try """
        function setup()
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          delay(1500)
          for i = 1, 3 do
            local c = WiFiClient()
            local t = micros()
            local ok = c:connect("10.0.2.15", 7)
            print(string.format("connect %s in %d us", tostring(ok), micros() - t))
            c:stop()
            delay(200)
          end
        end
        function loop() delay(100) end
        """.write(toFile: path("client.lua"), atomically: true, encoding: .utf8)
        try #"{ "boards": [ { "name": "server", "sketch": "server.lua" }, { "name": "client", "sketch": "client.lua" } ], "link": "wifi", "seed": 3 }"#
            .write(toFile: path("lab.json"), atomically: true, encoding: .utf8)
        let r = try esplua(["lab", path("lab.json"), "--for", "5s"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("client is 10.0.2.16, running"), r.stderr)
        let connects = r.stdout.split(separator: "\n").filter { $0.contains("connect true in") }
        XCTAssertEqual(connects.count, 3, r.stdout)
        for line in connects {
            let us = Int(line.split(separator: " ").dropLast().last ?? "") ?? 0
            XCTAssertGreaterThanOrEqual(us, 3200, String(line))
        }
    }

    /// Without auto-reconnect the core stops the SDK's connection manager when the
    /// AP is lost (ESP8266WiFiGeneric.cpp:231-238): `WL_IDLE_STATUS`, no retry, until
    /// the sketch calls `WiFi.reconnect()`.
    func testWithoutAutoReconnectTheStationStaysIdle() throws {
        try """
        function setup()
          WiFi.onStationModeDisconnected(function(e) print(string.format("%.3f s disconnected, reason %d", millis() / 1000, e.reason)) end)
          WiFi.onStationModeGotIP(function(e) print(string.format("%.3f s got IP", millis() / 1000)) end)
          WiFi.setAutoReconnect(false)
          print("auto-reconnect " .. tostring(WiFi.getAutoReconnect()))
          WiFi.begin("classroom", "esp8266rocks")
        end
        local asked = false
        function loop()
          delay(1000)
          print(string.format("%.0f s status %d", millis() / 1000, WiFi.status()))
          if millis() > 16000 and not asked then asked = true; WiFi.reconnect() end
        end
        """.write(toFile: path("idle.lua"), atomically: true, encoding: .utf8)
        let r = try esplua(["run", path("idle.lua"), "--world", "none", "--time", "virtual", "--for", "20s", "--fault", "ap-down@3s+10s"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "auto-reconnect false")
        XCTAssertTrue(lines.contains("9.144 s disconnected, reason 200"), r.stdout)
        XCTAssertFalse(r.stdout.contains("reason 201"), "no scans for the AP")
        for second in [10, 13, 15] { XCTAssertTrue(lines.contains("\(second) s status 0"), "WL_IDLE_STATUS at \(second) s: \(r.stdout)") }
        XCTAssertEqual(r.stdout.components(separatedBy: "got IP").count - 1, 2, "the first join and after WiFi.reconnect(): \(r.stdout)")
        XCTAssertTrue(lines.contains("19 s status 3"), r.stdout)
    }

    func testABadLinkOrFaultIsOneClearMessage() throws {
        let sketch = try echoSketch()
        var r = try esplua(["run", sketch, "--link", #"{"latency":"5ms","loss":2}"#])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--link.loss must be a probability from 0 to 1"), r.stderr)
        r = try esplua(["run", sketch, "--link", "lte"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--link: unknown profile 'lte' (expected ideal, wifi"), r.stderr)
        r = try esplua(["run", sketch, "--fault", "ap-down@soon"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("bad --fault 'ap-down@soon'"), r.stderr)
        try #"{ "boards": [ { "name": "a", "sketch": "echo.lua" } ], "link": { "rate": "fast" } }"#
            .write(toFile: path("bad.json"), atomically: true, encoding: .utf8)
        r = try esplua(["lab", path("bad.json")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("link.rate must be a rate like \"20Mbit\""), r.stderr)
    }
}
